/**
 * VictoriaMetrics (Debian's victoria-metrics) in bench-peers: started here on
 * loopback with its own storage directory and a 100-year retention (the data
 * is dated 2026-01-01), stopped by PID; fed line protocol over HTTP /write
 * (`signal,sensor=N value=…` becomes the series signal_value{sensor="N"});
 * lenses by /api/v1/query_range, one *_over_time per aggregate per step.
 *
 * A rollup at time t covers (t − window, t]: the bucket [a, a + step) is
 * asked at t = a + step with `offset 1ms`, which makes the window
 * (a − 1 ms, a + step − 1 ms] — the same points on these whole-ms timestamps.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { SensorBatch } from '../lib/batch/types';
import { ManagedProcess, waitFor } from '../harness/stack/child';
import { freePort } from '../harness/stack/ports';
import { duBytes, untilStable, type Lens } from './peers-workload';
import type { BucketRow, Peer } from './peers-peer';
import { lineProtocol } from './peers-line';

type VmBody = { status: string; error?: string; data?: { result: { metric: Record<string, string>; values: [number, string][] }[] } };

const AGGS = {
  count: 'count_over_time',
  avg: 'avg_over_time',
  min: 'min_over_time',
  max: 'max_over_time',
  first: 'first_over_time',
  last: 'last_over_time',
} as const;

export class VictoriaPeer implements Peer {
  readonly name = 'victoriametrics';
  readonly ingestPath = 'line protocol over HTTP POST /write (precision=ms), then /internal/force_flush';
  readonly lensPath = `GET /api/v1/query_range: union of ${Object.values(AGGS).join(', ')} over [step] offset 1ms`;
  private child: ManagedProcess | null = null;
  private url = '';

  constructor(
    private readonly binary: string,
    readonly dir: string,
  ) {}

  async start(): Promise<string> {
    if (!fs.existsSync(this.binary)) throw new Error(`${this.binary} not found; run: node scripts/setup.mjs`);
    fs.rmSync(this.dir, { recursive: true, force: true });
    fs.mkdirSync(this.dir, { recursive: true });
    const port = await freePort();
    this.url = `http://127.0.0.1:${port}`;
    this.child = await ManagedProcess.start({
      name: 'victoria-metrics',
      command: this.binary,
      args: [
        `-storageDataPath=${path.join(this.dir, 'data')}`,
        `-httpListenAddr=127.0.0.1:${port}`,
        '-retentionPeriod=100y',
        '-search.disableCache',
        // Beyond its concurrency limit (2 × cores) requests queue; the default 10 s queue fails them at 100 clients,
        // and a queued request also counts against the 30 s query limit, which at 60M points it outlives.
        '-search.maxQueueDuration=10m',
        '-search.maxQueryDuration=10m',
        '-loggerLevel=WARN',
      ],
      logFile: path.join(this.dir, 'victoria-metrics.log'),
    });
    await waitFor(async () => (await fetch(`${this.url}/health`).catch(() => null))?.ok === true, {
      what: 'victoria-metrics /health',
      timeoutMs: 60_000,
      intervalMs: 200,
      process: this.child,
    });
    // Debian's build leaves the version empty in vm_app_version; the package version is what runs.
    return '1.79 (Debian victoria-metrics)';
  }

  async write(batches: SensorBatch[]): Promise<void> {
    const res = await fetch(`${this.url}/write?precision=ms`, { method: 'POST', body: lineProtocol(batches) });
    if (res.status !== 204) throw new Error(`victoria-metrics write: ${res.status} ${await res.text()}`);
  }

  async flush(): Promise<void> {
    const res = await fetch(`${this.url}/internal/force_flush`);
    if (!res.ok) throw new Error(`victoria-metrics force_flush: ${res.status}`);
  }

  /** Small parts are merged in the background; a forced merge of the (one) month partition settles them. */
  async settle(): Promise<void> {
    await fetch(`${this.url}/internal/force_merge`);
    await untilStable(() => this.bytes(), 3000, 600_000);
  }

  bytes(): number {
    return duBytes(path.join(this.dir, 'data'));
  }

  pids(): number[] {
    return this.child ? [this.child.pid] : [];
  }

  async query(q: Lens, signal?: AbortSignal): Promise<BucketRow[]> {
    const sel = `signal_value{sensor=~"${q.sensors.join('|')}"}`;
    const parts = Object.entries(AGGS).map(([k, f]) => `label_set(${f}(${sel}[${q.step}ms] offset 1ms), "agg", "${k}")`);
    const params = new URLSearchParams({
      query: `union(${parts.join(', ')})`,
      start: String((q.from + q.step) / 1000),
      end: String(q.to / 1000),
      step: `${q.step}ms`,
      nocache: '1',
    });
    const res = await fetch(`${this.url}/api/v1/query_range?${params}`, { signal });
    const text = await res.text();
    if (!res.ok) throw new Error(`victoria-metrics query: ${res.status} ${text.slice(-300)}`);
    const body = JSON.parse(text) as VmBody;
    if (body.status !== 'success') throw new Error(`victoria-metrics query: ${body.error ?? text.slice(0, 300)}`);
    const rows = new Map<string, BucketRow>();
    for (const s of body.data!.result) {
      const sensor = Number(s.metric.sensor);
      const agg = s.metric.agg as keyof typeof AGGS;
      for (const [at, v] of s.values) {
        const t = Math.round(at * 1000) - q.step;
        const key = `${sensor}@${t}`;
        const row = rows.get(key) ?? { sensor, t, count: 0, avg: null, min: null, max: null, first: null, last: null };
        rows.set(key, row);
        row[agg] = Number(v);
      }
    }
    return [...rows.values()];
  }

  async stop(): Promise<void> {
    await this.child?.stop({ timeoutMs: 20_000 });
    this.child = null;
  }
}
