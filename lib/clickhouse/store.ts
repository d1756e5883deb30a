import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from '../log/logger';
import type { PointColumns } from '../model/points';
import type { ReplicaChoices } from './replica-choice';
import type { Shape } from './schema';

export type QuerySettings = Record<string, string | number>;

/** A 64-bit integer in a JSON result: old servers quote them, current ones do not. */
export type JsonInt64 = number | string;

/**
 * A ClickHouse endpoint: embedded chdb or a server reached over HTTP. Callers
 * query through `client` and write points through `insertPoints`, which takes
 * the path that is fast on each (a RowBinary file for chdb, a RowBinary body
 * over HTTP).
 */
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
  /**
   * Resolves once the replica this store reads holds every part that any
   * replica acknowledged before the call (at once on embedded chdb or a
   * single server). Reads after it see every write acknowledged before it,
   * in every table: read a version (ledger) first, then call this, then read
   * the data behind that version (raw, rollups), and the data is complete
   * whichever order the replica fetched the tables' parts in. Fails with
   * {@link StoreUnavailableError} when no replica of the shard can show it.
   */
  awaitCaughtUp(): Promise<void>;
  /**
   * The `columns` of a SELECT's rows as RowBinary bytes, with the rows the
   * engine read, on engines that can format rows themselves (embedded chdb;
   * absent on servers as old as 18.16).
   */
  queryRowBinary?(sql: string, columns: readonly string[], settings?: QuerySettings): Promise<{ body: Uint8Array; rowsRead: number }>;
  /**
   * Runs `call` on every replica of the store (one server, or chdb: on it
   * alone), for what each replica does on its own, such as applying a
   * mutation; fails when a replica cannot be reached.
   */
  onEveryReplica<T>(call: (client: ClickHouseClient) => Promise<T>): Promise<T[]>;
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
  /**
   * The process's replica choice per shard, shared by all its stores (every
   * role reads and writes the same replica); choices of their own when omitted.
   */
  replicaChoices?: ReplicaChoices;
}
