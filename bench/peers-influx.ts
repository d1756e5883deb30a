import { setTimeout as sleep } from 'node:timers/promises';
/**
 * InfluxDB 1.x in bench-peers: Debian's influxd, started here on loopback
 * with its own config and data dir and stopped by PID, fed line protocol
 * over HTTP /write and asked the workload's lenses with its native
 * GROUP BY time() (count, mean, min, max, first, last).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { RegularBatch } from '../lib/batch/types';
import { waitFor } from '../harness/stack/child';
import { freePort } from '../harness/stack/ports';
import { chunks, duBytes, lensLatency, pool, type Lens, type PeerMeasurement, type PeerRun } from './peers-workload';

type InfluxBody = { results: { series?: { tags?: Record<string, string>; values: unknown[][] }[]; error?: string }[] };

export interface InfluxMeasurement extends PeerMeasurement {
  version: string;
}

/** Ingest, lens latency and bytes on disk of InfluxDB for the run; the bucket counts of each preset's first lens. */
export async function measureInflux(dir: string, run: PeerRun): Promise<{ result: InfluxMeasurement; counts: number[] }> {
  const { log, points } = run;
  ensureInfluxd(log);
  const influx = new Influx(dir, await freePort(), await freePort());
  try {
    const version = await influx.start();
    log(`influxd ${version} on ${influx.url} (pid-managed); writing…`);
    const t0 = performance.now();
    await pool(chunks(run.data), 2, (batches) => influx.write(lineProtocol(batches)));
    const ingestS = (performance.now() - t0) / 1000;
    log(`influx: ${Math.round(points / ingestS).toLocaleString('en')} points/s; waiting for its cache snapshot and compaction…`);
    await sleep(15_000);
    const { latency, counts } = await lensLatency(
      run.workload,
      (q) => influx.query(lensQuery(q)),
      (body) => body.results[0]!.series?.reduce((n, s) => n + s.values.reduce((m, v) => m + Number(v[1]), 0), 0) ?? 0,
    );
    const bytes = duBytes(path.join(influx.dir, 'data')) + duBytes(path.join(influx.dir, 'wal'));
    const result = {
      version,
      ingest_seconds: Number(ingestS.toFixed(1)),
      ingest_points_per_s: Math.round(points / ingestS),
      bytes_on_disk: bytes,
      bytes_per_point: Number((bytes / points).toFixed(2)),
      lens: latency,
    };
    return { result, counts };
  } finally {
    await influx.stop();
  }
}

/** The lens as InfluxQL: the same buckets and aggregates Herodotus's lens returns. */
function lensQuery(q: Lens): string {
  return `SELECT count(value), mean(value), min(value), max(value), first(value), last(value) FROM signal WHERE sensor =~ /^(${q.sensors.join('|')})$/ AND time >= ${q.from}ms AND time < ${q.to}ms GROUP BY time(${q.step}ms), sensor fill(none)`;
}

function lineProtocol(batches: RegularBatch[]): string {
  const out: string[] = [];
  for (const b of batches)
    for (let i = 0; i < b.values.length; i++) out.push(`signal,sensor=${b.sensor} value=${b.values[i]} ${b.start + i * b.periodMs}`);
  return out.join('\n');
}

/** Debian's influxdb package, installed with apt-get when influxd is missing (needs root). */
function ensureInfluxd(log: (line: string) => void): void {
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

/** One influxd of our own: config and data under dir, loopback ports, stopped by its PID. */
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

  async query(q: string, method: 'GET' | 'POST' = 'GET'): Promise<InfluxBody> {
    const url = `${this.url}/query?db=bench&epoch=ms&q=${encodeURIComponent(q)}`;
    const res = await fetch(url, { method });
    const body = (await res.json()) as InfluxBody;
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
