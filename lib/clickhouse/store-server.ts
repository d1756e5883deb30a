import { Readable } from 'node:stream';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import type { Config } from '../config/config';
import type { Logger } from '../log/logger';
import type { PointColumns } from '../model/points';
import { StoreUnavailableError } from './errors';
import { failover, type Failover, type Replica } from './failover';
import { ReplicaChoice } from './replica-choice';
import { queryWithStats } from './query-stats';
import { pointsToRowBinary } from './rowbinary';
import { localName, RAW_TABLE, type Shape } from './schema';
import { ONE_BLOCK, timeLimitedSettings } from './settings';
import type { QuerySettings, Store, StoreOptions } from './store';

/**
 * ClickHouse servers over HTTP: one server, or the replicas of one shard of a
 * cluster (then tables are the shard's `<table>_local`), reached through
 * {@link failover}, on the replica the process's {@link ReplicaChoice} of the
 * shard names. Retrying a write on another replica is safe: raw blocks are
 * byte-identical (replicated deduplication drops a repeat) and every other
 * write is idempotent by content (ledger maxima, versioned rollups).
 */
export class ServerStore implements Store {
  private readonly replicas: Failover;
  private readonly servers: Replica[];

  constructor(
    readonly db: string,
    readonly shape: Shape,
    replicas: Replica[],
    /** What to call these servers in errors. */
    what: string,
    log?: Logger,
    /** Shared with the process's other stores of this shard; a store of its own when omitted. */
    choice: ReplicaChoice = new ReplicaChoice(
      1,
      replicas.map((r) => r.url),
    ),
  ) {
    this.replicas = failover({ db, shape, replicas, what, choice, log });
    this.servers = replicas;
  }

  get client(): ClickHouseClient {
    return this.replicas.client;
  }

  table(name: string): string {
    return localName(this.db, name, this.shape);
  }

  insertPoints(points: PointColumns, token: string): Promise<void> {
    if (points.length === 0) return Promise.resolve();
    const body = pointsToRowBinary(points);
    return this.replicas.run(async (client) => {
      const result = await client.exec({
        query: `INSERT INTO ${this.table(RAW_TABLE.name)} FORMAT RowBinary`,
        values: Readable.from([body]),
        clickhouse_settings: this.shape.features.dedupToken ? { insert_deduplication_token: token, ...ONE_BLOCK } : { ...ONE_BLOCK },
      });
      result.stream.resume();
    });
  }

  onEveryReplica<T>(call: (client: ClickHouseClient) => Promise<T>): Promise<T[]> {
    return Promise.all(this.servers.map((r) => call(r.client)));
  }

  awaitCaughtUp(): Promise<void> {
    return this.replicas.run(async () => undefined, { caughtUp: true });
  }

  rows<T>(sql: string, settings: QuerySettings = {}): Promise<T[]> {
    return this.replicas.run(async (client) =>
      (await client.query({ query: sql, format: 'JSONEachRow', clickhouse_settings: settings })).json<T>(),
    );
  }

  queryWithStats<T extends readonly unknown[]>(sql: string, settings: QuerySettings = {}) {
    return this.replicas.run((client) => queryWithStats<T>(client, sql, settings));
  }

  insert(sql: string, token: string): Promise<void> {
    return this.replicas.run(async (client) => {
      await client.command({
        query: sql,
        clickhouse_settings: this.shape.features.dedupToken ? { insert_deduplication_token: token } : {},
      });
    });
  }

  close(): Promise<void> {
    return this.replicas.close();
  }
}

/** Clients for the given servers, and the version of the first one that answers. */
export async function connectReplicas(
  config: Config,
  opts: StoreOptions,
  urls: string[],
): Promise<{ version: string; replicas: Replica[] }> {
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
  const settings = opts.maxExecutionMs ? timeLimitedSettings(opts.maxExecutionMs, major >= 23) : undefined;
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
