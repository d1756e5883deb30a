import type { Ladder } from '../model/ladder';
import { RAW_TABLE, ROLLUP_TABLE } from './schema';
import { int, rangesWhere, sumFloat, tupleArray } from './sql';
import type { Store } from './store';
import type { UnitVersion } from './ledger';

const COLUMNS = '(level, sensor, t, count, sum, min, max, first, last, version, uncertain, bad, sum_ng, min_ng, max_ng)';

/** A raw point's share of each half of a rollup row (schema.ts, ROLLUP_TABLE): good points, then the others. */
const GOOD = 'quality = 0';

/**
 * Writes every fine level (finest … window) of the given (sensor, window)
 * units from raw, in one statement: raw is grouped once at the finest level
 * and the coarser fine levels are folded from those groups. Each row carries
 * its unit's version, so it replaces the rows of an earlier compaction.
 */
export async function writeFineLevels(store: Store, ladder: Ladder, units: UnitVersion[], token: string): Promise<void> {
  if (units.length === 0) return;
  const finest = ladder.fine[0]!;
  const w = ladder.windowMs;
  const ranges = units.map((u) => ({ sensor: u.sensor, from: u.start, to: u.start + w }));
  const sum = (x: string) => sumFloat(store.shape.features, x);
  await store.insert(
    `INSERT INTO ${store.table(ROLLUP_TABLE.name)} ${COLUMNS}
     SELECT level, sensor, intDiv(t0, level) * level AS bucket, sum(c), ${sum('s')}, min(mn), max(mx), argMin(f, t0), argMax(l, t0), any(v),
            sum(u), sum(b), ${sum('sn')}, min(mnn), max(mxn)
     FROM (
       SELECT a.sensor AS sensor, a.t0 AS t0, a.c AS c, a.s AS s, a.mn AS mn, a.mx AS mx, a.f AS f, a.l AS l, u.version AS v,
              a.u AS u, a.b AS b, a.sn AS sn, a.mnn AS mnn, a.mxn AS mxn
       FROM (
         SELECT sensor, intDiv(ts, ${int(w)}) * ${int(w)} AS window, intDiv(ts, ${int(finest)}) * ${int(finest)} AS t0,
                count() AS c, ${sum(`if(${GOOD}, value, 0)`)} AS s, min(if(${GOOD}, value, inf)) AS mn, max(if(${GOOD}, value, -inf)) AS mx,
                argMin(value, ts) AS f, argMax(value, ts) AS l,
                countIf(quality = 1) AS u, countIf(quality = 2) AS b,
                ${sum(`if(${GOOD}, 0, value)`)} AS sn, min(if(${GOOD}, inf, value)) AS mnn, max(if(${GOOD}, -inf, value)) AS mxn
         FROM ${store.table(RAW_TABLE.name)} WHERE ${rangesWhere('ts', ranges)}
         GROUP BY sensor, window, t0
       ) AS a
       ALL INNER JOIN (
         -- Literal tuples are typed by their values (UInt8 …); old servers join only on equal types.
         SELECT toUInt32(tupleElement(x, 1)) AS sensor, toInt64(tupleElement(x, 2)) AS window, toUInt64(tupleElement(x, 3)) AS version
         FROM system.one ARRAY JOIN ${tupleArray(units.map((u) => [u.sensor, u.start, u.version]))} AS x
       ) AS u USING (sensor, window)
     ) ARRAY JOIN [${ladder.fine.map(int).join(', ')}] AS level
     GROUP BY level, sensor, bucket`,
    token,
  );
}

/**
 * Rewrites the coarse buckets (levels above the window) that contain the
 * given windows, level by level from the one below, reading the newest
 * version of each row. A coarse row's version is the newest of its inputs.
 */
export async function writeCoarseLevels(
  store: Store,
  ladder: Ladder,
  windows: { sensor: number; start: number }[],
  token: string,
): Promise<void> {
  let below = ladder.windowMs;
  for (const level of ladder.coarse) {
    const buckets = new Map<string, { sensor: number; from: number; to: number }>();
    for (const w of windows) {
      const from = Math.floor(w.start / level) * level;
      buckets.set(`${w.sensor}:${from}`, { sensor: w.sensor, from, to: from + level });
    }
    if (buckets.size === 0) return;
    await store.insert(
      `INSERT INTO ${store.table(ROLLUP_TABLE.name)} ${COLUMNS}
       SELECT ${int(level)}, sensor, intDiv(t, ${int(level)}) * ${int(level)} AS bucket,
              sum(count), ${sumFloat(store.shape.features, 'sum')}, min(min), max(max), argMin(first, t), argMax(last, t), max(version),
              sum(uncertain), sum(bad), ${sumFloat(store.shape.features, 'sum_ng')}, min(min_ng), max(max_ng)
       FROM ${store.table(ROLLUP_TABLE.name)} FINAL
       WHERE level = ${int(below)} AND (${rangesWhere('t', [...buckets.values()])})
       GROUP BY sensor, bucket`,
      `${token}-L${level}`,
    );
    below = level;
  }
}

/** A rollup row as stored (schema.ts, ROLLUP_TABLE, says which points each aggregate covers). */
export interface RollupRow {
  level: number;
  sensor: number;
  t: number;
  count: number;
  sum: number;
  min: number;
  max: number;
  first: number;
  last: number;
  version: number;
  uncertain: number;
  bad: number;
  sum_ng: number;
  min_ng: number;
  max_ng: number;
}

const ROW_COLUMNS = [
  'level',
  'sensor',
  't',
  'count',
  'sum',
  'min',
  'max',
  'first',
  'last',
  'version',
  'uncertain',
  'bad',
  'sum_ng',
  'min_ng',
  'max_ng',
] as const;

/** Current rollup rows of one sensor and level in [from, to), for inspection and tests. */
export async function rollupRows(store: Store, level: number, sensor: number, from: number, to: number): Promise<RollupRow[]> {
  const rows = await store.rows<Record<string, string | number | null>>(
    `SELECT ${ROW_COLUMNS.join(', ')}
            FROM ${store.table(ROLLUP_TABLE.name)} FINAL
            WHERE level = ${int(level)} AND sensor = ${int(sensor)} AND t >= ${int(from)} AND t < ${int(to)} ORDER BY t`,
  );
  // JSON prints ±inf (the min or max of an empty half) as null.
  const read = (c: string, v: string | number | null) => (v === null ? (c.startsWith('min') ? Infinity : -Infinity) : Number(v));
  return rows.map((r) => Object.fromEntries(ROW_COLUMNS.map((c) => [c, read(c, r[c]!)])) as unknown as RollupRow);
}
