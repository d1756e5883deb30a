/**
 * InfluxDB 1.x in bench-peers: Debian's influxd (scripts/setup.mjs installs
 * it), started here on loopback with its own config and data dir and stopped
 * by PID, fed line protocol over HTTP /write and asked the workload's lenses
 * with its native GROUP BY time() (count, mean, min, max, first, last).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import fs from 'node:fs';
import path from 'node:path';
import type { SensorBatch } from '../lib/batch/types';
import { ManagedProcess, waitFor } from '../harness/stack/child';
import { freePort } from '../harness/stack/ports';
import { duBytes, untilStable, type Lens } from './peers-workload';
import type { BucketRow, Peer } from './peers-peer';
import { lineProtocol } from './peers-line';

type InfluxBody = { results: { series?: { tags?: Record<string, string>; values: unknown[][] }[]; error?: string }[] };

export class InfluxPeer implements Peer {
  readonly name = 'influxdb';
  readonly ingestPath = 'line protocol over HTTP POST /write (precision=ms)';
  readonly lensPath = 'GET /query: GROUP BY time(<step>ms), sensor with count/mean/min/max/first/last';
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
    const [port, rpcPort] = [await freePort(), await freePort()];
    this.url = `http://127.0.0.1:${port}`;
    const conf = path.join(this.dir, 'influxdb.conf');
    fs.writeFileSync(conf, influxConfig(this.dir, port, rpcPort));
    this.child = await ManagedProcess.start({
      name: 'influxd',
      command: this.binary,
      args: ['-config', conf],
      logFile: path.join(this.dir, 'influxd.log'),
    });
    await waitFor(async () => (await fetch(`${this.url}/ping`).catch(() => null))?.status === 204, {
      timeoutMs: 60_000,
      intervalMs: 200,
      what: 'influxd /ping',
      process: this.child,
    });
    await this.influxql('CREATE DATABASE bench', 'POST');
    return (await fetch(`${this.url}/ping`)).headers.get('x-influxdb-version') ?? '?';
  }

  async write(batches: SensorBatch[]): Promise<void> {
    const res = await fetch(`${this.url}/write?db=bench&precision=ms`, { method: 'POST', body: lineProtocol(batches) });
    if (res.status !== 204) throw new Error(`influx write: ${res.status} ${await res.text()}`);
  }

  /** A write is queryable (from the WAL cache) once it returns 204. */
  async flush(): Promise<void> {}

  /** The cache is snapshotted to TSM after 2 s cold and fully compacted after 5 s cold (see influxConfig); then until its files stop changing. */
  async settle(): Promise<void> {
    await sleep(15_000);
    await untilStable(() => this.bytes(), 3000, 600_000);
  }

  bytes(): number {
    return duBytes(path.join(this.dir, 'data')) + duBytes(path.join(this.dir, 'wal'));
  }

  pids(): number[] {
    return this.child ? [this.child.pid] : [];
  }

  async query(q: Lens, signal?: AbortSignal): Promise<BucketRow[]> {
    const sql = `SELECT count(value), mean(value), min(value), max(value), first(value), last(value) FROM signal WHERE sensor =~ /^(${q.sensors.join('|')})$/ AND time >= ${q.from}ms AND time < ${q.to}ms GROUP BY time(${q.step}ms), sensor fill(none)`;
    const body = await this.influxql(sql, 'GET', signal);
    return (body.results[0]!.series ?? []).flatMap((s) =>
      s.values.map((v) => ({
        sensor: Number(s.tags?.sensor),
        t: Number(v[0]),
        count: Number(v[1]),
        avg: v[2] as number,
        min: v[3] as number,
        max: v[4] as number,
        first: v[5] as number,
        last: v[6] as number,
      })),
    );
  }

  private async influxql(q: string, method: 'GET' | 'POST' = 'GET', signal?: AbortSignal): Promise<InfluxBody> {
    const res = await fetch(`${this.url}/query?db=bench&epoch=ms&q=${encodeURIComponent(q)}`, { method, signal });
    const body = (await res.json()) as InfluxBody;
    if (!res.ok || body.results?.[0]?.error) throw new Error(`influx query ${q}: ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
    return body;
  }

  async stop(): Promise<void> {
    await this.child?.stop({ timeoutMs: 15_000 });
    this.child = null;
  }
}

function influxConfig(dir: string, port: number, rpcPort: number): string {
  return [
    'reporting-disabled = true',
    `bind-address = "127.0.0.1:${rpcPort}"`,
    '[meta]',
    `  dir = "${dir}/meta"`,
    '[data]',
    `  dir = "${dir}/data"`,
    `  wal-dir = "${dir}/wal"`,
    '  query-log-enabled = false',
    '  cache-snapshot-write-cold-duration = "2s"',
    '  compact-full-write-cold-duration = "5s"',
    '[monitor]',
    '  store-enabled = false',
    '[http]',
    `  bind-address = "127.0.0.1:${port}"`,
    '  log-enabled = false',
    '  max-body-size = 0',
    '[logging]',
    '  level = "warn"',
    '',
  ].join('\n');
}
