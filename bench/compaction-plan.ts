/**
 * Compaction planning benchmark: the cost of one planning round on a month
 * of ledger, before (every window of every unclean day: the planner of main
 * up to 2d8f751, now the sweep's safety net) and after (the dirty marks), in
 * one run.
 *
 * Builds, in a fresh embedded store and through the ledger's own writer
 * (recordStage), the window and day ledger of --sensors × --days as a
 * month-old store has it: every day but today compacted and settled, today
 * compacted up to the previous window, no live mark left by that history,
 * merged (OPTIMIZE FINAL). Then a small dirty set lands as ingest writes it:
 * five chunks into every sensor's current (and previous) window, late chunks
 * into compacted windows of today's last six hours, and a backfill of 20
 * sensors × 6 hours into the day 20 days ago. Once background merges are
 * done it times each planner's round (five new, three old) with ClickHouse's
 * own read statistics, the process's CPU (every thread: chdb runs inside it)
 * and peak RSS, checks that both plan the same groups, and times one
 * settling step and one sweep. No raw points but one per sensor (the
 * watermark the planner reads).
 *
 * The last line of stdout is one JSON object (progress on stderr).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { Rng } from '../generator/rng';
import { parseOptions } from '../lib/config/args';
import { loadConfig } from '../lib/config/config';
import { recordStage, type UnitVersion } from '../lib/clickhouse/ledger';
import { latestMarks } from '../lib/clickhouse/marks';
import { migrate } from '../lib/clickhouse/migrate';
import { DAY_LEDGER_TABLE, DAY_MARK_TABLE, WINDOW_LEDGER_TABLE, WINDOW_MARK_TABLE } from '../lib/clickhouse/schema';
import { singleShard } from '../lib/clickhouse/shards';
import type { Store } from '../lib/clickhouse/store';
import { openStore } from '../lib/clickhouse/store-open';
import { allocatePoints } from '../lib/model/points';
import { makeLadder, MS } from '../lib/model/ladder';
import { planCompaction, settleDays, sweepLedger, type CompactionGroup, type CompactionPolicy } from '../lib/rollup/compactor';
import { CountingStore, measured, oldPlanningRound, type Measured } from './compaction-plan-measure';
import { machineInfo } from './process-stats';

const HELP = `usage: herodotus bench-compaction-plan [--sensors 1000] [--days 30] [--keep]

Builds a ledger of --sensors × --days in a fresh embedded store (ledger rows
only), lands a small dirty set (ingest chunks into the current windows, late
data, a backfill into an old day) and times one compaction planning round the
old way (every window of every unclean day) and the new way (the dirty marks):
milliseconds, rows read, CPU and RSS. The last line of stdout is one JSON object.
--keep leaves the state directory.`;

const schema = z.object({
  sensors: z.coerce.number().int().min(1).max(10_000).default(1000),
  days: z.coerce.number().int().min(2).max(400).default(30),
  keep: z.boolean().default(false),
});

const log = (line: string) => process.stderr.write(`bench-compaction-plan: ${line}\n`);
const TARGET_MS = 50;
const policy: CompactionPolicy = { ladder: makeLadder(), graceMs: 2000, idleMs: 10_000 };
const W = policy.ladder.windowMs;

interface Clock {
  /** Start of today (UTC), epoch ms. */
  today: number;
  /** Start of the current window. */
  current: number;
  version: number;
}

const next = (clock: Clock) => (clock.version += 1000);

/** Every sensor's windows in [from, to), sensor by sensor (so each sensor's run is one literal). */
function windowsOf(sensors: number, from: number, to: number, version: number): UnitVersion[] {
  const out: UnitVersion[] = [];
  for (let s = 1; s <= sensors; s++) for (let w = from; w < to; w += W) out.push({ sensor: s, start: w, version });
  return out;
}

const daysOf = (sensors: number, day: number, version: number) =>
  Array.from({ length: sensors }, (_, i) => ({ sensor: i + 1, start: day, version }));

/**
 * One day of history as ingest and compaction left it: pending, ingested and
 * compacted at one version, with no live mark (compaction cancelled them).
 */
async function historyDay(store: Store, sensors: number, day: number, to: number, clock: Clock, settled: boolean) {
  const v = next(clock);
  const windows = windowsOf(sensors, day, to, v);
  const days = daysOf(sensors, day, v);
  // All three stages in one write leave nothing to mark; today's day stays unclean (ingest goes on).
  await recordStage(store, ['pending', 'ingested', 'compacted'], windows, settled ? days : [], `h-${day}`);
  if (!settled) await recordStage(store, ['pending', 'ingested'], [], days, `h-${day}-day`);
}

async function buildHistory(store: Store, sensors: number, days: number, clock: Clock): Promise<number> {
  const t0 = performance.now();
  for (let d = days - 1; d >= 1; d--) {
    await historyDay(store, sensors, clock.today - d * MS.day, clock.today - d * MS.day + MS.day, clock, true);
    log(`history: day -${d} written (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  }
  // Today up to the window before the previous one: compacted; the rest is hot.
  await historyDay(store, sensors, clock.today, clock.current - W, clock, false);
  // What background merges do to a month-old store: one part per table.
  for (const t of [WINDOW_LEDGER_TABLE, DAY_LEDGER_TABLE, WINDOW_MARK_TABLE, DAY_MARK_TABLE]) {
    await store.client.command({ query: `OPTIMIZE TABLE ${store.table(t.name)} FINAL` });
  }
  return (performance.now() - t0) / 1000;
}

/** One write as storePoints records it: pending before the (here absent) raw insert, ingested after. */
async function ingestWrite(store: Store, windows: UnitVersion[], days: UnitVersion[], name: string) {
  await recordStage(store, 'pending', windows, days, `${name}-pending`);
  await recordStage(store, 'ingested', windows, days, `${name}-ingested`);
}

/** The dirty set: hot chunks, late chunks, a backfill into an old day; the windows it made dirty. */
async function landDirtySet(store: Store, sensors: number, clock: Clock): Promise<{ windows: number; writes: number }> {
  let writes = 0;
  const dirty = new Set<string>();
  const write = async (windows: UnitVersion[], days: UnitVersion[]) => {
    await ingestWrite(store, windows, days, `d${writes++}`);
    for (const w of windows) dirty.add(`${w.sensor}:${w.start}`);
  };
  // Five ingest chunks since the last round: the first two still reach into the previous window.
  for (let c = 0; c < 5; c++) {
    const v = next(clock);
    const windows = windowsOf(sensors, c < 2 ? clock.current - W : clock.current, clock.current + W, v);
    await write(windows, daysOf(sensors, clock.today, v));
  }
  // Late data: 20 chunks of 10 compacted windows of today's last six hours, on random sensors.
  const rng = new Rng(7);
  const earliest = Math.max(clock.today, clock.current - 6 * MS.hour);
  for (let c = 0; c < 20; c++) {
    const v = next(clock);
    const windows = Array.from({ length: 10 }, () => ({
      sensor: 1 + rng.int(sensors),
      start: earliest + rng.int(Math.max(1, (clock.current - 2 * W - earliest) / W)) * W,
      version: v,
    }));
    await write(windows, [...new Map(windows.map((w) => [w.sensor, { sensor: w.sensor, start: clock.today, version: v }])).values()]);
  }
  // A backfill of 20 sensors × 6 hours into the day 20 days ago, an hour per chunk.
  const old = clock.today - 20 * MS.day;
  for (let h = 0; h < 6; h++) {
    const v = next(clock);
    const windows = windowsOf(Math.min(sensors, 20), old + h * MS.hour, old + (h + 1) * MS.hour, v);
    await write(windows, daysOf(Math.min(sensors, 20), old, v));
  }
  // The watermark the planner reads: each sensor's last point, a second ago.
  const points = allocatePoints(sensors);
  for (let s = 1; s <= sensors; s++) {
    const i = points.length++;
    points.sensor[i] = s;
    points.ts[i] = Date.now() - 1000;
    points.value[i] = 0;
  }
  await store.insertPoints(points, 'bench-watermark');
  return { windows: dirty.size, writes };
}

/** Waits (up to a minute) for the background merges of the writes above, so that a round is timed alone. */
async function mergesDone(store: Store): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const [r] = await store.rows<{ n: string }>('SELECT count() AS n FROM system.merges');
    if (Number(r!.n) === 0) return;
    await sleep(100);
  }
}

const groupKeys = (groups: CompactionGroup[]) => groups.flatMap((g) => g.sensors.map((s) => `${g.from}:${s}`)).sort();

async function count(store: Store, table: string): Promise<number> {
  const [r] = await store.rows<{ n: string }>(`SELECT count() AS n FROM ${store.table(table)}`);
  return Number(r!.n);
}

/** Each planner's round five times (new) and three times (old) (the new first: the old one's garbage and caches are not its), then settling and the sweep. */
async function rounds(counting: CountingStore, now: number) {
  const shards = singleShard(counting);
  const fresh: Measured<CompactionGroup[]>[] = [];
  const old: Measured<CompactionGroup[]>[] = [];
  for (let i = 0; i < 5; i++) fresh.push(await measured(counting, () => planCompaction(shards, policy, now, 1000)));
  for (let i = 0; i < 3; i++) old.push(await measured(counting, () => oldPlanningRound(counting, policy, now)));
  const settle = await measured(counting, () => settleDays(shards));
  const sweep = await measured(counting, () => sweepLedger(shards));
  return { old, new: fresh, settle, sweep };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const summary = ({ result: _, ...m }: Measured<unknown>) => m;

export async function benchCompactionPlan(argv: string[]): Promise<number> {
  const args = parseOptions(argv, { sensors: { type: 'string' }, days: { type: 'string' }, keep: { type: 'boolean' } }, schema, HELP);
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'herodotus-bench-compaction-plan-'));
  const store = await openStore(loadConfig({ ...process.env, HERODOTUS_STATE_DIR: stateDir }), { name: 'bench-compaction-plan' });
  try {
    await migrate(singleShard(store));
    const now = Date.now();
    const clock: Clock = { today: Math.floor(now / MS.day) * MS.day, current: Math.floor(now / W) * W, version: now * 1000 - 10 ** 12 };
    log(`building ${args.sensors} sensors × ${args.days} days of ledger in ${stateDir}…`);
    const buildS = await buildHistory(store, args.sensors, args.days, clock);
    const dirty = await landDirtySet(store, args.sensors, clock);
    const markRows = { window: await count(store, WINDOW_MARK_TABLE.name), day: await count(store, DAY_MARK_TABLE.name) };
    log(`ledger built in ${buildS.toFixed(0)} s; ${dirty.windows} dirty windows; measuring…`);
    await mergesDone(store);
    const loadBefore = Math.round(os.loadavg()[0]! * 100) / 100;
    const r = await rounds(new CountingStore(store), Date.now());
    const same = JSON.stringify(groupKeys(r.old[0]!.result)) === JSON.stringify(groupKeys(r.new[0]!.result));
    const newMs = median(r.new.map((m) => m.ms));
    const result = {
      bench: 'compaction-plan',
      machine: { ...machineInfo(), load_avg_1m: { before: loadBefore, after: Math.round(os.loadavg()[0]! * 100) / 100 } },
      data: {
        sensors: args.sensors,
        days: args.days,
        window_ledger_rows: await count(store, WINDOW_LEDGER_TABLE.name),
        day_ledger_rows: await count(store, DAY_LEDGER_TABLE.name),
        dirty_windows: dirty.windows,
        dirty_writes: dirty.writes,
        mark_rows_before_round: markRows,
        marked_windows_after_rounds: (await latestMarks(store, 'window')).length,
        build_seconds: Math.round(buildS),
      },
      old_round: { median_ms: median(r.old.map((m) => m.ms)), runs: r.old.map(summary) },
      new_round: { median_ms: newMs, runs: r.new.map(summary) },
      rows_read_note:
        'ClickHouse read statistics of the SELECTs; settling runs INSERT … SELECT cancels over the mark tables, whose reads chdb does not report',
      settle_days: summary(r.settle),
      sweep: { ...summary(r.sweep), result: r.sweep.result },
      groups_planned: r.new[0]!.result.length,
      same_groups_as_old: same,
      target: `one planning round <= ${TARGET_MS} ms (median of 5), memory bounded`,
      pass: same && newMs <= TARGET_MS,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return result.pass ? 0 : 1;
  } finally {
    await store.close();
    if (!args.keep) fs.rmSync(stateDir, { recursive: true, force: true });
  }
}
