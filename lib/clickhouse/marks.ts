import { DAY_MARK_TABLE, WINDOW_MARK_TABLE } from './schema';
import { int, rangesWhere } from './sql';
import type { JsonInt64, Store } from './store';
import { runSlices, runsSelect, unitRuns, type UnitVersion } from './units';

/**
 * Dirty marks (see WINDOW_MARK_TABLE): the compactor's to-do list. A mark is
 * written after the ledger row that raised its unit's ingested version (so
 * every mark names data the ledger already holds), and cancelled only once
 * the ledger shows the unit compacted at or past it, or once a later mark of
 * the unit stands. So a unit with ingested > compacted keeps a live mark —
 * but for the moment between its ledger write and its mark, and for a writer
 * that dies in that moment and is never retried, which the sweep repairs.
 */
export type MarkKind = 'window' | 'day';

const TABLES: Record<MarkKind, { table: string; key: string }> = {
  window: { table: WINDOW_MARK_TABLE.name, key: 'window' },
  day: { table: DAY_MARK_TABLE.name, key: 'day' },
};

/** A live mark: a unit at a version, `count` times over (a repeated write marks twice). */
export interface Mark extends UnitVersion {
  count: number;
  /** Unix seconds of the write that marked it. */
  touched: number;
}

/** Marks per statement: runs keep a day of windows to one literal per sensor. */
const RUNS_PER_STATEMENT = 4000;
const UNITS_PER_STATEMENT = 250_000;

/** Adds (+1) or cancels (−1) one mark per unit; a unit listed twice counts twice. */
export async function writeMarks(store: Store, kind: MarkKind, units: UnitVersion[], sign: 1 | -1, touched: number, token: string) {
  const { table } = TABLES[kind];
  const slices = runSlices(unitRuns(units), RUNS_PER_STATEMENT, UNITS_PER_STATEMENT);
  for (const [i, runs] of slices.entries()) {
    await store.insert(
      `INSERT INTO ${store.table(table)}
       SELECT sensor, start, version, toInt8(${sign}), toUInt32(${int(touched)}) FROM (${runsSelect(runs)})`,
      `${token}-${kind}-mark-${i}`,
    );
  }
}

/**
 * Cancels the given live marks, each as often as it was written. Replicated
 * tables drop a block identical to a recent one: the second of a cancel
 * (touched included) is a retry and is right to go; one that cancels a
 * re-marked unit a second later is not identical.
 */
export function cancelMarks(store: Store, kind: MarkKind, marks: readonly Mark[], token: string): Promise<void> {
  const units = marks.flatMap((m) => Array.from({ length: m.count }, () => ({ sensor: m.sensor, start: m.start, version: m.version })));
  return writeMarks(store, kind, units, -1, Math.floor(Date.now() / 1000), token);
}

type MarkTuple = [sensor: number, start: JsonInt64, version: JsonInt64, count: JsonInt64, touched: number];

/**
 * Live marks (written more often than cancelled), of every unit or of the
 * units inside (sensor, [from, to)) ranges. The table holds about one row per
 * dirty unit, whatever the history.
 */
export async function liveMarks(
  store: Store,
  kind: MarkKind,
  ranges?: readonly { sensor: number; from: number; to: number }[],
  stats?: { rowsRead: number },
): Promise<Mark[]> {
  if (ranges && ranges.length === 0) return [];
  const { table, key } = TABLES[kind];
  const { rows, rowsRead } = await store.queryWithStats<MarkTuple>(
    `SELECT sensor, ${key}, version, sum(sign) AS n, maxIf(touched, sign > 0)
     FROM ${store.table(table)} ${ranges ? `WHERE ${rangesWhere(key, ranges)}` : ''}
     GROUP BY sensor, ${key}, version HAVING sum(sign) > 0
     ORDER BY sensor, ${key}, version`,
  );
  if (stats) stats.rowsRead += rowsRead;
  return rows.map(([sensor, start, version, count, touched]) => ({
    sensor: Number(sensor),
    start: Number(start),
    version: Number(version),
    count: Number(count),
    touched: Number(touched),
  }));
}

/** Key of a unit in the maps that the functions below take. */
export const markKey = (u: { sensor: number; start: number }) => `${u.sensor}:${u.start}`;

/** Each unit's latest live mark (the highest version; touched is the latest of its marks). */
export function latestMarks(marks: readonly Mark[]): Mark[] {
  const top = new Map<string, Mark>();
  for (const m of marks) {
    const t = top.get(markKey(m));
    if (!t) top.set(markKey(m), { ...m });
    else {
      if (m.version > t.version) Object.assign(t, { version: m.version, count: m.count });
      t.touched = Math.max(t.touched, m.touched);
    }
  }
  return [...top.values()];
}

/** Marks below their unit's latest: cancelling them leaves every unit its latest mark. */
export function supersededMarks(marks: readonly Mark[]): Mark[] {
  const top = new Map(latestMarks(marks).map((m) => [markKey(m), m.version]));
  return marks.filter((m) => m.version < top.get(markKey(m))!);
}

/** Marks at or below their unit's compacted version (units without one keep theirs). */
export function coveredMarks(marks: readonly Mark[], compacted: ReadonlyMap<string, number>): Mark[] {
  return marks.filter((m) => m.version <= (compacted.get(markKey(m)) ?? -1));
}

/**
 * Units whose latest live mark is not above `compacted(u)`: one the compactor
 * would not find (what the sweep repairs). A mark at or below the compacted
 * version is about to be cancelled and does not count.
 */
export function unmarked<T extends { sensor: number; start: number }>(
  units: readonly T[],
  compacted: (u: T) => number,
  marks: readonly Mark[],
): T[] {
  const top = new Map(latestMarks(marks).map((m) => [markKey(m), m.version]));
  return units.filter((u) => (top.get(markKey(u)) ?? -1) <= compacted(u));
}
