/**
 * ClickHouse as a user would run it alone in bench-peers: the same chdb
 * package Herodotus embeds, in this process with its own data directory, one
 * MergeTree table (sensor, ts, value) ordered by (sensor, ts), INSERTs of
 * RowBinary files (chdb reads a file at full speed; its connection body is
 * read as UTF-8), and a plain GROUP BY per lens.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';
import { timestampAt, type SensorBatch } from '../lib/batch/types';
import { duBytes, type Lens } from './peers-workload';
import type { BucketRow, Peer } from './peers-peer';

type ClientOptions = NonNullable<Parameters<typeof createClient>[0]>;
const ROW_BYTES = 4 + 8 + 8;

export class ClickHousePeer implements Peer {
  readonly name = 'clickhouse';
  readonly ingestPath = 'chdb in this process: INSERT INTO signal SELECT * FROM file(RowBinary), one per write';
  readonly lensPath = 'SELECT … GROUP BY sensor, intDiv(ts, step) with count/avg/min/max/argMin/argMax';
  private client: ClickHouseClient | null = null;
  private files = 0;
  private baseline = 0;

  constructor(readonly dir: string) {}

  async start(): Promise<string> {
    fs.rmSync(this.dir, { recursive: true, force: true });
    fs.mkdirSync(path.join(this.dir, 'spool'), { recursive: true });
    const connection = createChdbConnection({ path: path.join(this.dir, 'data') }) as unknown as NonNullable<ClientOptions['connection']>;
    this.client = createClient({ connection });
    await this.client.command({
      query: 'CREATE TABLE signal (sensor UInt32, ts Int64, value Float64) ENGINE = MergeTree ORDER BY (sensor, ts)',
    });
    this.baseline = duBytes(path.join(this.dir, 'data'));
    const [row] = await this.rows<{ v: string }>('SELECT version() AS v');
    return `${row!.v} (chdb)`;
  }

  async write(batches: SensorBatch[]): Promise<void> {
    const n = batches.reduce((s, b) => s + b.values.length, 0);
    const buf = Buffer.allocUnsafe(n * ROW_BYTES);
    let o = 0;
    for (const b of batches)
      for (let i = 0; i < b.values.length; i++) {
        buf.writeUInt32LE(b.sensor, o);
        buf.writeBigInt64LE(BigInt(timestampAt(b, i)), o + 4);
        buf.writeDoubleLE(b.values[i]!, o + 12);
        o += ROW_BYTES;
      }
    const file = path.join(this.dir, 'spool', `${this.files++}.rowbinary`);
    fs.writeFileSync(file, buf);
    try {
      await this.client!.command({
        query: `INSERT INTO signal SELECT * FROM file('${file}', 'RowBinary', 'sensor UInt32, ts Int64, value Float64')`,
      });
    } finally {
      fs.rmSync(file, { force: true });
    }
  }

  /** An INSERT is queryable once it returns. */
  async flush(): Promise<void> {}

  /** Merges everything into one part per partition, as background merges eventually would. */
  async settle(): Promise<void> {
    await this.client!.command({ query: 'OPTIMIZE TABLE signal FINAL' });
  }

  /** Growth of its data directory since the table was created. */
  bytes(): number {
    return duBytes(path.join(this.dir, 'data')) - this.baseline;
  }

  pids(): number[] {
    return [];
  }

  async query(q: Lens): Promise<BucketRow[]> {
    const sql = `SELECT sensor, ${q.from} + intDiv(ts - ${q.from}, ${q.step}) * ${q.step} AS t, count() AS count, avg(value) AS avg, min(value) AS min, max(value) AS max, argMin(value, ts) AS first, argMax(value, ts) AS last FROM signal WHERE sensor IN (${q.sensors.join(',')}) AND ts >= ${q.from} AND ts < ${q.to} GROUP BY sensor, t ORDER BY sensor, t`;
    const rows = await this.rows<BucketRow>(sql, { output_format_json_quote_64bit_integers: 0 });
    return rows.map((r) => ({ ...r, sensor: Number(r.sensor), t: Number(r.t), count: Number(r.count) }));
  }

  private async rows<T>(sql: string, settings: Record<string, number> = {}): Promise<T[]> {
    return (await this.client!.query({ query: sql, format: 'JSONEachRow', clickhouse_settings: settings })).json<T>();
  }

  async stop(): Promise<void> {
    await this.client?.close();
    this.client = null;
  }
}
