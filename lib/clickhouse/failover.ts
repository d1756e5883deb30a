import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from '../log/logger';
import { classifyClickHouseError, ReplicaBehindError, StoreUnavailableError } from './errors';
import type { Shape } from './schema';

/** One server of a store: its URL (for messages) and a client. */
export interface Replica {
  url: string;
  client: ClickHouseClient;
}

/**
 * The replicas of one store (one server, or the replicas of one shard of a
 * cluster). Every call goes to the replica that answered last and moves on to
 * the next when a replica cannot be reached, so reads see what this store
 * wrote while that replica lives.
 */
export interface Failover {
  /** The client of the replica that answered last. */
  readonly client: ClickHouseClient;
  /** Runs `call` on the first replica that answers; throws {@link StoreUnavailableError} when none does. */
  run<T>(call: (client: ClickHouseClient) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface FailoverOptions {
  db: string;
  shape: Shape;
  replicas: Replica[];
  /** What to call these servers in errors. */
  what: string;
  log?: Logger;
}

export function failover({ db, shape, replicas, what, log }: FailoverOptions): Failover {
  let current = 0;

  /**
   * A replica takes over only once it holds every block its shard committed:
   * parts it has still to fetch (from a replica that died before it could)
   * would be missing from its reads, and the duplicate check and compaction
   * must see everything stored.
   */
  async function checkCaughtUp(replica: Replica): Promise<void> {
    if (shape.kind !== 'cluster') return;
    const rs = await replica.client.query({
      query: `SELECT sum(inserts_in_queue) AS n FROM system.replicas WHERE database = '${db}'`,
      format: 'JSONEachRow',
    });
    const [row] = await rs.json<{ n: string }>();
    const missing = Number(row?.n ?? 0);
    if (missing > 0) throw new ReplicaBehindError(`replica ${replica.url} has ${missing} inserted part(s) still to fetch`);
  }

  async function run<T>(call: (client: ClickHouseClient) => Promise<T>): Promise<T> {
    let lastError: unknown;
    for (let i = 0; i < replicas.length; i++) {
      const k = (current + i) % replicas.length;
      const replica = replicas[k]!;
      try {
        if (k !== current) await checkCaughtUp(replica);
        const result = await call(replica.client);
        if (k !== current) {
          log?.warn({ store: what, from: replicas[current]!.url, to: replica.url }, 'ClickHouse replica failover');
          current = k;
        }
        return result;
      } catch (err) {
        const kind = classifyClickHouseError(err);
        if (kind !== 'unreachable' && kind !== 'replica_behind') throw err;
        if (kind === 'replica_behind') log?.warn({ store: what, err: (err as Error).message }, 'replica not taking over yet');
        lastError = err;
      }
    }
    throw new StoreUnavailableError(what, lastError);
  }

  return {
    get client() {
      return replicas[current]!.client;
    },
    run,
    close: async () => void (await Promise.all(replicas.map((r) => r.client.close()))),
  };
}
