// Compaction planning from the dirty marks, on the embedded engine (chdb):
// after every kind of write (fresh data, late data into a compacted window,
// a backfill into an old day, repeated writes to one window) the windows the
// planner finds are exactly the ledger's dirty windows; compaction and
// settling leave no mark behind; the sweep puts back a lost mark; and a state
// from before the marks gets them from its ledger when migrated.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../../lib/config/config';
import { recordStage } from '../../lib/clickhouse/ledger';
import { cancelUpTo, latestMarks } from '../../lib/clickhouse/marks';
import { migrate } from '../../lib/clickhouse/migrate';
import { DAY_LEDGER_TABLE, DAY_MARK_TABLE, WINDOW_LEDGER_TABLE, WINDOW_MARK_TABLE } from '../../lib/clickhouse/schema';
import { singleShard, type Shards } from '../../lib/clickhouse/shards';
import type { Store } from '../../lib/clickhouse/store';
import { openStore } from '../../lib/clickhouse/store-open';
import { storePoints } from '../../lib/ingest/store-points';
import { makeLadder, MS } from '../../lib/model/ladder';
import { allocatePoints } from '../../lib/model/points';
import {
  compactGroup,
  compactionBacklog,
  planCompaction,
  settleDays,
  sweepLedger,
  type CompactionPolicy,
} from '../../lib/rollup/compactor';
import { tempStateDir } from '../support/ingest-run';

const T0 = Date.UTC(2026, 0, 10, 12, 0, 0);
const SENSORS = [1, 2, 3];
const policy: CompactionPolicy = { ladder: makeLadder(), graceMs: 2000, idleMs: 10_000 };
/** Past every window's idle time: the planner's clock in these tests. */
const later = () => Date.now() + 60_000;

let stateDir: string;
let store: Store;
let shards: Shards;
let version = 1_000_000;
let writes = 0;

/** Points of `sensor` at `ts`, stored through the one write path (raw, ledger, marks). */
async function write(sensor: number, ts: number[]): Promise<void> {
  const points = allocatePoints(ts.length);
  for (const [i, t] of ts.entries()) {
    points.sensor[i] = sensor;
    points.ts[i] = t;
    points.value[i] = (t % 1000) / 8;
  }
  points.length = ts.length;
  await storePoints(store, { points, version: (version += 1000), windowMs: policy.ladder.windowMs, name: `w${writes++}` });
}

const every = (from: number, to: number, stepMs: number) =>
  Array.from({ length: Math.ceil((to - from) / stepMs) }, (_, i) => from + i * stepMs);

type Unit = { sensor: number; start: number };
const key = (u: Unit) => `${u.sensor}:${u.start}`;
const sorted = (units: Unit[]) => units.map(key).sort();

/** The ledger read in full: windows and days with ingested > compacted, and days not clean. */
async function ledger(): Promise<{ dirtyWindows: Unit[]; dirtyDays: Unit[]; uncleanDays: Unit[] }> {
  const read = (table: string, col: string) =>
    store.rows<{ sensor: number; start: string; p: string; i: string; c: string }>(
      `SELECT sensor, ${col} AS start, maxMerge(pending) AS p, maxMerge(ingested) AS i, maxMerge(compacted) AS c
       FROM ${store.table(table)} GROUP BY sensor, ${col}`,
    );
  const unit = (r: { sensor: number; start: string }) => ({ sensor: Number(r.sensor), start: Number(r.start) });
  const windows = await read(WINDOW_LEDGER_TABLE.name, 'window');
  const days = await read(DAY_LEDGER_TABLE.name, 'day');
  return {
    dirtyWindows: windows.filter((r) => Number(r.i) > Number(r.c)).map(unit),
    dirtyDays: days.filter((r) => Number(r.i) > Number(r.c)).map(unit),
    uncleanDays: days.filter((r) => Number(r.p) > Number(r.c)).map(unit),
  };
}

const markedWindows = () => latestMarks(store, 'window');

/** What the planner would hand to compaction, window by window: every marked window whose (hour, sensor) it plans. */
async function plannedWindows(): Promise<Unit[]> {
  const groups = await planCompaction(shards, policy, later(), 1000);
  const planned = new Set(groups.flatMap((g) => g.sensors.map((s) => `${s}:${g.from}`)));
  return (await markedWindows()).filter((w) => planned.has(`${w.sensor}:${Math.floor(w.start / MS.hour) * MS.hour}`));
}

/** Compactor rounds until a round plans nothing; the windows compacted. */
async function compactAll(): Promise<number> {
  let total = 0;
  for (let round = 0; round < 10; round++) {
    const groups = await planCompaction(shards, policy, later(), 1000);
    for (const g of groups) total += (await compactGroup(shards, policy, g, later())).windows;
    await settleDays(shards);
    if (groups.length === 0) return total;
  }
  throw new Error('compaction did not settle in 10 rounds');
}

/** Everything compacted and settled leaves no live mark and a clean ledger. */
async function expectSettled(): Promise<void> {
  const l = await ledger();
  expect(l.dirtyWindows).toEqual([]);
  expect(l.uncleanDays).toEqual([]);
  expect(await latestMarks(store, 'window')).toEqual([]);
  expect(await latestMarks(store, 'day')).toEqual([]);
  expect(await compactionBacklog(shards)).toBe(0);
}

beforeAll(async () => {
  stateDir = tempStateDir('compaction-plan');
  store = await openStore(loadConfig({ ...process.env, HERODOTUS_STATE_DIR: stateDir }), { name: 'compaction-plan' });
  shards = singleShard(store);
  await migrate(shards);
});

afterAll(async () => {
  await store?.close();
  fs.rmSync(stateDir, { recursive: true, force: true });
});

describe('compaction planning from dirty marks', () => {
  test('fresh data: the planner finds exactly the dirty windows; compaction leaves no mark', async () => {
    for (const s of SENSORS) await write(s, every(T0, T0 + 10 * MS.minute, 1000));
    const l = await ledger();
    expect(l.dirtyWindows).toHaveLength(SENSORS.length * 10);
    expect(sorted(await markedWindows())).toEqual(sorted(l.dirtyWindows));
    expect(sorted(await plannedWindows())).toEqual(sorted(l.dirtyWindows));
    expect(await compactionBacklog(shards)).toBe(30);
    expect(await compactAll()).toBe(30);
    await expectSettled();
  });

  test('late data into a compacted window: that window only, then clean again', async () => {
    const window = T0 + 5 * MS.minute;
    await write(2, every(window + 500, window + 10_000, 1000));
    const l = await ledger();
    expect(l.dirtyWindows).toEqual([{ sensor: 2, start: window }]);
    expect(sorted(await plannedWindows())).toEqual(sorted(l.dirtyWindows));
    expect(await compactAll()).toBe(1);
    await expectSettled();
  });

  test('repeated writes to one window keep one live mark after a compactor round', async () => {
    const window = T0 + 10 * MS.minute;
    for (let k = 0; k < 5; k++) await write(1, every(window + k * 10_000, window + (k + 1) * 10_000, 1000));
    expect((await markedWindows()).map((m) => [m.sensor, m.start, m.version, m.count])).toEqual([[1, window, version, 5]]);
    expect(sorted(await plannedWindows())).toEqual([key({ sensor: 1, start: window })]);
    // Planning only reads; the round's settling cancels the marks below the latest.
    await settleDays(shards);
    expect((await markedWindows()).map((m) => [m.sensor, m.start, m.version, m.count])).toEqual([[1, window, version, 1]]);
    expect(await compactAll()).toBe(1);
    await expectSettled();
  });

  test('backfill into old days: exactly those windows and days, and the old days settle', async () => {
    const old = T0 - 20 * MS.day;
    await write(3, [...every(old, old + 2 * MS.minute, 2000), ...every(old + MS.day, old + MS.day + 30_000, 1000)]);
    const l = await ledger();
    const want = [
      { sensor: 3, start: old },
      { sensor: 3, start: old + MS.minute },
      { sensor: 3, start: old + MS.day },
    ];
    expect(sorted(l.dirtyWindows)).toEqual(sorted(want));
    expect(sorted(await plannedWindows())).toEqual(sorted(want));
    expect(sorted(await latestMarks(store, 'day'))).toEqual(sorted(l.dirtyDays));
    expect(l.dirtyDays).toHaveLength(2);
    expect(await compactAll()).toBe(3);
    await expectSettled();
  });

  test('the sweep finds a dirty window whose mark was lost and marks it, then its day once the window is clean', async () => {
    const window = T0 + 3 * MS.minute;
    await write(1, [window + 777]);
    // A writer that died between its ledger rows and its marks (or a replica that lost them).
    await cancelUpTo(store, 'window', await latestMarks(store, 'window'));
    await cancelUpTo(store, 'day', await latestMarks(store, 'day'));
    expect(await plannedWindows()).toEqual([]);
    expect(await sweepLedger(shards)).toEqual({ backlog: 1, repaired: { windows: 1, days: 0 } });
    expect(sorted(await plannedWindows())).toEqual([key({ sensor: 1, start: window })]);
    expect(await sweepLedger(shards)).toEqual({ backlog: 1, repaired: { windows: 0, days: 0 } });
    expect(await compactAll()).toBe(1);
    // The window is clean; its day has data to settle and no mark: the next sweep marks it.
    expect((await ledger()).uncleanDays).toEqual([{ sensor: 1, start: Math.floor(window / MS.day) * MS.day }]);
    expect(await sweepLedger(shards)).toEqual({ backlog: 0, repaired: { windows: 0, days: 1 } });
    expect(await compactAll()).toBe(0);
    await expectSettled();
  });

  test('a state from before the marks gets them from its ledger when migrated', async () => {
    const window = T0 + 7 * MS.minute;
    await write(2, [window + 3]);
    await write(3, [T0 - 5 * MS.day]);
    // Ledger rows an older version wrote, without marks: pending only (in flight), and ingested.
    const v = (version += 1000);
    await recordStage(
      store,
      'pending',
      [{ sensor: 1, start: window, version: v }],
      [{ sensor: 1, start: Math.floor(window / MS.day) * MS.day, version: v }],
      'old-p',
    );
    for (const t of [WINDOW_MARK_TABLE.name, DAY_MARK_TABLE.name]) await store.client.command({ query: `DROP TABLE ${store.table(t)}` });
    await migrate(shards);
    const l = await ledger();
    expect(l.dirtyWindows).toHaveLength(2);
    expect(sorted(await markedWindows())).toEqual(sorted(l.dirtyWindows));
    // Their days wait for their windows (a day with an unclean window cannot settle).
    expect(await latestMarks(store, 'day')).toEqual([]);
    expect(await compactAll()).toBe(2);
    expect(await sweepLedger(shards)).toEqual({ backlog: 1, repaired: { windows: 0, days: 2 } });
    expect(await compactAll()).toBe(0);
    // The window pending only stays unclean (its writer may still commit) and keeps its day unclean.
    const after = await ledger();
    expect(after.dirtyWindows).toEqual([]);
    expect(after.uncleanDays).toEqual([{ sensor: 1, start: Math.floor(window / MS.day) * MS.day }]);
    expect(await latestMarks(store, 'window')).toEqual([]);
  });
});
