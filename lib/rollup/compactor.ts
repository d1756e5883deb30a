import {
  dayLedgerIn,
  isClean,
  recordStage,
  repairMarks,
  versionAbove,
  windowLedger,
  type LedgerRow,
  type UnitVersion,
} from '../clickhouse/ledger';
import { holdingClaim } from '../clickhouse/claims';
import { cancelCovered, cancelSuperseded, cancelUpTo, completeMarked, latestMarks, markKey } from '../clickhouse/marks';
import { sensorExtents } from '../clickhouse/raw';
import { writeCoarseLevels, writeFineLevels } from '../clickhouse/rollup';
import { bySensorShard, onEveryPart, onReachableShards, type Shards } from '../clickhouse/shards';
import type { Store } from '../clickhouse/store';
import { unitRanges } from '../clickhouse/units';
import { MS, type Ladder } from '../model/ladder';

export interface CompactionPolicy {
  ladder: Ladder;
  /** A window is complete once its sensor has data this far past its end… */
  graceMs: number;
  /** …or once nothing was written into it for this long (wall clock). */
  idleMs: number;
}

/** Windows of one time range to compact, for many sensors. */
export interface CompactionGroup {
  from: number;
  to: number;
  sensors: number[];
}

const dirty = (w: LedgerRow) => w.ingested > w.compacted;

/**
 * Late windows are complete at once, the newest after the grace period or
 * once idle. Planning applies the same test in SQL to the marks
 * (completeMarked in lib/clickhouse/marks.ts).
 */
function complete(policy: CompactionPolicy, watermark: number | undefined, start: number, touched: number, now: number): boolean {
  return (
    start + policy.ladder.windowMs + policy.graceMs <= (watermark ?? Number.NEGATIVE_INFINITY) || touched * 1000 <= now - policy.idleMs
  );
}

/** Dirty windows that are complete, by the ledger (the exact test, when compacting). */
async function compactable(store: Store, policy: CompactionPolicy, windows: LedgerRow[], now: number): Promise<LedgerRow[]> {
  const candidates = windows.filter(dirty);
  if (candidates.length === 0) return [];
  // Between the ledger read and the raw read: every raw part behind a version just read was
  // acknowledged before it, so the rollups cover it whatever order a replica fetched them in.
  await store.awaitCaughtUp();
  const extents = await sensorExtents(store, [...new Set(candidates.map((w) => w.sensor))]);
  return candidates.filter((w) => complete(policy, extents.get(w.sensor)?.last, w.start, w.touched, now));
}

/** Compactable windows are grouped by the hour they fall in: one group is one child workflow. */
const GROUP_MS = MS.hour;

/**
 * Groups of marked windows that look complete, oldest first, over the shards
 * that answer: one read of the marks per shard (about a row per dirty
 * window), never the history, and nothing written. A superset of what
 * compactGroup will compact: it tests each window again on the ledger,
 * which stays the truth, with the same completeness test.
 */
export async function planCompaction(shards: Shards, policy: CompactionPolicy, now: number, maxGroups: number): Promise<CompactionGroup[]> {
  const rule = { windowMs: policy.ladder.windowMs, graceMs: policy.graceMs, idleBefore: Math.floor((now - policy.idleMs) / 1000) };
  const ready = (await onReachableShards(shards, (store) => completeMarked(store, GROUP_MS, rule))).flat();
  const byGroup = new Map<number, Set<number>>();
  for (const { from, sensor } of ready) {
    let set = byGroup.get(from);
    if (!set) byGroup.set(from, (set = new Set()));
    set.add(sensor);
  }
  return [...byGroup.keys()]
    .sort((a, b) => a - b)
    .slice(0, maxGroups)
    .map((from) => ({ from, to: from + GROUP_MS, sensors: [...byGroup.get(from)!].sort((a, b) => a - b) }));
}

/** (sensor, window) units per compaction statement. */
const UNITS_PER_STATEMENT = 1000;

export interface CompactionStats {
  windows: number;
  sensors: number;
}

/**
 * Compacts the complete dirty windows of a group: fine levels from raw, the
 * coarse buckets above them, then the ledger mark. Each window is covered at
 * the version that had committed when it was read, so data that lands while
 * this runs leaves the window dirty for the next round.
 */
export async function compactGroup(
  shards: Shards,
  policy: CompactionPolicy,
  group: CompactionGroup,
  now: number,
): Promise<CompactionStats> {
  const parts = bySensorShard(shards, group.sensors, (sensor) => sensor);
  const stats = await onEveryPart(parts, (p) => compactOnShard(p.store, policy, { ...group, sensors: p.items }, now));
  return stats.reduce((a, s) => ({ windows: a.windows + s.windows, sensors: a.sensors + s.sensors }), { windows: 0, sensors: 0 });
}

async function compactOnShard(store: Store, policy: CompactionPolicy, group: CompactionGroup, now: number): Promise<CompactionStats> {
  const windows = await windowLedger(
    store,
    group.sensors.map((sensor) => ({ sensor, from: group.from, to: group.to })),
  );
  const ready = await compactable(store, policy, windows, now);
  const units: UnitVersion[] = ready.map((w) => ({ sensor: w.sensor, start: w.start, version: w.ingested }));
  const sensors = await writeRollups(store, policy, group, units);
  await cancelCompacted(store, group, windows, units);
  return { windows: units.length, sensors };
}

/**
 * After the ledger mark: cancels the marks of the group's windows that are
 * compacted at or past their latest mark, as read before this compaction or
 * by it (a window planned but found clean included, so it is planned once).
 * A mark of data that landed meanwhile (a higher version) stays. The
 * versions come from the rows read above: no second read of the ledger.
 */
async function cancelCompacted(store: Store, group: CompactionGroup, windows: LedgerRow[], compacted: UnitVersion[]) {
  const bound = new Map(windows.map((w) => [markKey(w), w.compacted]));
  for (const u of compacted) bound.set(markKey(u), Math.max(bound.get(markKey(u)) ?? 0, u.version));
  const marked = await latestMarks(
    store,
    'window',
    group.sensors.map((sensor) => ({ sensor, from: group.from, to: group.to })),
  );
  await cancelUpTo(
    store,
    'window',
    marked.filter((m) => m.version <= (bound.get(markKey(m)) ?? -1)),
  );
}

/** Rollups of the units from raw at every level, then their ledger mark; the number of sensors. */
async function writeRollups(store: Store, policy: CompactionPolicy, group: CompactionGroup, units: UnitVersion[]): Promise<number> {
  // Slices of whole sensors keep statements small; a sensor's coarse buckets are rewritten after all its windows.
  const bySensor = new Map<number, UnitVersion[]>();
  for (const u of units) bySensor.set(u.sensor, [...(bySensor.get(u.sensor) ?? []), u]);
  let slice: UnitVersion[] = [];
  const flush = async () => {
    if (slice.length === 0) return;
    const token = `compact-${group.from}-${slice[0]!.sensor}-${slice.reduce((m, u) => Math.max(m, u.version), 0)}-${slice.length}`;
    await writeFineLevels(store, policy.ladder, slice, `${token}-fine`);
    await writeCoarseLevels(store, policy.ladder, slice, `${token}-coarse`);
    await recordStage(store, 'compacted', slice, [], `${token}-mark`);
    slice = [];
  };
  for (const list of bySensor.values()) {
    if (slice.length + list.length > UNITS_PER_STATEMENT) await flush();
    slice.push(...list);
  }
  await flush();
  return bySensor.size;
}

/**
 * Marks days clean whose windows are all clean, at the day's pending version
 * read before its windows were: a window written later keeps the day dirty.
 * Shards that do not answer settle on a later round.
 */
export async function settleDays(shards: Shards): Promise<number> {
  return (await onReachableShards(shards, settleDaysOn)).reduce((a, n) => a + n, 0);
}

const dayOf = (t: number) => Math.floor(t / MS.day) * MS.day;

/**
 * Candidate days come from the day marks, minus days with a window still
 * marked (today, whose newest window is always in its grace period): those
 * cannot settle, and skipping them reads none of their windows. The rest are
 * checked on the ledger, every window, as before.
 */
async function settleDaysOn(store: Store): Promise<number> {
  const windowMarks = await latestMarks(store, 'window');
  const dayMarks = await latestMarks(store, 'day');
  // The round's housekeeping: marks below their unit's latest go (planning
  // only reads). Cancelling leaves each unit's latest, so the marks just
  // read stay right; a kind whose every unit has one live mark has nothing
  // to cancel, and an idle store's round writes nothing (each cancel is an
  // INSERT … SELECT over the marks: the bulk of an idle round's cost).
  if (windowMarks.some((m) => m.count > 1)) await cancelSuperseded(store, 'window');
  if (dayMarks.some((m) => m.count > 1)) await cancelSuperseded(store, 'day');
  const busy = new Set(windowMarks.map((w) => markKey({ sensor: w.sensor, start: dayOf(w.start) })));
  const marked = dayMarks.filter((m) => !busy.has(markKey(m)));
  if (marked.length === 0) return 0;
  const ranges = unitRanges(marked, MS.day);
  const candidates = (await dayLedgerIn(store, ranges)).filter((d) => !isClean(d));
  // A day's windows are written before its row: once caught up, the windows read next
  // include every window behind the day versions just read.
  await store.awaitCaughtUp();
  const windows = await windowLedger(
    store,
    candidates.map((d) => ({ sensor: d.sensor, from: d.start, to: d.start + MS.day })),
  );
  const unclean = new Set(windows.filter((w) => !isClean(w)).map((w) => markKey({ sensor: w.sensor, start: dayOf(w.start) })));
  const settled = candidates.filter((d) => !unclean.has(markKey(d)));
  await recordStage(
    store,
    'compacted',
    [],
    settled.map((d) => ({ sensor: d.sensor, start: d.start, version: d.pending })),
    `settle-${candidates.length}-${settled.reduce((m, d) => Math.max(m, d.pending), 0)}`,
  );
  // Every day looked up is done with the marks seen: clean (their ledger
  // covers them), or unclean only through windows with no mark, which a new
  // write (it marks the day again) or the sweep's repair must change first.
  await cancelCovered(store, 'day', ranges);
  await cancelUpTo(
    store,
    'day',
    marked.filter((m) => unclean.has(markKey(m))),
  );
  return settled.length;
}

/** Windows waiting for compaction on the shards that answer, by their marks: what /metrics reports. */
export async function compactionBacklog(shards: Shards): Promise<number> {
  const counts = await onReachableShards(shards, async (store) => (await latestMarks(store, 'window')).length);
  return counts.reduce((a, n) => a + n, 0);
}

export interface SweepResult {
  /** Windows not clean, counted on the ledger itself. */
  backlog: number;
  /** Windows and days that had data to compact but no mark, marked now (0 unless a writer died between the two). */
  repaired: { windows: number; days: number };
}

/** The safety net, run by the sweep: the ledger read in full on every shard that answers, and lost marks put back. */
export async function sweepLedger(shards: Shards): Promise<SweepResult> {
  const sweeps = await onReachableShards(shards, repairMarks);
  return sweeps.reduce<SweepResult>(
    (a, s) => ({
      backlog: a.backlog + s.uncleanWindows.length,
      repaired: { windows: a.repaired.windows + s.repaired.windows, days: a.repaired.days + s.repaired.days },
    }),
    { backlog: 0, repaired: { windows: 0, days: 0 } },
  );
}

/**
 * Makes the windows of a sensor range dirty again (a new ingest version for
 * windows that hold data), so compaction rewrites their rollups.
 */
export async function reopenWindows(
  shards: Shards,
  sensors: number[],
  from: number,
  to: number,
  version: number,
  windowMs: number,
): Promise<number> {
  const parts = bySensorShard(shards, sensors, (sensor) => sensor);
  const counts = await onEveryPart(parts, (p) => reopenOnShard(p.store, p.items, from, to, version, windowMs));
  return counts.reduce((a, n) => a + n, 0);
}

async function reopenOnShard(
  store: Store,
  sensors: number[],
  from: number,
  to: number,
  planned: number,
  windowMs: number,
): Promise<number> {
  const start = Math.floor(from / windowMs) * windowMs;
  const spans = sensors.map((sensor) => ({ sensor, from: start, to }));
  // A writer like any other (claims.ts): its version is chosen under the claim, above what the ledger holds,
  // so that windows compacted at a later version than the planned one are reopened all the same.
  return holdingClaim(store, `reopen-${planned}`, spans, async () => {
    const windows = (await windowLedger(store, spans)).filter((w) => w.ingested > 0);
    const days = new Map<string, UnitVersion>();
    for (const w of windows) {
      const day = Math.floor(w.start / MS.day) * MS.day;
      days.set(`${w.sensor}:${day}`, { sensor: w.sensor, start: day, version: 0 });
    }
    const rows = [...windows, ...(await dayLedgerIn(store, unitRanges([...days.values()], MS.day)))];
    const version = versionAbove(rows, planned);
    const units = windows.map((w) => ({ sensor: w.sensor, start: w.start, version }));
    // Nothing is inserted in between: pending and ingested go in one write.
    const dayUnits = [...days.values()].map((d) => ({ ...d, version }));
    await recordStage(store, ['pending', 'ingested'], units, dayUnits, `reopen-${version}`);
    return units.length;
  });
}
