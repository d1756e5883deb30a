import { MS } from '../model/ladder';
import { ledgerMoved } from './ledger-watch';
import { latestMarks, markKey, unmarked, writeMarks, type MarkKind } from './marks';
import { DAY_LEDGER_TABLE, WINDOW_LEDGER_TABLE } from './schema';
import { int, rangesWhere } from './sql';
import type { JsonInt64, Store } from './store';
import { runSlices, runsSelect, unitRuns, type UnitVersion } from './units';

export type { UnitVersion } from './units';

export type LedgerStage = 'pending' | 'ingested' | 'compacted';

const STAGES: LedgerStage[] = ['pending', 'ingested', 'compacted'];

/** Runs per ledger statement (well under the server's query size limit), and units once expanded. */
const RUNS_PER_STATEMENT = 4000;
const UNITS_PER_STATEMENT = 250_000;

/**
 * Raises the versions of one stage, or of several at once, for windows and
 * days; max() makes a repeat harmless. A write that leaves its units
 * ingested and not compacted marks them dirty for the compactor (marks.ts),
 * after their ledger rows.
 */
export async function recordStage(
  store: Store,
  stage: LedgerStage | readonly LedgerStage[],
  windows: UnitVersion[],
  days: UnitVersion[],
  token: string,
) {
  const stages = typeof stage === 'string' ? [stage] : stage;
  const touched = Math.floor(Date.now() / 1000);
  try {
    // Windows first: whoever reads a day's version finds that day's windows already written.
    await recordRows(store, stages, 'window', windows, touched, token);
    await recordRows(store, stages, 'day', days, touched, token);
  } finally {
    // Also after a failed write: part of it may have committed.
    ledgerMoved({ db: store.db, units: movedDays(windows, days) });
  }
  if (!stages.includes('ingested') || stages.includes('compacted')) return;
  await writeMarks(store, 'window', windows, touched, token);
  await writeMarks(store, 'day', days, touched, token);
}

/** The (sensor, day) units of window and day rows, each once. */
function movedDays(windows: UnitVersion[], days: UnitVersion[]): { sensor: number; day: number }[] {
  const seen = new Map<string, { sensor: number; day: number }>();
  for (const u of [...windows, ...days]) {
    const day = Math.floor(u.start / MS.day) * MS.day;
    seen.set(`${u.sensor}:${day}`, { sensor: u.sensor, day });
  }
  return [...seen.values()];
}

/**
 * One row per unit with its aggregate states built by arrayReduce (no GROUP
 * BY: rows of one key merge like any others, and a large write costs a third).
 */
async function recordRows(
  store: Store,
  stages: readonly LedgerStage[],
  kind: MarkKind,
  units: UnitVersion[],
  touched: number,
  token: string,
) {
  const table = kind === 'window' ? WINDOW_LEDGER_TABLE.name : DAY_LEDGER_TABLE.name;
  const states = STAGES.map((s) => `arrayReduce('maxState', [${stages.includes(s) ? 'version' : 'toUInt64(0)'}])`);
  if (kind === 'window') states.push(`arrayReduce('maxState', [toUInt32(${int(touched)})])`);
  for (const [i, runs] of runSlices(unitRuns(units), RUNS_PER_STATEMENT, UNITS_PER_STATEMENT).entries()) {
    await store.insert(
      `INSERT INTO ${store.table(table)} SELECT sensor, start, ${states.join(', ')} FROM (${runsSelect(runs)})`,
      `${token}-${i}-${kind === 'window' ? 'w' : 'd'}`,
    );
  }
}

export interface LedgerRow {
  sensor: number;
  start: number;
  pending: number;
  ingested: number;
  compacted: number;
  /** Unix seconds of the last write (windows only). */
  touched: number;
}

/** Adds up the rows ClickHouse read, for callers that account for them (lenses). */
export interface ReadStats {
  rowsRead: number;
}

/**
 * Lens-time reads are small: one thread each, so that many lenses share the
 * cores instead of each spreading thin over them.
 */
export const SMALL_QUERY = { max_threads: 1 } as const;

/** Ledger query columns: sensor, start, pending, ingested, compacted[, touched]. */
type LedgerTuple = [sensor: number, start: JsonInt64, pending: JsonInt64, ingested: JsonInt64, compacted: JsonInt64, touched?: number];

async function ledgerRows(store: Store, sql: string, stats?: ReadStats): Promise<LedgerRow[]> {
  const { rows, rowsRead } = await store.queryWithStats<LedgerTuple>(sql, stats ? SMALL_QUERY : {});
  if (stats) stats.rowsRead += rowsRead;
  return rows.map(([sensor, start, pending, ingested, compacted, touched]) => ({
    sensor: Number(sensor),
    start: Number(start),
    pending: Number(pending),
    ingested: Number(ingested),
    compacted: Number(compacted),
    touched: Number(touched ?? 0),
  }));
}

/** Day rows of the given sensors overlapping [from, to). */
export function dayLedger(
  store: Store,
  sensors: number[],
  from: number,
  to: number,
  dayMs: number,
  stats?: ReadStats,
): Promise<LedgerRow[]> {
  return ledgerRows(
    store,
    `SELECT sensor, day AS start, maxMerge(pending) AS pending, maxMerge(ingested) AS ingested, maxMerge(compacted) AS compacted
     FROM ${store.table(DAY_LEDGER_TABLE.name)}
     WHERE sensor IN (${sensors.map(int).join(', ')}) AND day >= ${int(Math.floor(from / dayMs) * dayMs)} AND day < ${int(to)}
     GROUP BY sensor, day`,
    stats,
  );
}

/** Window rows inside the given (sensor, [from, to)) ranges. */
export function windowLedger(
  store: Store,
  ranges: { sensor: number; from: number; to: number }[],
  stats?: ReadStats,
): Promise<LedgerRow[]> {
  if (ranges.length === 0) return Promise.resolve([]);
  const where = rangesWhere('window', ranges);
  return ledgerRows(
    store,
    `SELECT sensor, window AS start, maxMerge(pending) AS pending, maxMerge(ingested) AS ingested,
            maxMerge(compacted) AS compacted, maxMerge(touched) AS touched
     FROM ${store.table(WINDOW_LEDGER_TABLE.name)} WHERE ${where}
     GROUP BY sensor, window`,
    stats,
  );
}

/** Days that are not clean (something pending or ingested after the last compaction), all sensors. */
export function uncleanDays(store: Store): Promise<LedgerRow[]> {
  return ledgerRows(
    store,
    `SELECT sensor, day AS start, maxMerge(pending) AS pending, maxMerge(ingested) AS ingested, maxMerge(compacted) AS compacted
     FROM ${store.table(DAY_LEDGER_TABLE.name)}
     GROUP BY sensor, day HAVING pending > compacted ORDER BY sensor, day`,
  );
}

export const isClean = (row: LedgerRow) => row.compacted >= row.pending;

/**
 * A write's version, chosen when it writes: at least `planned` and above
 * every version in the rows of the units it touches (so compaction, which
 * covers only versions it read, cannot count a unit clean without it).
 */
export const versionAbove = (rows: readonly LedgerRow[], planned: number): number =>
  rows.reduce((v, r) => Math.max(v, r.pending + 1, r.ingested + 1, r.compacted + 1), planned);

/** Day rows inside the given (sensor, [from, to)) ranges. */
export function dayLedgerIn(store: Store, ranges: { sensor: number; from: number; to: number }[], stats?: ReadStats): Promise<LedgerRow[]> {
  if (ranges.length === 0) return Promise.resolve([]);
  return ledgerRows(
    store,
    `SELECT sensor, day AS start, maxMerge(pending) AS pending, maxMerge(ingested) AS ingested, maxMerge(compacted) AS compacted
     FROM ${store.table(DAY_LEDGER_TABLE.name)} WHERE ${rangesWhere('day', ranges)}
     GROUP BY sensor, day`,
    stats,
  );
}

export interface LedgerSweep {
  /** Windows not clean (pending > compacted), found the long way. */
  uncleanWindows: LedgerRow[];
  /** Units that had data to compact and no live mark, now marked. */
  repaired: { windows: number; days: number };
}

/**
 * The safety net of the marks: reads the ledger the long way (every window
 * of every unclean day, what compaction planning read before it had marks)
 * and marks each window with ingested > compacted that has no live mark, and
 * each such day whose windows are all clean (a day with an unclean window
 * cannot settle; once it can, the next sweep marks it). Its cost grows with
 * the unclean days, so the sweep runs it, not every round.
 */
export async function repairMarks(store: Store): Promise<LedgerSweep> {
  const days = await uncleanDays(store);
  const windows = (
    await windowLedger(
      store,
      days.map((d) => ({ sensor: d.sensor, from: d.start, to: d.start + MS.day })),
    )
  ).filter((w) => !isClean(w));
  // A day waits for its windows: it needs a mark only once none is unclean.
  const busy = new Set(windows.map((w) => markKey({ sensor: w.sensor, start: Math.floor(w.start / MS.day) * MS.day })));
  // Marks read after the ledger: a mark written for a row read above is seen.
  const lost = {
    window: unmarked(
      windows.filter((w) => w.ingested > w.compacted),
      (w) => w.compacted,
      await latestMarks(store, 'window'),
    ),
    day: unmarked(
      days.filter((d) => d.ingested > d.compacted && !busy.has(markKey(d))),
      (d) => d.compacted,
      await latestMarks(store, 'day'),
    ),
  };
  const touched = Math.floor(Date.now() / 1000);
  for (const kind of ['window', 'day'] as const) {
    const units = lost[kind].map((u) => ({ sensor: u.sensor, start: u.start, version: u.ingested }));
    await writeMarks(store, kind, units, touched, `repair-${kind}-${units.length}-${touched}`);
  }
  return { uncleanWindows: windows, repaired: { windows: lost.window.length, days: lost.day.length } };
}
