import { DAY_LEDGER_TABLE, DAY_MARK_TABLE, SENSOR_EXTENT_TABLE, WINDOW_LEDGER_TABLE, WINDOW_MARK_TABLE } from './schema';
import { int, rangesWhere } from './sql';
import type { JsonInt64, Store } from './store';
import { runSlices, runsSelect, unitRuns, type UnitVersion } from './units';

/**
 * Dirty marks (see WINDOW_MARK_TABLE): the compactor's to-do list. A mark is
 * written after the ledger row that raised its unit's ingested version (so
 * every mark names data the ledger already holds), and cancelled only
 * - once the ledger shows its unit compacted at or past it (covered), or
 * - once a later mark of its unit stands (superseded), the latest staying.
 * So a unit with ingested > compacted keeps a live mark — but for the moment
 * between its ledger row and its mark, and for a writer that dies in that
 * moment and is never retried, which the sweep repairs (ledger.ts).
 *
 * Cancels are INSERT … SELECT over the marks themselves: each live mark
 * cancelled as often as it was written (a retried write marks twice), with
 * no literal per mark (a literal costs ClickHouse microseconds to parse).
 * A retried cancel cancels again; it only ever touches marks that are
 * covered or superseded for good, so that is harmless.
 */
export type MarkKind = 'window' | 'day';

const KINDS: Record<MarkKind, { table: string; ledger: string; key: string }> = {
  window: { table: WINDOW_MARK_TABLE.name, ledger: WINDOW_LEDGER_TABLE.name, key: 'window' },
  day: { table: DAY_MARK_TABLE.name, ledger: DAY_LEDGER_TABLE.name, key: 'day' },
};

type Ranges = readonly { sensor: number; from: number; to: number }[];

/** A unit's latest live mark. */
export interface Mark extends UnitVersion {
  /** Live marks of the unit, the latest included. */
  count: number;
  /** Unix seconds of the unit's latest marking write. */
  touched: number;
}

/** Marks per statement: runs keep a day of windows to one literal per sensor. */
const RUNS_PER_STATEMENT = 4000;
const UNITS_PER_STATEMENT = 250_000;

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** Marks the units dirty at their versions, `touched` being the write's time. */
export async function writeMarks(store: Store, kind: MarkKind, units: UnitVersion[], touched: number, token: string) {
  const { table } = KINDS[kind];
  for (const [i, runs] of runSlices(unitRuns(units), RUNS_PER_STATEMENT, UNITS_PER_STATEMENT).entries()) {
    await store.insert(
      `INSERT INTO ${store.table(table)}
       SELECT sensor, start, version, toInt8(1), toUInt32(${int(touched)}) FROM (${runsSelect(runs)})`,
      `${token}-${kind}-mark-${i}`,
    );
  }
}

/** Live (sensor, key, version) rows with their count `n`: written more often than cancelled. */
function live(store: Store, kind: MarkKind, ranges?: Ranges): string {
  const { table, key } = KINDS[kind];
  return `SELECT sensor, ${key}, version, sum(sign) AS n, maxIf(touched, sign > 0) AS t
    FROM ${store.table(table)} ${ranges ? `WHERE ${rangesWhere(key, ranges)}` : ''}
    GROUP BY sensor, ${key}, version HAVING sum(sign) > 0`;
}

/** Cancels every live mark that `bound` (a subquery of sensor, key, bound) reaches: version <= bound, n times. */
async function cancelWhere(store: Store, kind: MarkKind, marks: string, bound: string, token: string) {
  const { table, key } = KINDS[kind];
  await store.insert(
    `INSERT INTO ${store.table(table)}
     SELECT sensor, ${key}, version, toInt8(-1), toUInt32(${int(nowSeconds())}) FROM (
       SELECT sensor, ${key}, version, n, bound FROM (${marks}) AS live ALL INNER JOIN (${bound}) AS bounds USING (sensor, ${key})
       WHERE version <= bound
     ) ARRAY JOIN range(toUInt64(n)) AS copy`,
    token,
  );
}

/** Cancels the marks below each unit's latest (superseded). */
export function cancelSuperseded(store: Store, kind: MarkKind): Promise<void> {
  const { key } = KINDS[kind];
  const latest = `SELECT sensor, ${key}, max(version) - 1 AS bound FROM (${live(store, kind)}) GROUP BY sensor, ${key}`;
  return cancelWhere(store, kind, live(store, kind), latest, `supersede-${kind}-${nowSeconds()}`);
}

/** Cancels the marks of units inside the ranges that their ledger shows compacted at or past them (covered). */
export function cancelCovered(store: Store, kind: MarkKind, ranges: Ranges): Promise<void> {
  if (ranges.length === 0) return Promise.resolve();
  const { ledger, key } = KINDS[kind];
  const compacted = `SELECT sensor, ${key}, maxMerge(compacted) AS bound FROM ${store.table(ledger)}
    WHERE ${rangesWhere(key, ranges)} GROUP BY sensor, ${key}`;
  return cancelWhere(store, kind, live(store, kind, ranges), compacted, `covered-${kind}-${nowSeconds()}`);
}

/** Units per cancel statement when each carries its own bound: keeps the statement well under the query size limit. */
const BOUNDS_PER_STATEMENT = 1000;

/** Cancels each unit's live marks at or below the version given for it. */
export async function cancelUpTo(store: Store, kind: MarkKind, units: UnitVersion[]): Promise<void> {
  const { key } = KINDS[kind];
  for (let i = 0; i < units.length; i += BOUNDS_PER_STATEMENT) {
    const part = units.slice(i, i + BOUNDS_PER_STATEMENT);
    const ranges = part.map((u) => ({ sensor: u.sensor, from: u.start, to: u.start + 1 }));
    const bounds = `SELECT sensor, start AS ${key}, version AS bound FROM (${runsSelect(unitRuns(part))})`;
    await cancelWhere(store, kind, live(store, kind, ranges), bounds, `cancel-${kind}-${part.length}-${i}-${nowSeconds()}`);
  }
}

type MarkTuple = [sensor: number, start: JsonInt64, version: JsonInt64, count: JsonInt64, touched: number];

const latestSql = (store: Store, kind: MarkKind, ranges?: Ranges) => {
  const { key } = KINDS[kind];
  return `SELECT sensor, ${key}, max(version) AS version, sum(n) AS n, max(t) AS t FROM (${live(store, kind, ranges)})
    GROUP BY sensor, ${key}`;
};

const toMark = ([sensor, start, version, count, touched]: MarkTuple): Mark => ({
  sensor: Number(sensor),
  start: Number(start),
  version: Number(version),
  count: Number(count),
  touched: Number(touched),
});

/**
 * Each marked unit's latest live mark, of every unit or of the units inside
 * (sensor, [from, to)) ranges. The table holds about one row per dirty unit,
 * whatever the history.
 */
export async function latestMarks(store: Store, kind: MarkKind, ranges?: Ranges): Promise<Mark[]> {
  if (ranges && ranges.length === 0) return [];
  const { rows } = await store.queryWithStats<MarkTuple>(`${latestSql(store, kind, ranges)} ORDER BY sensor, ${KINDS[kind].key}`);
  return rows.map(toMark);
}

/** When a marked window counts as complete (the compactor's test, see `complete` in lib/rollup/compactor.ts). */
export interface Completeness {
  windowMs: number;
  /** Complete once its sensor has data this far past its end (the sensor's last timestamp is its watermark)… */
  graceMs: number;
  /** …or once its latest marking write is at or before this (unix seconds). */
  idleBefore: number;
}

/**
 * The (group start, sensor) pairs of marked windows that look complete, a
 * group being `groupMs` of windows: what a planning round needs, in one read
 * of the marks and the sensor extents, a row per group and sensor.
 */
export async function completeMarked(store: Store, groupMs: number, rule: Completeness): Promise<{ from: number; sensor: number }[]> {
  const g = int(groupMs);
  const { rows } = await store.queryWithStats<[from: JsonInt64, sensor: number]>(
    `SELECT window - (window % ${g} + ${g}) % ${g} AS grp, sensor
     FROM (${latestSql(store, 'window')}) AS marks
     ALL LEFT JOIN (SELECT sensor, maxMerge(last_ts) AS last, toUInt8(1) AS known FROM ${store.table(SENSOR_EXTENT_TABLE.name)}
                    GROUP BY sensor) AS extents USING (sensor)
     WHERE (known = 1 AND window + ${int(rule.windowMs + rule.graceMs)} <= last) OR t <= ${int(rule.idleBefore)}
     GROUP BY grp, sensor ORDER BY grp, sensor`,
  );
  return rows.map(([from, sensor]) => ({ from: Number(from), sensor: Number(sensor) }));
}

/** Key of a unit in maps and sets. */
export const markKey = (u: { sensor: number; start: number }) => `${u.sensor}:${u.start}`;

/**
 * Units whose latest live mark is not above `compacted(u)`: ones the
 * compactor would not find (what the sweep repairs). A mark at or below the
 * compacted version is about to be cancelled and does not count.
 */
export function unmarked<T extends { sensor: number; start: number }>(
  units: readonly T[],
  compacted: (u: T) => number,
  latest: readonly Mark[],
): T[] {
  const top = new Map(latest.map((m) => [markKey(m), m.version]));
  return units.filter((u) => (top.get(markKey(u)) ?? -1) <= compacted(u));
}
