import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';
import type { Config } from '../config/config';
import type { PointColumns } from '../model/points';
import { queryRowBinaryWithStats, queryWithStats } from './query-stats';
import { POINT_ROW_STRUCTURE, pointsToRowBinary } from './rowbinary';
import { EMBEDDED_FEATURES, localName, RAW_TABLE, type Shape } from './schema';
import { ONE_BLOCK, timeLimitedSettings } from './settings';
import type { QuerySettings, Store, StoreOptions } from './store';

type ClientOptions = NonNullable<Parameters<typeof createClient>[0]>;

export function embeddedPath(config: Config): string {
  return join(config.stateDir, 'clickhouse');
}

/** The store of the embedded chdb engine under the state directory. */
export async function openEmbeddedStore(config: Config, opts: StoreOptions): Promise<Store> {
  const spoolDir = join(config.stateDir, 'spool', opts.name);
  await mkdir(spoolDir, { recursive: true });
  // chdb types its connection against the separate @clickhouse/client-common
  // package, which newer clients inline: same shape, different type identity.
  const connection = createChdbConnection({ path: embeddedPath(config) }) as unknown as NonNullable<ClientOptions['connection']>;
  // Client-level settings are sent with every call, so chdb's sticky session SETs stay what this store wants.
  const settings = opts.maxExecutionMs ? timeLimitedSettings(opts.maxExecutionMs, true) : undefined;
  const client = createClient({ connection, clickhouse_settings: settings });
  return new EmbeddedStore(config.clickhouse.database, client, spoolDir);
}

class EmbeddedStore implements Store {
  readonly shape: Shape = { kind: 'single', features: EMBEDDED_FEATURES };
  constructor(
    readonly db: string,
    readonly client: ClickHouseClient,
    private readonly spoolDir: string,
  ) {}

  queryRowBinary(sql: string, columns: readonly string[], settings: QuerySettings = {}) {
    return queryRowBinaryWithStats(this.client, sql, columns, settings);
  }

  table(name: string): string {
    return localName(this.db, name, this.shape);
  }

  /** One engine in this process: it holds every write it acknowledged. */
  awaitCaughtUp(): Promise<void> {
    return Promise.resolve();
  }

  async onEveryReplica<T>(call: (client: ClickHouseClient) => Promise<T>): Promise<T[]> {
    return [await call(this.client)];
  }

  async rows<T>(sql: string, settings: QuerySettings = {}): Promise<T[]> {
    return (await this.client.query({ query: sql, format: 'JSONEachRow', clickhouse_settings: settings })).json<T>();
  }

  async insertPoints(points: PointColumns, token: string): Promise<void> {
    if (points.length === 0) return;
    // RowBinary cannot travel through the chdb connection's body (it is read
    // as UTF-8), but the engine reads a file at full speed.
    const file = join(this.spoolDir, `${token}.rowbinary`);
    await writeFile(file, pointsToRowBinary(points));
    try {
      await this.client.command({
        query: `INSERT INTO ${this.table(RAW_TABLE.name)} SELECT * FROM file('${file}', 'RowBinary', '${POINT_ROW_STRUCTURE}')`,
        // chdb keeps per-call settings for the session: every insert must carry its own token.
        clickhouse_settings: { insert_deduplication_token: token, ...ONE_BLOCK },
      });
    } finally {
      await rm(file, { force: true });
    }
  }

  async insert(sql: string, token: string): Promise<void> {
    await this.client.command({ query: sql, clickhouse_settings: { insert_deduplication_token: token } });
  }

  queryWithStats<T extends readonly unknown[]>(sql: string, settings: QuerySettings = {}) {
    return queryWithStats<T>(this.client, sql, settings);
  }

  close(): Promise<void> {
    return this.client.close();
  }
}
