import { recordStage, uncleanDays, windowLedger, type LedgerRow, type UnitVersion } from '../clickhouse/ledger';
import { sensorExtents } from '../clickhouse/raw';
import { writeCoarseLevels, writeFineLevels } from '../clickhouse/rollup';
import { bySensorShard, onEveryPart, onReachableShards, type Shards } from '../clickhouse/shards';
import type { Store } from '../clickhouse/store';
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

async function uncleanWindows(store: Store, ranges: { sensor: number; from: number; to: number }[]): Promise<LedgerRow[]> {
  return (await windowLedger(store, ranges)).filter((w) => w.pending > w.compacted);
}

/** Dirty windows that are complete: late windows at once, the newest after the grace period. */
async function compactable(store: Store, policy: CompactionPolicy, windows: LedgerRow[], now: number): Promise<LedgerRow[]> {
  const candidates = windows.filter(dirty);
  const extents = await sensorExtents(store, [...new Set(candidates.map((w) => w.sensor))]);
  return candidates.filter((w) => {
    const watermark = extents.get(w.sensor)?.last ?? Number.NEGATIVE_INFINITY;
    return w.start + policy.ladder.windowMs + policy.graceMs <= watermark || w.touched * 1000 <= now - policy.idleMs;
  });
}

/** Compactable windows are grouped by the hour they fall in: one group is one child workflow. */
const GROUP_MS = MS.hour;

/** Every window of a store not clean yet, found through its unclean days. */
async function allUncleanWindows(store: Store): Promise<LedgerRow[]> {
  const days = await uncleanDays(store);
  return uncleanWindows(
    store,
    days.map((d) => ({ sensor: d.sensor, from: d.start, to: d.start + MS.day })),
  );
}

async function readyWindows(store: Store, policy: CompactionPolicy, now: number): Promise<LedgerRow[]> {
  return compactable(store, policy, await allUncleanWindows(store), now);
}

/** Groups of compactable windows, oldest first, over the shards that answer. */
export async function planCompaction(shards: Shards, policy: CompactionPolicy, now: number, maxGroups: number): Promise<CompactionGroup[]> {
  const ready = (await onReachableShards(shards, (store) => readyWindows(store, policy, now))).flat();
  const byGroup = new Map<number, Set<number>>();
  for (const w of ready) {
    const group = Math.floor(w.start / GROUP_MS) * GROUP_MS;
    let set = byGroup.get(group);
    if (!set) byGroup.set(group, (set = new Set()));
    set.add(w.sensor);
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
  if (units.length === 0) return { windows: 0, sensors: 0 };
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
  return { windows: units.length, sensors: bySensor.size };
}

/**
 * Marks days clean whose windows are all clean, at the day's pending version
 * read before its windows were: a window written later keeps the day dirty.
 * Shards that do not answer settle on a later round.
 */
export async function settleDays(shards: Shards): Promise<number> {
  return (await onReachableShards(shards, settleDaysOn)).reduce((a, n) => a + n, 0);
}

async function settleDaysOn(store: Store): Promise<number> {
  const days = await uncleanDays(store);
  if (days.length === 0) return 0;
  const windows = await uncleanWindows(
    store,
    days.map((d) => ({ sensor: d.sensor, from: d.start, to: d.start + MS.day })),
  );
  const unclean = new Set(windows.map((w) => `${w.sensor}:${Math.floor(w.start / MS.day) * MS.day}`));
  const settled = days.filter((d) => !unclean.has(`${d.sensor}:${d.start}`));
  await recordStage(
    store,
    'compacted',
    [],
    settled.map((d) => ({ sensor: d.sensor, start: d.start, version: d.pending })),
    `settle-${days.length}-${settled.reduce((m, d) => Math.max(m, d.pending), 0)}`,
  );
  return settled.length;
}

/** Windows waiting for compaction on the shards that answer: the backlog the sweep and /metrics report. */
export async function compactionBacklog(shards: Shards): Promise<number> {
  const counts = await onReachableShards(shards, async (store) => (await allUncleanWindows(store)).length);
  return counts.reduce((a, n) => a + n, 0);
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
  version: number,
  windowMs: number,
): Promise<number> {
  const windows = (
    await windowLedger(
      store,
      sensors.map((sensor) => ({ sensor, from: Math.floor(from / windowMs) * windowMs, to })),
    )
  ).filter((w) => w.ingested > 0);
  const units = windows.map((w) => ({ sensor: w.sensor, start: w.start, version }));
  const days = new Map<string, UnitVersion>();
  for (const u of units) {
    const day = Math.floor(u.start / MS.day) * MS.day;
    days.set(`${u.sensor}:${day}`, { sensor: u.sensor, start: day, version });
  }
  const token = `reopen-${version}`;
  await recordStage(store, 'pending', units, [...days.values()], `${token}-p`);
  await recordStage(store, 'ingested', units, [...days.values()], `${token}-i`);
  return units.length;
}
