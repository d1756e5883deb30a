import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { encodeFrames } from '../lib/batch/encode';
import type { RegularBatch } from '../lib/batch/types';
import { parseOptions } from '../lib/config/args';
import { loadConfig } from '../lib/config/config';
import { sensorValues } from '../generator/signal';
import type { LensResult } from '../lib/lens/query';
import { niceStep } from '../lib/model/ladder';
import { stopAllChildren, waitFor } from '../harness/stack/child';
import { Harness } from '../harness/stack/harness';
import { freePort } from '../harness/stack/ports';

const HELP = `usage: herodotus bench-peers [--sensors 4] [--hours 24] [--rate 10] [--queries 30] [--state DIR]

The same generated data (generator/signal.ts) and the same lens workload
against InfluxDB 1.x (Debian's influxd, started here on loopback with its own
config and data dir, stopped by PID; native GROUP BY time() with count, mean,
min, max, first, last) and against Herodotus (POST /v1/ingest through Kafka
and the ingest workflows, lenses from GET /v1/lens): ingest points/s, bytes per
point on disk, lens latency p50/p99 per preset, and ratios. The last line of
stdout is one JSON object.`;

const schema = z.object({
  sensors: z.coerce.number().int().min(1).max(10).default(4),
  hours: z.coerce
    .number()
    .int()
    .min(1)
    .max(24 * 60)
    .default(24),
  rate: z.coerce.number().int().min(1).max(1000).default(10),
  queries: z.coerce.number().int().min(1).max(10_000).default(30),
  state: z.string().optional(),
});

const PRESETS: Record<string, number> = { '10s': 10_000, '1min': 60_000, '1h': 3_600_000, '1d': 86_400_000 };
const POINTS = 2500;
const CHUNK_MS = 60_000;
const log = (line: string) => process.stderr.write(`bench-peers: ${line}\n`);

function percentile(sorted: number[], p: number): number {
  return Number((sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0).toFixed(1));
}

function duBytes(dir: string): number {
  let total = 0;
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) total += fs.statSync(p).size;
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return total;
}

/** The data, a minute of all sensors at a time: the same values both systems get. */
function* chunks(o: { sensors: number; from: number; to: number; rate: number }): Generator<RegularBatch[]> {
  const period = 1000 / o.rate;
  for (let t = o.from; t < o.to; t += CHUNK_MS) {
    const count = Math.min(CHUNK_MS, o.to - t) / period;
    yield Array.from({ length: o.sensors }, (_, i) => ({
      kind: 'regular' as const,
      sensor: i + 1,
      start: t,
      periodMs: period,
      values: sensorValues(1, i + 1, t, period, count),
    }));
  }
}

function lineProtocol(batches: RegularBatch[]): string {
  const out: string[] = [];
  for (const b of batches)
    for (let i = 0; i < b.values.length; i++) out.push(`signal,sensor=${b.sensor} value=${b.values[i]} ${b.start + i * b.periodMs}`);
  return out.join('\n');
}

/** Runs `work` over items with `concurrency` in flight. */
async function pool<T>(items: Iterable<T>, concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  const it = items[Symbol.iterator]();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let n = it.next(); !n.done; n = it.next()) await work(n.value);
    }),
  );
}

/** Debian's influxdb package, installed with apt-get when influxd is missing (needs root). */
function ensureInfluxd(): void {
  try {
    execFileSync('influxd', ['version'], { stdio: 'ignore' });
    return;
  } catch {
    log("influxd not found; installing Debian's influxdb package…");
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    execFileSync('apt-get', ['install', '-y', '-qq', 'influxdb'], { stdio: ['ignore', 'ignore', 'inherit'], env });
  } catch {
    execFileSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'], env });
    execFileSync('apt-get', ['install', '-y', '-qq', 'influxdb'], { stdio: ['ignore', 'ignore', 'inherit'], env });
  }
}

class Influx {
  private child: ChildProcess | null = null;
  readonly url: string;
  constructor(
    readonly dir: string,
    readonly port: number,
    private readonly rpcPort: number,
  ) {
    this.url = `http://127.0.0.1:${port}`;
  }

  async start(): Promise<string> {
    fs.rmSync(this.dir, { recursive: true, force: true });
    fs.mkdirSync(this.dir, { recursive: true });
    const conf = path.join(this.dir, 'influxdb.conf');
    fs.writeFileSync(
      conf,
      [
        'reporting-disabled = true',
        `bind-address = "127.0.0.1:${this.rpcPort}"`,
        '[meta]',
        `  dir = "${this.dir}/meta"`,
        '[data]',
        `  dir = "${this.dir}/data"`,
        `  wal-dir = "${this.dir}/wal"`,
        '  query-log-enabled = false',
        '  cache-snapshot-write-cold-duration = "2s"',
        '  compact-full-write-cold-duration = "5s"',
        '[monitor]',
        '  store-enabled = false',
        '[http]',
        `  bind-address = "127.0.0.1:${this.port}"`,
        '  log-enabled = false',
        '  max-body-size = 0',
        '[logging]',
        '  level = "warn"',
        '',
      ].join('\n'),
    );
    const logFd = fs.openSync(path.join(this.dir, 'influxd.log'), 'a');
    this.child = spawn('influxd', ['-config', conf], { stdio: ['ignore', logFd, logFd] });
    await waitFor(async () => (await fetch(`${this.url}/ping`).catch(() => null))?.status === 204, {
      timeoutMs: 60_000,
      intervalMs: 200,
      what: 'influxd /ping',
    });
    await this.query('CREATE DATABASE bench', 'POST');
    const v = (await fetch(`${this.url}/ping`)).headers.get('x-influxdb-version') ?? '?';
    return v;
  }

  async write(body: string): Promise<void> {
    const res = await fetch(`${this.url}/write?db=bench&precision=ms`, { method: 'POST', body });
    if (res.status !== 204) throw new Error(`influx write: ${res.status} ${await res.text()}`);
  }

  async query(
    q: string,
    method: 'GET' | 'POST' = 'GET',
  ): Promise<{ results: { series?: { tags?: Record<string, string>; values: unknown[][] }[]; error?: string }[] }> {
    const url = `${this.url}/query?db=bench&epoch=ms&q=${encodeURIComponent(q)}`;
    const res = await fetch(url, { method });
    const body = (await res.json()) as Awaited<ReturnType<Influx['query']>>;
    if (!res.ok || body.results?.[0]?.error) throw new Error(`influx query ${q}: ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
    return body;
  }

  /** Stops influxd by its PID (SIGTERM, then SIGKILL after 15 s). */
  async stop(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    process.kill(c.pid!, 'SIGTERM');
    const t = setTimeout(() => c.exitCode === null && process.kill(c.pid!, 'SIGKILL'), 15_000);
    await exited;
    clearTimeout(t);
  }
}

export async function benchPeers(argv: string[]): Promise<number> {
  const args = parseOptions(
    argv,
    {
      sensors: { type: 'string' },
      hours: { type: 'string' },
      rate: { type: 'string' },
      queries: { type: 'string' },
      state: { type: 'string' },
    },
    schema,
    HELP,
  );
  const stateDir = args.state ?? path.join(loadConfig().stateDir, 'bench-peers');
  const to = Date.UTC(2026, 0, 1);
  const from = to - args.hours * 3_600_000;
  const points = args.sensors * args.hours * 3600 * args.rate;
  const sensorIds = Array.from({ length: args.sensors }, (_, i) => i + 1);
  const data = { sensors: args.sensors, from, to, rate: args.rate };
  log(`${args.sensors} sensors × ${args.hours} h × ${args.rate} Hz = ${points.toLocaleString('en')} points`);

  // The same random lens windows for both systems.
  let seed = 12345;
  const rand = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296;
  const workload = Object.entries(PRESETS).map(([name, span]) => ({
    name,
    span,
    lenses: Array.from({ length: args.queries }, () => {
      const n = 1 + Math.floor(rand() * args.sensors);
      const end = from + span + Math.floor(rand() * Math.max(0, to - from - span));
      // Windows on whole buckets, so both systems aggregate exactly the same points.
      const step = niceStep(end - span, end, POINTS);
      return { sensors: sensorIds.slice(0, n), from: Math.floor((end - span) / step) * step, to: Math.ceil(end / step) * step, step };
    }),
  }));
  const timed = async (fn: () => Promise<unknown>) => {
    const t0 = performance.now();
    await fn();
    return performance.now() - t0;
  };

  // --- InfluxDB ---
  ensureInfluxd();
  const influx = new Influx(path.join(stateDir, 'influxdb'), await freePort(), await freePort());
  const influxResult: Record<string, unknown> = {};
  const influxCounts: number[] = [];
  try {
    const version = await influx.start();
    log(`influxd ${version} on ${influx.url} (pid-managed); writing…`);
    const t0 = performance.now();
    await pool(chunks(data), 2, (batches) => influx.write(lineProtocol(batches)));
    const ingestS = (performance.now() - t0) / 1000;
    log(`influx: ${Math.round(points / ingestS).toLocaleString('en')} points/s; waiting for its cache snapshot and compaction…`);
    await new Promise((r) => setTimeout(r, 15_000));
    const latency: Record<string, { p50_ms: number; p99_ms: number }> = {};
    for (const p of workload) {
      const l: number[] = [];
      for (const q of p.lenses) {
        const sql = `SELECT count(value), mean(value), min(value), max(value), first(value), last(value) FROM signal WHERE sensor =~ /^(${q.sensors.join('|')})$/ AND time >= ${q.from}ms AND time < ${q.to}ms GROUP BY time(${q.step}ms), sensor fill(none)`;
        let body: Awaited<ReturnType<Influx['query']>> | null = null;
        l.push(await timed(async () => (body = await influx.query(sql))));
        if (q === p.lenses[0])
          influxCounts.push(
            (body as unknown as Awaited<ReturnType<Influx['query']>>).results[0]!.series?.reduce(
              (n, s) => n + s.values.reduce((m, v) => m + Number(v[1]), 0),
              0,
            ) ?? 0,
          );
      }
      l.sort((a, b) => a - b);
      latency[p.name] = { p50_ms: percentile(l, 0.5), p99_ms: percentile(l, 0.99) };
    }
    const bytes = duBytes(path.join(influx.dir, 'data')) + duBytes(path.join(influx.dir, 'wal'));
    Object.assign(influxResult, {
      version,
      ingest_seconds: Number(ingestS.toFixed(1)),
      ingest_points_per_s: Math.round(points / ingestS),
      bytes_on_disk: bytes,
      bytes_per_point: Number((bytes / points).toFixed(2)),
      lens: latency,
    });
  } finally {
    await influx.stop();
  }

  // --- Herodotus ---
  log('starting Herodotus (Kafka, Temporal, embedded ClickHouse)…');
  const harness = await Harness.start({ stateDir: path.join(stateDir, 'herodotus'), fresh: true, freePorts: true });
  const heroResult: Record<string, unknown> = {};
  const heroCounts: number[] = [];
  try {
    const base = harness.api.baseUrl;
    const chBefore = duBytes(path.join(harness.config.stateDir, 'clickhouse'));
    log('ingesting through POST /v1/ingest (Kafka → ingest workflows → ClickHouse)…');
    const t0 = performance.now();
    await pool(chunks(data), 2, async (batches) => {
      const res = await fetch(`${base}/v1/ingest`, {
        method: 'POST',
        headers: { ...harness.api.headers, 'content-type': 'application/octet-stream' },
        body: encodeFrames(batches),
      });
      if (res.status !== 202) throw new Error(`POST /v1/ingest: ${res.status} ${await res.text()}`);
    });
    await harness.waitCaughtUp(3_600_000);
    const ingestS = (performance.now() - t0) / 1000;
    log(`herodotus: ${Math.round(points / ingestS).toLocaleString('en')} points/s stored; waiting for compaction…`);
    await waitFor(
      async () => ((await (await fetch(`${base}/v1/compaction/status`)).json()) as { backlog_windows: number }).backlog_windows === 0,
      { timeoutMs: 3_600_000, intervalMs: 1000, what: 'compaction' },
    );
    const latency: Record<string, { p50_ms: number; p99_ms: number }> = {};
    for (const p of workload) {
      const l: number[] = [];
      for (const q of p.lenses) {
        let body: LensResult | null = null;
        l.push(
          await timed(async () => {
            const res = await fetch(`${base}/v1/lens?sensors=${q.sensors.join(',')}&from=${q.from}&to=${q.to}&step=${q.step}`, {
              headers: harness.api.headers,
            });
            if (!res.ok) throw new Error(`lens ${res.status} ${await res.text()}`);
            body = (await res.json()) as LensResult;
          }),
        );
        if (q === p.lenses[0])
          heroCounts.push((body as unknown as LensResult).sensors.reduce((n, s) => n + s.count.reduce((a, b) => a + b, 0), 0));
      }
      l.sort((a, b) => a - b);
      latency[p.name] = { p50_ms: percentile(l, 0.5), p99_ms: percentile(l, 0.99) };
    }
    const bytes = duBytes(path.join(harness.config.stateDir, 'clickhouse')) - chBefore;
    Object.assign(heroResult, {
      ingest_path: 'POST /v1/ingest → Kafka → Temporal ingest workflows → ClickHouse (chdb), until caught up',
      ingest_seconds: Number(ingestS.toFixed(1)),
      ingest_points_per_s: Math.round(points / ingestS),
      bytes_on_disk: bytes,
      bytes_per_point: Number((bytes / points).toFixed(2)),
      lens: latency,
    });
  } finally {
    await harness.stop();
    await stopAllChildren();
  }

  const ratio = (a: number, b: number) => Number((a / Math.max(0.01, b)).toFixed(2));
  const hl = heroResult.lens as Record<string, { p50_ms: number; p99_ms: number }>;
  const il = influxResult.lens as Record<string, { p50_ms: number; p99_ms: number }>;
  const result = {
    bench: 'peers',
    at: new Date().toISOString(),
    machine: {
      cores: os.cpus().length,
      cpu: os.cpus()[0]?.model,
      mem_gb: Math.round(os.totalmem() / 2 ** 30),
      load_avg_1m: Number(os.loadavg()[0]!.toFixed(1)),
      node: process.version,
    },
    data: { sensors: args.sensors, hours: args.hours, rate_hz: args.rate, points, signal: 'generator/signal.ts sensorValues seed 1' },
    workload: { presets: Object.keys(PRESETS), queries_per_preset: args.queries, points: POINTS, clients: 1, same_windows_and_steps: true },
    counts_agree: JSON.stringify(heroCounts) === JSON.stringify(influxCounts),
    counts: { herodotus: heroCounts, influxdb: influxCounts },
    herodotus: heroResult,
    influxdb: influxResult,
    ratios_herodotus_over_influxdb: {
      ingest_points_per_s: ratio(heroResult.ingest_points_per_s as number, influxResult.ingest_points_per_s as number),
      bytes_per_point: ratio(heroResult.bytes_per_point as number, influxResult.bytes_per_point as number),
      lens_p50: Object.fromEntries(Object.keys(PRESETS).map((k) => [k, ratio(hl[k]!.p50_ms, il[k]!.p50_ms)])),
      lens_p99: Object.fromEntries(Object.keys(PRESETS).map((k) => [k, ratio(hl[k]!.p99_ms, il[k]!.p99_ms)])),
    },
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  return 0;
}
