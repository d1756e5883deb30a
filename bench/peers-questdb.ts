/**
 * QuestDB 9.2 in bench-peers: the Maven Central jar on this machine's Java,
 * started here with its own root directory and a server.conf binding HTTP,
 * PG wire and ILP/TCP to loopback (telemetry off), stopped by PID; fed ILP
 * over HTTP /write into a WAL table with `ts` designated; lenses by SAMPLE BY
 * with count, avg, min, max, first, last.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { SensorBatch } from '../lib/batch/types';
import { ManagedProcess, waitFor } from '../harness/stack/child';
import { freePort } from '../harness/stack/ports';
import { duBytes, untilStable, type Lens } from './peers-workload';
import type { BucketRow, Peer } from './peers-peer';
import { lineProtocol } from './peers-line';

type QuestBody = { dataset?: unknown[][]; error?: string };

export class QuestDbPeer implements Peer {
  readonly name = 'questdb';
  readonly ingestPath = 'ILP over HTTP POST /write (precision=ms) into a WAL table, until the WAL is applied';
  readonly lensPath = 'GET /exec: SAMPLE BY <step>T ALIGN TO CALENDAR, count/avg/min/max/first/last';
  private child: ManagedProcess | null = null;
  private url = '';
  private written = 0;
  private baseline = 0;

  constructor(
    private readonly jar: string,
    readonly dir: string,
  ) {}

  async start(): Promise<string> {
    if (!fs.existsSync(this.jar)) throw new Error(`${this.jar} not found; run: node scripts/setup.mjs`);
    fs.rmSync(this.dir, { recursive: true, force: true });
    fs.mkdirSync(path.join(this.dir, 'conf'), { recursive: true });
    const [http, min, pg, ilp] = [await freePort(), await freePort(), await freePort(), await freePort()];
    this.url = `http://127.0.0.1:${http}`;
    const conf = [
      `http.bind.to=127.0.0.1:${http}`,
      `http.min.net.bind.to=127.0.0.1:${min}`,
      `pg.net.bind.to=127.0.0.1:${pg}`,
      `line.tcp.net.bind.to=127.0.0.1:${ilp}`,
      'line.udp.enabled=false',
      'telemetry.enabled=false',
      'metrics.enabled=false',
      // Applied WAL segments are purged every second (default 30 s), so bytes settle soon after the WAL is applied.
      'cairo.wal.purge.interval=1000',
      '',
    ];
    fs.writeFileSync(path.join(this.dir, 'conf', 'server.conf'), conf.join('\n'));
    this.child = await ManagedProcess.start({
      name: 'questdb',
      command: 'java',
      args: ['-p', this.jar, '-m', 'io.questdb/io.questdb.ServerMain', '-d', this.dir],
      logFile: path.join(this.dir, 'questdb.log'),
    });
    await waitFor(async () => (await this.exec('SELECT 1').catch(() => null)) !== null, {
      what: 'questdb /exec',
      timeoutMs: 90_000,
      intervalMs: 300,
      process: this.child,
    });
    await this.exec('CREATE TABLE signal (sensor SYMBOL, value DOUBLE, ts TIMESTAMP) TIMESTAMP(ts) PARTITION BY HOUR WAL');
    this.baseline = duBytes(path.join(this.dir, 'db'));
    const v = await this.exec('SELECT build()');
    return String(v[0]?.[0] ?? '?')
      .replace(/^Build Information: /, '')
      .split(',')[0]!;
  }

  async write(batches: SensorBatch[]): Promise<void> {
    const res = await fetch(`${this.url}/write?precision=ms`, { method: 'POST', body: lineProtocol(batches) });
    if (res.status !== 204) throw new Error(`questdb write: ${res.status} ${await res.text()}`);
    this.written += batches.reduce((n, b) => n + b.values.length, 0);
  }

  /** Until the WAL is applied: every written row counted by the table. */
  async flush(): Promise<void> {
    await waitFor(async () => Number((await this.exec('SELECT count() FROM signal'))[0]![0]) >= this.written, {
      what: 'questdb WAL applied',
      timeoutMs: 3_600_000,
      intervalMs: 100,
    });
  }

  /**
   * Partitions are written as WAL segments are applied; applied segments and
   * superseded partition versions are purged in the background after, which
   * VACUUM TABLE starts at once; then until its files stop changing.
   */
  async settle(): Promise<void> {
    await waitFor(
      async () =>
        (await this.exec("SELECT suspended, writerTxn, sequencerTxn FROM wal_tables() WHERE name = 'signal'")).every(
          (r) => r[0] === false && r[1] === r[2],
        ),
      {
        what: 'questdb wal_tables() caught up',
        timeoutMs: 600_000,
        intervalMs: 200,
      },
    );
    await this.exec('VACUUM TABLE signal');
    await untilStable(() => this.bytes(), 5000, 600_000);
  }

  /** Growth of its db directory since the table was created (the table's partitions and WAL). */
  bytes(): number {
    return duBytes(path.join(this.dir, 'db')) - this.baseline;
  }

  pids(): number[] {
    return this.child ? [this.child.pid] : [];
  }

  async query(q: Lens, signal?: AbortSignal): Promise<BucketRow[]> {
    const sql = `SELECT sensor, cast(ts AS LONG) / 1000 AS t, count(), avg(value), min(value), max(value), first(value), last(value) FROM signal WHERE sensor IN (${q.sensors.map((s) => `'${s}'`).join(',')}) AND ts >= ${q.from * 1000} AND ts < ${q.to * 1000} SAMPLE BY ${q.step}T ALIGN TO CALENDAR`;
    return (await this.exec(sql, signal)).map((r) => ({
      sensor: Number(r[0]),
      t: Number(r[1]),
      count: Number(r[2]),
      avg: r[3] as number,
      min: r[4] as number,
      max: r[5] as number,
      first: r[6] as number,
      last: r[7] as number,
    }));
  }

  private async exec(sql: string, signal?: AbortSignal): Promise<unknown[][]> {
    const res = await fetch(`${this.url}/exec?query=${encodeURIComponent(sql)}`, { signal });
    const body = (await res.json()) as QuestBody;
    if (!res.ok || body.error) throw new Error(`questdb ${sql.slice(0, 80)}: ${res.status} ${body.error ?? ''}`);
    return body.dataset ?? [];
  }

  async stop(): Promise<void> {
    await this.child?.stop({ timeoutMs: 20_000 });
    this.child = null;
  }
}
