// The write coalescer on the embedded engine (chdb): chunks of several
// partitions handed over within one interval become one write (one new part
// per table) whose ledger units all take one version chosen at write time
// (the highest its chunks planned, raised above every version the ledger holds
// for those units: issue 11 item 4), every point is stored once, a chunk sharing a sensor with a queued one waits for
// the next write, and a repeated chunk stores nothing new.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../../lib/config/config';
import { migrate } from '../../lib/clickhouse/migrate';
import { tableParts } from '../../lib/clickhouse/parts';
import { DAY_LEDGER_TABLE, RAW_TABLE, WINDOW_LEDGER_TABLE, WINDOW_MARK_TABLE } from '../../lib/clickhouse/schema';
import { singleShard, type Shards } from '../../lib/clickhouse/shards';
import type { Store } from '../../lib/clickhouse/store';
import { openStore } from '../../lib/clickhouse/store-open';
import type { StoreRequest } from '../../lib/ingest/store-points';
import { WriteCoalescer } from '../../lib/ingest/write-coalescer';
import { createLogger } from '../../lib/log/logger';
import { WINDOW_MS } from '../../lib/model/ladder';
import { allocatePoints } from '../../lib/model/points';
import { tempStateDir } from '../support/ingest-run';

const T0 = Date.UTC(2026, 0, 10, 12, 0, 0);
const INTERVAL_MS = 500;

let stateDir: string;
let store: Store;
let shards: Shards;

beforeAll(async () => {
  stateDir = tempStateDir('write-coalescer');
  store = await openStore(loadConfig({ ...process.env, HERODOTUS_STATE_DIR: stateDir }), { name: 'write-coalescer' });
  shards = singleShard(store);
  await migrate(shards);
});

afterAll(async () => {
  await store?.close();
  fs.rmSync(stateDir, { recursive: true, force: true });
});

/** A chunk of `sensors` × `n` points 1 ms apart from `from`, sorted by (sensor, ts). */
function chunk(name: string, version: number, sensors: number[], from: number, n: number): StoreRequest {
  const points = allocatePoints(sensors.length * n);
  for (const s of sensors) {
    for (let i = 0; i < n; i++) {
      const k = points.length++;
      points.sensor[k] = s;
      points.ts[k] = from + i;
      // By timestamp: two chunks holding the same (sensor, ts) hold the same value (a re-send, not a conflict).
      points.value[k] = s + ((from + i) % 1000) / 4;
    }
  }
  return { points, version, windowMs: WINDOW_MS, name };
}

const parts = async () => new Map((await tableParts(store)).map((t) => [t.table, t.insertedParts]));

async function newParts(before: Map<string, number>): Promise<Record<string, number>> {
  const after = await parts();
  const tables = [RAW_TABLE.name, WINDOW_LEDGER_TABLE.name, DAY_LEDGER_TABLE.name, WINDOW_MARK_TABLE.name];
  return Object.fromEntries(tables.map((t) => [t, (after.get(t) ?? 0) - (before.get(t) ?? 0)]));
}

const rawCount = async (sensors: number[]) =>
  Number(
    (await store.rows<{ n: string }>(`SELECT count() AS n FROM ${store.table(RAW_TABLE.name)} WHERE sensor IN (${sensors.join(',')})`))[0]!
      .n,
  );

const windowVersions = async (sensors: number[]) =>
  (
    await store.rows<{ sensor: number; p: string; i: string }>(
      `SELECT sensor, maxMerge(pending) AS p, maxMerge(ingested) AS i FROM ${store.table(WINDOW_LEDGER_TABLE.name)}
       WHERE sensor IN (${sensors.join(',')}) GROUP BY sensor ORDER BY sensor`,
    )
  ).map((r) => ({ sensor: Number(r.sensor), pending: Number(r.p), ingested: Number(r.i) }));

describe('write coalescer', () => {
  test("chunks of four partitions in one interval: one write, one new part per table, every unit at the write's version", async () => {
    const writer = new WriteCoalescer({ shards, intervalMs: INTERVAL_MS, maxPoints: 1_000_000, log: createLogger('test', 'warn') });
    const before = await parts();
    const chunks = [0, 1, 2, 3].map((p) => chunk(`p${p}-0-10`, 1000 + p, [10 + p * 2, 11 + p * 2], T0, 1000));
    const results = await Promise.all(chunks.map((c) => writer.store(c)));
    expect(results).toEqual(chunks.map(() => ({ inserted: 2000, alreadyStored: 0, conflicting: 0, replaced: 0, conflicts: [] })));
    expect(await newParts(before)).toEqual({
      [RAW_TABLE.name]: 1,
      // pending before raw, ingested after it
      [WINDOW_LEDGER_TABLE.name]: 2,
      [DAY_LEDGER_TABLE.name]: 2,
      [WINDOW_MARK_TABLE.name]: 1,
    });
    expect(await rawCount([10, 11, 12, 13, 14, 15, 16, 17])).toBe(8000);
    // The chunks planned 1000 to 1003 and the ledger held nothing: the write's version is 1003.
    expect(await windowVersions([10, 11, 12, 13, 14, 15, 16, 17])).toEqual(
      [10, 11, 12, 13, 14, 15, 16, 17].map((sensor) => ({ sensor, pending: 1003, ingested: 1003 })),
    );
  });

  test('a chunk sharing a sensor with a queued one waits for the next write; a repeated chunk stores nothing new', async () => {
    const writer = new WriteCoalescer({ shards, intervalMs: INTERVAL_MS, maxPoints: 1_000_000, log: createLogger('test', 'warn') });
    const before = await parts();
    const first = chunk('p0-10-20', 2000, [30, 31], T0, 500);
    // Overlaps the first on sensor 31 (its last 250 points are new): it must see the first one's points as stored.
    const second = chunk('p0-20-30', 2001, [31], T0 + 250, 500);
    const other = chunk('p1-10-20', 2002, [32], T0, 500);
    const [a, b, c] = await Promise.all([writer.store(first), writer.store(second), writer.store(other)]);
    expect([a, b, c]).toEqual([
      { inserted: 1000, alreadyStored: 0, conflicting: 0, replaced: 0, conflicts: [] },
      { inserted: 250, alreadyStored: 250, conflicting: 0, replaced: 0, conflicts: [] },
      { inserted: 500, alreadyStored: 0, conflicting: 0, replaced: 0, conflicts: [] },
    ]);
    expect((await newParts(before))[RAW_TABLE.name]).toBe(2);
    expect(await rawCount([30, 31, 32])).toBe(1750);
    const again = await writer.store(chunk('p0-10-20', 2000, [30, 31], T0, 500));
    expect(again).toEqual({ inserted: 0, alreadyStored: 1000, conflicting: 0, replaced: 0, conflicts: [] });
    expect(await rawCount([30, 31, 32])).toBe(1750);
    // First write (first + other, planned 2000 and 2002): 2002. Second (planned 2001, over
    // sensor 31's 2002): 2003. The repeat (planned 2000, over 30 and 31 at up to 2003): 2004,
    // its ledger stages written although no point was new.
    expect(await windowVersions([30, 31, 32])).toEqual([
      { sensor: 30, pending: 2004, ingested: 2004 },
      { sensor: 31, pending: 2004, ingested: 2004 },
      { sensor: 32, pending: 2002, ingested: 2002 },
    ]);
  });
});
