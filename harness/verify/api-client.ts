import type { SensorAudit } from '../../lib/clickhouse/raw';

/** Minimal typed client for the endpoints verification and the demo use. */
export class HerodotusApi {
  /** `token`: a bearer token, for servers with HERODOTUS_API_TOKENS. */
  constructor(
    readonly baseUrl: string,
    readonly token?: string,
  ) {}

  /** Headers every request carries (the bearer token when there is one). */
  get headers(): Record<string, string> {
    return this.token ? { authorization: `Bearer ${this.token}` } : {};
  }

  async health(): Promise<{ status: number; body: unknown }> {
    const res = await fetch(`${this.baseUrl}/v1/health`);
    return { status: res.status, body: await res.json() };
  }

  async ingestStatus(): Promise<{
    caught_up: boolean;
    lag: number | null;
    partitions: { partition: number; high: number; checkpoint: number | null }[];
  }> {
    return this.get('/v1/ingest/status');
  }

  /** The audit of every sensor, page after page (each page is bounded by HERODOTUS_AUDIT_MAX_ROWS). */
  async audit(): Promise<SensorAudit[]> {
    const sensors: SensorAudit[] = [];
    for (let cursor: number | null = 0; cursor !== null; ) {
      const page: { sensors: SensorAudit[]; next: number | null } = await this.get(`/v1/audit?cursor=${cursor}`);
      sensors.push(...page.sensors);
      cursor = page.next;
    }
    return sensors;
  }

  /** Every sensor with data: first and last timestamp and points stored. */
  async sensors(): Promise<{ sensor: number; first: number; last: number; points: number }[]> {
    return this.get('/v1/sensors');
  }

  private async get<T>(path: string): Promise<T> {
    const res = await fetch(`${this.baseUrl}${path}`, { headers: this.headers, signal: AbortSignal.timeout(600_000) });
    const body = await res.text();
    if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${body}`);
    return JSON.parse(body) as T;
  }
}
