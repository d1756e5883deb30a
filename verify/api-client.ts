import type { SensorAudit } from '../clickhouse/raw';

/** Minimal typed client for the endpoints verification and the demo use. */
export class HerodotusApi {
  constructor(readonly baseUrl: string) {}

  async health(): Promise<{ status: number; body: unknown }> {
    const res = await fetch(`${this.baseUrl}/v1/health`);
    return { status: res.status, body: await res.json() };
  }

  async ingestStatus(): Promise<{ caught_up: boolean; lag: number | null; partitions: { partition: number; high: number; checkpoint: number | null }[] }> {
    return this.get('/v1/ingest/status');
  }

  async audit(): Promise<SensorAudit[]> {
    return (await this.get<{ sensors: SensorAudit[] }>('/v1/audit')).sensors;
  }

  private async get<T>(path: string): Promise<T> {
    const res = await fetch(`${this.baseUrl}${path}`, { signal: AbortSignal.timeout(120_000) });
    const body = await res.text();
    if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${body}`);
    return JSON.parse(body) as T;
  }
}
