import { createHash } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';
import type { Config } from '../config/config';
import type { PointColumns } from '../ingest/points';
import { POINT_ROW_STRUCTURE, pointsToRowBinary } from './rowbinary';
import { EMBEDDED_FEATURES, featuresForVersion, localName, renderSchema, RAW_TABLE, type Shape } from './schema';

type ClientOptions = NonNullable<Parameters<typeof createClient>[0]>;

export type QuerySettings = Record<string, string | number>;

/**
 * A ClickHouse endpoint: embedded chdb or a server reached over HTTP. Callers
 * query through `client` and write points through `insertPoints`, which takes
 * the path that is fast on each (a RowBinary file for chdb, a RowBinary body
 * over HTTP).
 */
export interface Store {
  readonly db: string;
  readonly shape: Shape;
  readonly client: ClickHouseClient;
  /** Inserts points as one block; a repeated call with the same token is dropped by the server. */
  insertPoints(points: PointColumns, token: string): Promise<void>;
  /** Rows of a SELECT together with the rows ClickHouse read for it (its own statistics). */
  queryWithStats<T>(sql: string, settings?: QuerySettings): Promise<{ rows: T[]; rowsRead: number }>;
  /** Runs an INSERT … SELECT. Every insert carries its own token (chdb keeps the last one for the session otherwise). */
  insert(sql: string, token: string): Promise<void>;
  close(): Promise<void>;
}

export interface StoreOptions {
  /** Role in the logs and in the chdb spool file names. */
  name: string;
  /**
   * Queries only: against a server, connect as CLICKHOUSE_READ_USER when it is
   * configured (embedded chdb has no users).
   */
  readOnly?: boolean;
  /** ClickHouse `max_execution_time` for every query of this store: a longer query fails with TIMEOUT_EXCEEDED. */
  maxExecutionMs?: number;
}

/**
 * `max_execution_time` in seconds: fractions on current engines, whole
 * seconds (at least 1) on old servers whose setting is an integer.
 */
function executionTimeSetting(ms: number, fractional: boolean): number {
  return fractional ? ms / 1000 : Math.max(1, Math.ceil(ms / 1000));
}

/** True when ClickHouse stopped a query at its `max_execution_time` (code 159, TIMEOUT_EXCEEDED). */
export function isQueryTimeout(err: unknown): boolean {
  const e = err as { code?: unknown; clickhouseCode?: unknown; type?: unknown; message?: unknown } | null;
  if (!e) return false;
  return String(e.code) === '159' || String(e.clickhouseCode) === '159' || e.type === 'TIMEOUT_EXCEEDED' || /TIMEOUT_EXCEEDED|Timeout exceeded: elapsed/i.test(String(e.message ?? ''));
}

/** Insert settings that keep one call one block, so a retried call is deduplicated whole. */
const ONE_BLOCK = { max_insert_block_size: '100000000', min_insert_block_size_rows: '100000000' } as const;

async function execWithStats<T>(client: ClickHouseClient, sql: string, settings: QuerySettings) {
  const result = await client.exec({ query: `${sql}\nFORMAT JSONEachRow`, clickhouse_settings: settings });
  const chunks: Buffer[] = [];
  for await (const chunk of result.stream) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  const rows = text.length === 0 ? [] : text.trimEnd().split('\n').map((line) => JSON.parse(line) as T);
  return { rows, rowsRead: Number(result.summary?.read_rows ?? 0) };
}

export function embeddedPath(config: Config): string {
  return join(config.stateDir, 'clickhouse');
}

class EmbeddedStore implements Store {
  readonly shape: Shape = { kind: 'single', features: EMBEDDED_FEATURES };
  constructor(
    readonly db: string,
    readonly client: ClickHouseClient,
    private readonly spoolDir: string,
  ) {}

  async insertPoints(points: PointColumns, token: string): Promise<void> {
    if (points.length === 0) return;
    // RowBinary cannot travel through the chdb connection's body (it is read
    // as UTF-8), but the engine reads a file at full speed.
    const file = join(this.spoolDir, `${token}.rowbinary`);
    await writeFile(file, pointsToRowBinary(points));
    try {
      await this.client.command({
        query: `INSERT INTO ${localName(this.db, RAW_TABLE.name, this.shape)} SELECT * FROM file('${file}', 'RowBinary', '${POINT_ROW_STRUCTURE}')`,
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

  queryWithStats<T>(sql: string, settings: QuerySettings = {}) {
    return execWithStats<T>(this.client, sql, settings);
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

class ServerStore implements Store {
  constructor(
    readonly db: string,
    readonly shape: Shape,
    readonly client: ClickHouseClient,
  ) {}

  async insertPoints(points: PointColumns, token: string): Promise<void> {
    if (points.length === 0) return;
    const result = await this.client.exec({
      query: `INSERT INTO ${localName(this.db, RAW_TABLE.name, this.shape)} FORMAT RowBinary`,
      values: Readable.from([pointsToRowBinary(points)]),
      clickhouse_settings: this.shape.features.dedupToken ? { insert_deduplication_token: token, ...ONE_BLOCK } : { ...ONE_BLOCK },
    });
    result.stream.resume();
  }

  queryWithStats<T>(sql: string, settings: QuerySettings = {}) {
    // The summary header is complete only once the whole result was produced.
    return execWithStats<T>(this.client, sql, { ...settings, wait_end_of_query: 1 });
  }

  async insert(sql: string, token: string): Promise<void> {
    await this.client.command({
      query: sql,
      clickhouse_settings: this.shape.features.dedupToken ? { insert_deduplication_token: token } : {},
    });
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

export async function openStore(config: Config, opts: StoreOptions): Promise<Store> {
  const db = config.clickhouse.database;
  if (!config.clickhouse.url) {
    const path = embeddedPath(config);
    const spoolDir = join(config.stateDir, 'spool', opts.name);
    await mkdir(spoolDir, { recursive: true });
    // chdb types its connection against the separate @clickhouse/client-common
    // package, which newer clients inline: same shape, different type identity.
    const connection = createChdbConnection({ path }) as unknown as NonNullable<ClientOptions['connection']>;
    // Client-level settings are sent with every call, so chdb's sticky session SETs stay what this store wants.
    const settings = opts.maxExecutionMs ? { max_execution_time: executionTimeSetting(opts.maxExecutionMs, true) } : undefined;
    const client = createClient({ connection, clickhouse_settings: settings });
    return new EmbeddedStore(db, client, spoolDir);
  }
  const readUser = opts.readOnly ? config.clickhouse.readUser : undefined;
  const credentials = readUser
    ? { username: readUser, password: config.clickhouse.readPassword }
    : { username: config.clickhouse.user, password: config.clickhouse.password };
  const probe = createClient({ url: config.clickhouse.url, ...credentials, request_timeout: 60_000 });
  const version = await serverVersion(probe).finally(() => probe.close());
  const features = featuresForVersion(version);
  const [major = 0] = version.split('.').map((p) => Number.parseInt(p, 10));
  const settings = opts.maxExecutionMs ? { max_execution_time: executionTimeSetting(opts.maxExecutionMs, major >= 23) } : undefined;
  const client = createClient({
    url: config.clickhouse.url,
    ...credentials,
    // The server stops the query first; the HTTP request gives up a little later.
    request_timeout: opts.maxExecutionMs ? opts.maxExecutionMs + 10_000 : 60_000,
    clickhouse_settings: settings,
  });
  return new ServerStore(db, { kind: 'single', features }, client);
}

export async function serverVersion(client: ClickHouseClient): Promise<string> {
  const rs = await client.query({ query: 'SELECT version() AS v', format: 'JSONEachRow' });
  const [row] = await rs.json<{ v: string }>();
  return row?.v ?? '0';
}

/** Creates the database, tables and views if missing; safe to run on every start. */
export async function migrate(store: Store): Promise<void> {
  for (const statement of renderSchema(store.db, store.shape)) {
    await store.client.command({ query: statement });
  }
}

/** Deterministic insert token: the same rows give the same token. */
export function contentToken(prefix: string, parts: ArrayBufferView[]): string {
  const hash = createHash('sha256');
  for (const p of parts) hash.update(new Uint8Array(p.buffer, p.byteOffset, p.byteLength));
  return `${prefix}-${hash.digest('hex').slice(0, 32)}`;
}
