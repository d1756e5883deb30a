import { classifyClickHouseError } from './errors';
import type { Store } from './store';

/**
 * Where each sensor's rows live: the stores of a cluster's shards, in shard
 * order, or the one store of an embedded or single-server ClickHouse. Work on
 * sensors is split by shard and each part runs on its shard's local tables,
 * so a shard that is down stops only the work on its own sensors.
 */
export interface Shards {
  readonly stores: readonly Store[];
  /** The store holding a sensor's rows. */
  of(sensor: number): Store;
  close(): Promise<void>;
}

/**
 * Index (0-based) of the shard that owns a sensor: the remainder by the shard
 * count, as ClickHouse's Distributed tables compute it for the sharding key
 * `sensor` over shards of equal weight.
 */
export function shardIndex(sensor: number, shardCount: number): number {
  return sensor % shardCount;
}

export function shardsOf(stores: Store[]): Shards {
  if (stores.length === 0) throw new Error('a cluster needs at least one shard');
  return {
    stores,
    of: (sensor) => stores[shardIndex(sensor, stores.length)]!,
    close: async () => void (await Promise.all(stores.map((s) => s.close()))),
  };
}

export function singleShard(store: Store): Shards {
  return shardsOf([store]);
}

/** Items grouped by the shard of their sensor, in shard order; shards without items are left out. */
export function bySensorShard<T>(shards: Shards, items: readonly T[], sensorOf: (item: T) => number): { store: Store; items: T[] }[] {
  const parts = shards.stores.map((store) => ({ store, items: [] as T[] }));
  for (const item of items) parts[shardIndex(sensorOf(item), shards.stores.length)]!.items.push(item);
  return parts.filter((p) => p.items.length > 0);
}

/**
 * Runs `work` on every part and waits for all of them, so that one shard's
 * failure does not cut short the others' work; then throws the first error.
 */
export async function onEveryPart<P, R>(parts: readonly P[], work: (part: P) => Promise<R>): Promise<R[]> {
  const settled = await Promise.allSettled(parts.map(work));
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<R>).value);
}

/**
 * Runs `work` on every shard that answers: a shard whose servers are all
 * unreachable is left out (its work waits for it to return), any other error
 * fails the call, and so does every shard being unreachable.
 */
export async function onReachableShards<R>(shards: Shards, work: (store: Store) => Promise<R>): Promise<R[]> {
  const settled = await Promise.allSettled(shards.stores.map(work));
  const failures = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as unknown] : []));
  const other = failures.find((e) => classifyClickHouseError(e) !== 'unavailable');
  if (other !== undefined) throw other;
  if (failures.length === settled.length) throw failures[0];
  return settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
}
