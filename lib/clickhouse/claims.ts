import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { WRITE_CLAIM_TABLE } from './schema';
import { int, tupleArray } from './sql';
import type { JsonInt64, Store } from './store';

/**
 * Write claims: mutual exclusion of the writers of one sensor's stretch of
 * time, in every process that writes the store (live partitions, a key that
 * moved to another partition, backfills, retried requests).
 *
 * The protocol only needs what one ClickHouse server gives: an INSERT that
 * returned is seen by every SELECT started after it. A writer
 * 1. inserts its claim rows (its spans, its name, a priority, an expiry),
 * 2. reads the live claims of its sensors, and goes on only when its own
 *    claim is there and no other live claim overlaps its spans.
 * Two writers that overlap cannot both go on: whichever inserted its claim
 * last read after the other's claim had returned, so it saw it. Seeing each
 * other, the younger one (higher priority number) withdraws and claims again
 * once the older one is gone; the older one waits while only younger claims
 * stand (they withdraw, or they did not see it and finish first).
 *
 * A writer that dies leaves its claim until it expires (server clock, so
 * every writer judges expiry alike); its own retries carry the same name and
 * are not held up by it. A claim without fencing: a write that outlives its
 * lease could overlap the next writer, so the lease is far longer than any
 * one store (seconds) and a claim is renewed while it waits.
 */

/** A sensor's stretch of time a write claims, [from, to) in epoch ms. */
export interface ClaimSpan {
  sensor: number;
  from: number;
  to: number;
}

/** Seconds a claim stands without being released. */
export const CLAIM_LEASE_S = 120;
const POLL_MS = 25;
const BACKOFF_MS = 200;

interface LiveClaim extends ClaimSpan {
  claim: string;
  priority: number;
  /** Seconds until it expires. */
  left: number;
}

type ClaimTuple = [sensor: number, from: JsonInt64, to: JsonInt64, claim: string, priority: JsonInt64, remaining: JsonInt64];

const NAME = /^[A-Za-z0-9_.:+-]{1,200}$/;

function checkName(name: string): string {
  if (!NAME.test(name)) throw new TypeError(`not a claim name: ${JSON.stringify(name)}`);
  return `'${name}'`;
}

async function claim(store: Store, name: string, priority: number, spans: readonly ClaimSpan[]): Promise<void> {
  const table = store.table(WRITE_CLAIM_TABLE.name);
  await store.insert(
    `INSERT INTO ${table}
     SELECT toUInt32(tupleElement(x, 1)), toInt64(tupleElement(x, 2)), toInt64(tupleElement(x, 3)), ${checkName(name)},
            toUInt64(${int(priority)}), toUInt32(toUInt32(now()) + ${int(CLAIM_LEASE_S)}), toInt8(1)
     FROM system.one ARRAY JOIN ${tupleArray(spans.map((s) => [s.sensor, s.from, s.to]))} AS x`,
    `claim-${name}-${randomUUID()}`,
  );
}

const sensorsIn = (sensors: readonly number[]) => `sensor IN (${sensors.map(int).join(', ')})`;

/** Claims of the sensors that stand: written more often than released, not expired. */
async function liveClaims(store: Store, sensors: readonly number[]): Promise<LiveClaim[]> {
  const { rows } = await store.queryWithStats<ClaimTuple>(
    `SELECT sensor, span_from, span_to, claim, priority, toInt64(expires) - toInt64(toUInt32(now())) AS remaining
     FROM ${store.table(WRITE_CLAIM_TABLE.name)} WHERE ${sensorsIn(sensors)}
     GROUP BY sensor, span_from, span_to, claim, priority, expires HAVING sum(sign) > 0 AND remaining > 0`,
  );
  return rows.map(([sensor, from, to, name, priority, left]) => ({
    sensor: Number(sensor),
    from: Number(from),
    to: Number(to),
    claim: name,
    priority: Number(priority),
    left: Number(left),
  }));
}

/** Cancels every live claim row of `name` on the sensors, and the expired ones of anyone (they are void already). */
async function release(store: Store, name: string, sensors: readonly number[]): Promise<void> {
  const table = store.table(WRITE_CLAIM_TABLE.name);
  const cols = 'sensor, span_from, span_to, claim, priority, expires';
  await store.insert(
    `INSERT INTO ${table} SELECT ${cols}, toInt8(-1) FROM (
       SELECT ${cols}, sum(sign) AS n FROM ${table}
       WHERE ${sensorsIn(sensors)} AND (claim = ${checkName(name)} OR expires <= toUInt32(now()))
       GROUP BY ${cols} HAVING n > 0
     ) ARRAY JOIN range(toUInt64(n)) AS copy`,
    `release-${name}-${randomUUID()}`,
  );
}

const overlaps = (c: ClaimSpan, spans: readonly ClaimSpan[]) => spans.some((s) => s.sensor === c.sensor && s.from < c.to && c.from < s.to);

/**
 * Runs `work` holding a claim on the spans ([from, to) per sensor) under the
 * write's name: no other writer's work on an overlapping span runs at the
 * same time. The claim is released after `work`, whichever way it ends.
 */
export async function holdingClaim<T>(store: Store, name: string, spans: readonly ClaimSpan[], work: () => Promise<T>): Promise<T> {
  if (spans.length === 0) return work();
  const sensors = [...new Set(spans.map((s) => s.sensor))];
  // Microseconds and a random tail: two writers practically never tie (a tie is broken by name).
  const priority = Date.now() * 1000 + Math.floor(Math.random() * 1000);
  const older = (c: LiveClaim) => c.priority < priority || (c.priority === priority && c.claim < name);
  await claim(store, name, priority, spans);
  try {
    for (;;) {
      const live = await liveClaims(store, sensors);
      const others = live.filter((c) => c.claim !== name && overlaps(c, spans));
      // Our claim must stand, with time to spare, in the very read that finds no other.
      const mine = live.some((c) => c.claim === name && c.priority === priority && c.left > CLAIM_LEASE_S / 2);
      if (!mine) await claim(store, name, priority, spans);
      else if (others.length === 0) break;
      else if (others.some(older)) {
        await release(store, name, sensors);
        await untilNoneOlder(store, sensors, spans, name, older);
        await claim(store, name, priority, spans);
      } else await sleep(POLL_MS);
    }
    return await work();
  } finally {
    // Should this fail (ClickHouse away), the claim expires; retries of this write are not held up by it.
    await release(store, name, sensors).catch(() => undefined);
  }
}

async function untilNoneOlder(
  store: Store,
  sensors: readonly number[],
  spans: readonly ClaimSpan[],
  name: string,
  older: (c: LiveClaim) => boolean,
): Promise<void> {
  for (;;) {
    await sleep(BACKOFF_MS);
    const live = await liveClaims(store, sensors);
    if (!live.some((c) => c.claim !== name && overlaps(c, spans) && older(c))) return;
  }
}
