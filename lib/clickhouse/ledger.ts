import { DAY_LEDGER_TABLE, WINDOW_LEDGER_TABLE } from './schema';
import { int, rangesWhere, tupleArray } from './sql';
import type { JsonInt64, Store } from './store';

export type LedgerStage = 'pending' | 'ingested' | 'compacted';

export interface UnitVersion {
  sensor: number;
  /** Window or day start, epoch ms. */
  start: number;
  version: number;
}

const STAGES: LedgerStage[] = ['pending', 'ingested', 'compacted'];

/** Rows per ledger statement: keeps each statement well under the server's query size limit. */
const ROWS_PER_STATEMENT = 4000;

function slices<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Raises one stage's version for windows and days; max() makes a repeat harmless. */
export async function recordStage(store: Store, stage: LedgerStage, windows: UnitVersion[], days: UnitVersion[], token: string) {
  // Windows first: whoever reads a day's version finds that day's windows already written.
  for (const [i, part] of slices(windows, ROWS_PER_STATEMENT).entries()) await recordRows(store, stage, part, [], `${token}-${i}`);
  for (const [i, part] of slices(days, ROWS_PER_STATEMENT).entries()) await recordRows(store, stage, [], part, `${token}-${i}`);
}

async function recordRows(store: Store, stage: LedgerStage, windows: UnitVersion[], days: UnitVersion[], token: string) {
  const touched = Math.floor(Date.now() / 1000);
  const state = (s: LedgerStage) => (s === stage ? 'maxState(toUInt64(tupleElement(u, 3)))' : 'maxState(toUInt64(0))');
  if (windows.length > 0) {
    await store.insert(
      `INSERT INTO ${store.table(WINDOW_LEDGER_TABLE.name)}
       SELECT tupleElement(u, 1), tupleElement(u, 2), ${STAGES.map(state).join(', ')}, maxState(toUInt32(${int(touched)}))
       FROM system.one ARRAY JOIN ${tupleArray(windows.map((w) => [w.sensor, w.start, w.version]))} AS u
       GROUP BY tupleElement(u, 1), tupleElement(u, 2)`,
      `${token}-w`,
    );
  }
  if (days.length > 0) {
    await store.insert(
      `INSERT INTO ${store.table(DAY_LEDGER_TABLE.name)}
       SELECT tupleElement(u, 1), tupleElement(u, 2), ${STAGES.map(state).join(', ')}
       FROM system.one ARRAY JOIN ${tupleArray(days.map((d) => [d.sensor, d.start, d.version]))} AS u
       GROUP BY tupleElement(u, 1), tupleElement(u, 2)`,
      `${token}-d`,
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
