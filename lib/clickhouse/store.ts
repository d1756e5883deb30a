import { createHash } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';
import type { Config } from '../config/config';
import type { Logger } from '../log/logger';
import type { PointColumns } from '../model/points';
import { POINT_ROW_STRUCTURE, pointsToRowBinary } from './rowbinary';
import { EMBEDDED_FEATURES, featuresForVersion, localName, renderSchema, RAW_TABLE, schemaObjects, type Shape } from './schema';
import { isUnreachable, StoreUnavailableError } from './errors';
import { shardsOf, singleShard, type Shards } from './shards';

type ClientOptions = NonNullable<Parameters<typeof createClient>[0]>;

export type QuerySettings = Record<string, string | number>;

/**
 * A ClickHouse endpoint: embedded chdb or a server reached over HTTP. Callers
 * query through `client` and write points through `insertPoints`, which takes
 * the path that is fast on each (a RowBinary file for chdb, a RowBinary body
 * over HTTP).
 */
/** A 64-bit integer in a JSON result: old servers quote them, current ones do not. */
export type JsonInt64 = number | string;

export interface Store {
  readonly db: string;
  readonly shape: Shape;
  /** The client of the server this store talks to now (migrations, tests, benchmarks). */
  readonly client: ClickHouseClient;
  /** Where this store reads and writes a table: the table itself, or a shard's local table. */
  table(name: string): string;
  /** Rows of a SELECT. */
  rows<T>(sql: string, settings?: QuerySettings): Promise<T[]>;
  /** Inserts points as one block; a repeated call with the same token is dropped by the server. */
  insertPoints(points: PointColumns, token: string): Promise<void>;
  /**
   * Rows of a SELECT as arrays in its column order, together with the rows
   * ClickHouse read for it (its own statistics). 64-bit integers are
   * {@link JsonInt64}.
   */
  queryWithStats<T extends readonly unknown[]>(sql: string, settings?: QuerySettings): Promise<{ rows: T[]; rowsRead: number }>;
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
  /** Told when a shard's store moves to another replica. */
  log?: Logger;
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
  return (
    String(e.code) === '159' ||
    String(e.clickhouseCode) === '159' ||
    e.type === 'TIMEOUT_EXCEEDED' ||
    /TIMEOUT_EXCEEDED|Timeout exceeded: elapsed/i.test(String(e.message ?? ''))
  );
}

/** Insert settings that keep one call one block, so a retried call is deduplicated whole. */
const ONE_BLOCK = { max_insert_block_size: '100000000', min_insert_block_size_rows: '100000000' } as const;

/**
 * FORMAT JSONCompact: the whole result is one JSON.parse with no object per
 * row (per-row parsing was most of a large lens's time in JS), and it ends
 * with the engine's own read statistics on every version (old servers send no
 * summary header).
 */
async function compactWithStats<T extends readonly unknown[]>(client: ClickHouseClient, sql: string, settings: QuerySettings) {
  const rs = await client.query({ query: sql, format: 'JSONCompact', clickhouse_settings: settings });
  const body = (await rs.json()) as unknown as { data: T[]; statistics?: { rows_read?: number } };
  return { rows: body.data, rowsRead: Number(body.statistics?.rows_read ?? 0) };
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

  table(name: string): string {
    return localName(this.db, name, this.shape);
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
    return compactWithStats<T>(this.client, sql, settings);
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

class ReplicaBehindError extends Error {}

/** One server of a store: its URL (for messages) and a client. */
export interface Replica {
  url: string;
  client: ClickHouseClient;
}

/**
 * ClickHouse servers over HTTP: one server, or the replicas of one shard of a
 * cluster (then tables are the shard's `<table>_local`). Every call goes to the
 * replica that answered last and moves on to the next when a replica cannot
 * be reached, so reads see what this store wrote while that replica lives.
 * Retrying a write on another replica is safe: raw blocks are byte-identical
 * (replicated deduplication drops a repeat) and every other write is
 * idempotent by content (ledger maxima, versioned rollups).
 */
class ServerStore implements Store {
  private current = 0;

  constructor(
    readonly db: string,
    readonly shape: Shape,
    private readonly replicas: Replica[],
    /** What to call these servers in errors. */
    private readonly what: string,
    private readonly log?: Logger,
  ) {}

  get client(): ClickHouseClient {
    return this.replicas[this.current]!.client;
  }

  table(name: string): string {
    return localName(this.db, name, this.shape);
  }

  private async onReplica<T>(call: (client: ClickHouseClient) => Promise<T>): Promise<T> {
    let lastError: unknown;
    for (let i = 0; i < this.replicas.length; i++) {
      const k = (this.current + i) % this.replicas.length;
      const replica = this.replicas[k]!;
      try {
        if (k !== this.current) await this.checkCaughtUp(replica);
        const result = await call(replica.client);
        if (k !== this.current) {
          this.log?.warn({ store: this.what, from: this.replicas[this.current]!.url, to: replica.url }, 'ClickHouse replica failover');
          this.current = k;
        }
        return result;
      } catch (err) {
        if (!isUnreachable(err) && !(err instanceof ReplicaBehindError)) throw err;
        if (err instanceof ReplicaBehindError) this.log?.warn({ store: this.what, err: err.message }, 'replica not taking over yet');
        lastError = err;
      }
    }
    throw new StoreUnavailableError(this.what, lastError);
  }

  /**
   * A replica takes over only once it holds every block its shard committed:
   * parts it has still to fetch (from a replica that died before it could)
   * would be missing from its reads, and the duplicate check and compaction
   * must see everything stored.
   */
  private async checkCaughtUp(replica: Replica): Promise<void> {
    if (this.shape.kind !== 'cluster') return;
    const rs = await replica.client.query({
      query: `SELECT sum(inserts_in_queue) AS n FROM system.replicas WHERE database = '${this.db}'`,
      format: 'JSONEachRow',
    });
    const [row] = await rs.json<{ n: string }>();
    const missing = Number(row?.n ?? 0);
    if (missing > 0) throw new ReplicaBehindError(`replica ${replica.url} has ${missing} inserted part(s) still to fetch`);
  }

  insertPoints(points: PointColumns, token: string): Promise<void> {
    if (points.length === 0) return Promise.resolve();
    const body = pointsToRowBinary(points);
    return this.onReplica(async (client) => {
      const result = await client.exec({
        query: `INSERT INTO ${this.table(RAW_TABLE.name)} FORMAT RowBinary`,
        values: Readable.from([body]),
        clickhouse_settings: this.shape.features.dedupToken ? { insert_deduplication_token: token, ...ONE_BLOCK } : { ...ONE_BLOCK },
      });
      result.stream.resume();
    });
  }

  rows<T>(sql: string, settings: QuerySettings = {}): Promise<T[]> {
    return this.onReplica(async (client) =>
      (await client.query({ query: sql, format: 'JSONEachRow', clickhouse_settings: settings })).json<T>(),
    );
  }

  queryWithStats<T extends readonly unknown[]>(sql: string, settings: QuerySettings = {}) {
    return this.onReplica((client) => compactWithStats<T>(client, sql, settings));
  }

  insert(sql: string, token: string): Promise<void> {
    return this.onReplica(async (client) => {
      await client.command({
        query: sql,
        clickhouse_settings: this.shape.features.dedupToken ? { insert_deduplication_token: token } : {},
      });
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.replicas.map((r) => r.client.close()));
  }
}

export async function openStore(config: Config, opts: StoreOptions): Promise<Store> {
  if (config.clickhouse.shards) throw new Error('a cluster is opened with openShards');
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
  const url = config.clickhouse.url;
  const { version, replicas } = await connectReplicas(config, opts, [url]);
  return new ServerStore(db, { kind: 'single', features: featuresForVersion(version) }, replicas, `ClickHouse at ${url}`);
}

/**
 * One store per shard of the cluster named by CLICKHOUSE_SHARDS (in shard
 * order), or the one store of an embedded or single-server ClickHouse.
 */
export async function openShards(config: Config, opts: StoreOptions): Promise<Shards> {
  const shards = config.clickhouse.shards;
  if (!shards) return singleShard(await openStore(config, opts));
  const urls = shards.flat();
  const { version, replicas } = await connectReplicas(config, opts, urls);
  const shape: Shape = { kind: 'cluster', cluster: config.clickhouse.cluster, features: featuresForVersion(version) };
  let next = 0;
  const stores = shards.map((urlsOfShard, i) => {
    const own = replicas.slice(next, next + urlsOfShard.length);
    next += urlsOfShard.length;
    return new ServerStore(
      config.clickhouse.database,
      shape,
      own,
      `ClickHouse shard ${i + 1} (${urlsOfShard.join(', ')})`,
      opts.log?.child({ role: opts.name }),
    );
  });
  return shardsOf(stores);
}

/** Clients for the given servers, and the version of the first one that answers. */
async function connectReplicas(config: Config, opts: StoreOptions, urls: string[]): Promise<{ version: string; replicas: Replica[] }> {
  const readUser = opts.readOnly ? config.clickhouse.readUser : undefined;
  const credentials = readUser
    ? { username: readUser, password: config.clickhouse.readPassword }
    : { username: config.clickhouse.user, password: config.clickhouse.password };
  let version: string | undefined;
  let lastError: unknown;
  for (const url of urls) {
    const probe = createClient({ url, ...credentials, request_timeout: 10_000 });
    try {
      version = await serverVersion(probe);
      break;
    } catch (err) {
      lastError = err;
    } finally {
      await probe.close();
    }
  }
  if (version === undefined) throw new StoreUnavailableError(`ClickHouse (${urls.join(', ')})`, lastError);
  const [major = 0] = version.split('.').map((p) => Number.parseInt(p, 10));
  const settings = opts.maxExecutionMs ? { max_execution_time: executionTimeSetting(opts.maxExecutionMs, major >= 23) } : undefined;
  const replicas = urls.map((url) => ({
    url,
    client: createClient({
      url,
      ...credentials,
      // The server stops the query first; the HTTP request gives up a little later.
      request_timeout: opts.maxExecutionMs ? opts.maxExecutionMs + 10_000 : 60_000,
      clickhouse_settings: settings,
    }),
  }));
  return { version, replicas };
}

export async function serverVersion(client: ClickHouseClient): Promise<string> {
  const rs = await client.query({ query: 'SELECT version() AS v', format: 'JSONEachRow' });
  const [row] = await rs.json<{ v: string }>();
  return row?.v ?? '0';
}

/**
 * Runs the schema's DDL through one client. ON CLUSTER statements come back
 * with a per-host result table: wait_end_of_query makes the server buffer it,
 * so a failure on any host is an HTTP error or an exception in the body,
 * never a 200 that hides it.
 */
export async function applySchema(client: ClickHouseClient, statements: string[]): Promise<void> {
  for (const query of statements) {
    const result = await client.exec({ query, clickhouse_settings: { wait_end_of_query: 1 } });
    const chunks: Buffer[] = [];
    for await (const chunk of result.stream) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    if (/DB::Exception/.test(body)) throw new Error(`schema statement failed:\n${query}\n${body}`);
  }
}

/**
 * Creates the database, tables and views if missing; safe to run on every
 * start. On a cluster the statements run ON CLUSTER, which waits for every
 * server: they run only when something is missing, so a service starts while
 * a replica is down once the schema exists.
 */
export async function migrate(shards: Shards): Promise<void> {
  const store = shards.stores[0]!;
  const statements = renderSchema(store.db, store.shape);
  if (store.shape.kind === 'cluster') {
    const expected = schemaObjects(store.db, store.shape);
    const seen = await Promise.allSettled(
      shards.stores.map((s) => s.rows<{ name: string }>(`SELECT name FROM system.tables WHERE database = '${store.db}'`)),
    );
    const answered = seen.flatMap((r) => (r.status === 'fulfilled' ? [new Set(r.value.map((t) => t.name))] : []));
    if (answered.length > 0 && answered.every((names) => expected.every((name) => names.has(name)))) return;
    const reachable = shards.stores.find((_, i) => seen[i]!.status === 'fulfilled');
    if (!reachable) throw (seen[0] as PromiseRejectedResult).reason;
    await applySchema(reachable.client, statements);
    return;
  }
  await applySchema(store.client, statements);
}

/** Deterministic insert token: the same rows give the same token. */
export function contentToken(prefix: string, parts: ArrayBufferView[]): string {
  const hash = createHash('sha256');
  for (const p of parts) hash.update(new Uint8Array(p.buffer, p.byteOffset, p.byteLength));
  return `${prefix}-${hash.digest('hex').slice(0, 32)}`;
}
