import { setTimeout as sleep } from 'node:timers/promises';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from '../log/logger';
import { classifyClickHouseError, isUnreachable, ReplicaBehindError, StoreUnavailableError } from './errors';
import type { ReplicaChoice } from './replica-choice';
import { replicaLag } from './replica-lag';
import type { Shape } from './schema';

/** One server of a store: its URL (for messages) and a client. */
export interface Replica {
  url: string;
  client: ClickHouseClient;
}

export interface RunOptions {
  /**
   * The call must see every write any replica acknowledged before it began
   * (duplicate checks, compaction): it runs only once its replica shows it
   * holds all of them, waiting up to CATCH_UP_WAIT_MS, else on a peer that does.
   */
  caughtUp?: boolean;
}

/**
 * The replicas of one store (one server, or the replicas of one shard of a
 * cluster). Every call goes to the shard's replica in use — one choice per
 * shard for the whole process ({@link ReplicaChoice}) — and moves on to the
 * next when a replica cannot be reached; the preferred replica takes over
 * again once it is back and caught up.
 */
export interface Failover {
  /** The client of the replica in use. */
  readonly client: ClickHouseClient;
  /** Runs `call` on the first replica that answers; throws {@link StoreUnavailableError} when none does. */
  run<T>(call: (client: ClickHouseClient) => Promise<T>, opts?: RunOptions): Promise<T>;
  close(): Promise<void>;
}

export interface FailoverOptions {
  db: string;
  shape: Shape;
  replicas: Replica[];
  /** What to call these servers in errors. */
  what: string;
  choice: ReplicaChoice;
  log?: Logger;
}

/** How long a call that must see every acknowledged write waits for its replica to catch up before trying a peer. */
const CATCH_UP_WAIT_MS = 10_000;
const CATCH_UP_POLL_MS = 100;

export function failover({ db, shape, replicas, what, choice, log }: FailoverOptions): Failover {
  const cluster = shape.kind === 'cluster';

  /** Throws {@link ReplicaBehindError} unless the replica holds every part acknowledged before this call. */
  async function checkCaughtUp(replica: Replica): Promise<void> {
    if (!cluster) return;
    let lag: string | null;
    try {
      lag = await replicaLag(replica.client, db);
    } catch (err) {
      if (isUnreachable(err)) throw err;
      throw new ReplicaBehindError(`replica ${replica.url} cannot show that it caught up: ${(err as Error).message}`);
    }
    if (lag !== null) throw new ReplicaBehindError(`replica ${replica.url}: ${lag}`);
  }

  async function waitCaughtUp(replica: Replica): Promise<void> {
    const until = Date.now() + CATCH_UP_WAIT_MS;
    for (;;) {
      try {
        return await checkCaughtUp(replica);
      } catch (err) {
        if (classifyClickHouseError(err) !== 'replica_behind' || Date.now() >= until) throw err;
        await sleep(CATCH_UP_POLL_MS);
      }
    }
  }

  /**
   * Fail-back, checked in the background (a call never waits for it): the
   * preferred replica takes over again once it answers and holds every part
   * acknowledged before the check. Writes still in flight on the old replica
   * when it switches may land after the check; calls that must see them ask
   * for `caughtUp`, which checks again right before they read.
   */
  function maybeFailBack(): void {
    const from = choice.current;
    if (!cluster || !choice.claimFailbackCheck(Date.now())) return;
    const preferred = replicas[0]!;
    void checkCaughtUp(preferred)
      .then(
        () => {
          if (choice.moveTo(from, 0, 'failback'))
            log?.warn({ store: what, from: replicas[from]!.url, to: preferred.url }, 'ClickHouse replica fail-back');
        },
        (err: unknown) => log?.debug({ store: what, err: (err as Error).message }, 'preferred replica not taking over yet'),
      )
      .finally(() => choice.failbackChecked());
  }

  async function run<T>(call: (client: ClickHouseClient) => Promise<T>, opts: RunOptions = {}): Promise<T> {
    maybeFailBack();
    const start = choice.current;
    let lastError: unknown;
    for (let i = 0; i < replicas.length; i++) {
      const k = (start + i) % replicas.length;
      const replica = replicas[k]!;
      try {
        // A replica takes over only once it holds every acknowledged part: parts it has still
        // to fetch (from a replica that died before it could) would be missing from its reads.
        if (k !== start) await checkCaughtUp(replica);
        else if (opts.caughtUp) await waitCaughtUp(replica);
        const result = await call(replica.client);
        if (k !== start && choice.moveTo(start, k, 'failover'))
          log?.warn({ store: what, from: replicas[start]!.url, to: replica.url }, 'ClickHouse replica failover');
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
      return replicas[choice.current]!.client;
    },
    run,
    close: async () => void (await Promise.all(replicas.map((r) => r.client.close()))),
  };
}
