import { dayLedger, SMALL_QUERY, windowLedger, type ReadStats } from '../clickhouse/ledger';
import { RAW_TABLE, ROLLUP_TABLE } from '../clickhouse/schema';
import { queryBuckets, type BucketColumns } from './buckets';
import type { LedgerCache } from './ledger-cache';
import { int, rangesWhere, sumFloat } from '../clickhouse/sql';
import { holdingSensors } from '../clickhouse/errors';
import { bySensorShard, onEveryPart, type Shards } from '../clickhouse/shards';
import type { QuerySettings, Store } from '../clickhouse/store';
import { alignDown, alignUp, MS, type Ladder } from '../model/ladder';
import { planLens, planRaw, uncleanDayRanges, type LensPlan, type Segment } from './planner';

export interface LensRequest {
  sensors: number[];
  from: number;
  to: number;
  stepMs: number;
  /** `raw`: aggregate raw points with a plain GROUP BY instead of planning (verification, benchmarks). */
  source?: 'plan' | 'raw';
  /** With `source: 'raw'`: ClickHouse stops the query once it has read more rows than this (TOO_MANY_ROWS). */
  rawMaxRows?: number;
  /** Which points avg, min and max cover: the good ones (default) or `any`. */
  quality?: LensQuality;
}

/** Which points a lens's avg, min and max cover; count, first and last always cover every point. */
export type LensQuality = 'good' | 'any';

export interface SensorSeries {
  sensor: number;
  t: number[];
  /** Every point of the bucket, whatever its quality: good + uncertain + bad. */
  count: number[];
  good: number[];
  uncertain: number[];
  bad: number[];
  avg: (number | null)[];
  min: (number | null)[];
  max: (number | null)[];
  first: (number | null)[];
  last: (number | null)[];
}

export interface LensResult {
  from: number;
  to: number;
  step_ms: number;
  quality: LensQuality;
  sensors: SensorSeries[];
  plan: { level_ms: number | null; raw_windows: number; rows_read: number; segments: number };
}

/**
 * Each source row's two halves (ROLLUP_TABLE in schema.ts): count, uncertain
 * and bad over every point; s, mn, mx over the good ones and sn, mnn, mxn over
 * the rest (±inf: none); f, l over every point. A raw point is a row of one.
 */
const ROLLUP_HALVES =
  'count AS c, uncertain AS u, bad AS b, sum AS s, min AS mn, max AS mx, sum_ng AS sn, min_ng AS mnn, max_ng AS mxn, first AS f, last AS l';
const RAW_HALVES =
  'toUInt64(1) AS c, toUInt64(quality = 1) AS u, toUInt64(quality = 2) AS b, if(quality = 0, value, 0) AS s, ' +
  'if(quality = 0, value, inf) AS mn, if(quality = 0, value, -inf) AS mx, if(quality = 0, 0, value) AS sn, ' +
  'if(quality = 0, inf, value) AS mnn, if(quality = 0, -inf, value) AS mxn, value AS f, value AS l';

/** One SELECT: rollup rows and raw points of the planned segments, folded into lens buckets. */
export function lensSql(store: Store, plan: LensPlan, quality: LensQuality = 'good'): string {
  const byLevel = new Map<number, Segment[]>();
  const raw: Segment[] = [];
  for (const s of plan.segments) {
    if (s.source.kind === 'raw') raw.push(s);
    else {
      const list = byLevel.get(s.source.level) ?? [];
      list.push(s);
      byLevel.set(s.source.level, list);
    }
  }
  const parts: string[] = [];
  if (byLevel.size > 0) {
    const where = [...byLevel].map(([level, segs]) => `(level = ${int(level)} AND (${rangesWhere('t', segs)}))`).join(' OR ');
    parts.push(`SELECT sensor, t, ${ROLLUP_HALVES} FROM ${store.table(ROLLUP_TABLE.name)} FINAL WHERE ${where}`);
  }
  if (raw.length > 0) {
    parts.push(`SELECT sensor, ts AS t, ${RAW_HALVES} FROM ${store.table(RAW_TABLE.name)} WHERE ${rangesWhere('ts', raw)}`);
  }
  const step = int(plan.stepMs);
  const sum = (x: string) => sumFloat(store.shape.features, x);
  const [total, min, max] =
    quality === 'good'
      ? [sum('s'), 'min(mn)', 'max(mx)']
      : [`${sum('s')} + ${sum('sn')}`, 'least(min(mn), min(mnn))', 'greatest(max(mx), max(mxn))'];
  // Columns and types as decodeBuckets reads them (all Float64: values are stored as Float64).
  return `SELECT sensor, intDiv(t, ${step}) * ${step} AS bucket, sum(c) AS count, sum(u) AS uncertain, sum(b) AS bad,
            toFloat64(${total}) AS sum, ${min} AS min, ${max} AS max, argMin(f, t) AS first, argMax(l, t) AS last
          FROM (${parts.join(' UNION ALL ')})
          GROUP BY sensor, bucket ORDER BY sensor, bucket`;
}

/**
 * Computes a lens on the shards that hold its sensors, each shard's sensors on
 * their own shard. A shard that does not answer fails the whole lens (the API
 * answers 503), never leaves its sensors out.
 */
export async function runLens(shards: Shards, ladder: Ladder, req: LensRequest, ledgers?: LedgerCache): Promise<LensResult> {
  const parts = bySensorShard(shards, req.sensors, (sensor) => sensor);
  const results = await onEveryPart(parts, (p) =>
    lensOnStore(p.store, ladder, { ...req, sensors: p.items }, ledgers).catch((err: unknown) => {
      throw holdingSensors(err, p.items);
    }),
  );
  if (results.length === 1) return results[0]!;
  const series = new Map(results.flatMap((r) => r.sensors.map((s) => [s.sensor, s] as const)));
  const [first] = results;
  return {
    from: first!.from,
    to: first!.to,
    step_ms: first!.step_ms,
    quality: first!.quality,
    sensors: req.sensors.map((sensor) => series.get(sensor)!),
    plan: {
      level_ms: results.find((r) => r.plan.level_ms !== null)?.plan.level_ms ?? null,
      raw_windows: results.reduce((n, r) => n + r.plan.raw_windows, 0),
      rows_read: results.reduce((n, r) => n + r.plan.rows_read, 0),
      segments: results.reduce((n, r) => n + r.plan.segments, 0),
    },
  };
}

/** A lens over sensors of one store: plan from the ledger, one query, then the full bucket grid with empty buckets explicit. */
async function lensOnStore(store: Store, ladder: Ladder, req: LensRequest, ledgers?: LedgerCache): Promise<LensResult> {
  const stats: ReadStats = { rowsRead: 0 };
  if (req.source === 'raw') {
    // A scan, but one thread and bounded rows like every lens: it must not take the machine from the others.
    const bounded = { ...SMALL_QUERY, max_rows_to_read: req.rawMaxRows ?? 0 };
    return execute(store, planRaw(req.sensors, req.from, req.to, req.stepMs), req, stats, bounded);
  }
  // The ledger is read for the whole bucket grid, which may reach past `to`.
  const from = alignDown(req.from, req.stepMs);
  const to = alignUp(req.to, req.stepMs);
  const view = ledgers ? await ledgers.view(store, req.sensors, from, to, stats) : await readLedger(store, req.sensors, from, to, stats);
  return execute(store, planLens(ladder, req.sensors, from, to, req.stepMs, view), req, stats, SMALL_QUERY);
}

/** The ledger of a lens read from ClickHouse: its days, then the windows of those not clean. */
async function readLedger(store: Store, sensors: number[], from: number, to: number, stats: ReadStats) {
  const days = await dayLedger(store, sensors, from, to, MS.day, stats);
  return { days, windows: await windowLedger(store, uncleanDayRanges(sensors, days, from, to), stats) };
}

async function execute(store: Store, plan: LensPlan, req: LensRequest, stats: ReadStats, settings: QuerySettings): Promise<LensResult> {
  const quality = req.quality ?? 'good';
  const { rows, rowsRead } = await queryBuckets(store, lensSql(store, plan, quality), settings);
  stats.rowsRead += rowsRead;
  return {
    from: plan.from,
    to: plan.to,
    step_ms: plan.stepMs,
    quality,
    sensors: seriesOf(req.sensors, plan, rows, quality),
    plan: { level_ms: plan.level, raw_windows: plan.rawWindows, rows_read: stats.rowsRead, segments: plan.segments.length },
  };
}

/** The full bucket grid of every sensor, empty buckets explicit, filled in one pass over the rows. */
function seriesOf(sensors: number[], plan: LensPlan, rows: BucketColumns, quality: LensQuality): SensorSeries[] {
  const n = (plan.to - plan.from) / plan.stepMs;
  const t = Array.from({ length: n }, (_, i) => plan.from + i * plan.stepMs);
  const bySensor = new Map<number, SensorSeries>();
  const zeros = () => new Array<number>(n).fill(0);
  const nulls = () => new Array<number | null>(n).fill(null);
  for (const sensor of sensors) {
    bySensor.set(sensor, {
      sensor,
      t: t.slice(),
      count: zeros(),
      good: zeros(),
      uncertain: zeros(),
      bad: zeros(),
      avg: nulls(),
      min: nulls(),
      max: nulls(),
      first: nulls(),
      last: nulls(),
    });
  }
  for (let r = 0; r < rows.length; r++) {
    const series = bySensor.get(rows.sensor[r]!);
    if (!series) continue;
    const i = (rows.bucket[r]! - plan.from) / plan.stepMs;
    const c = rows.count[r]!;
    const good = c - rows.uncertain[r]! - rows.bad[r]!;
    series.count[i] = c;
    series.good[i] = good;
    series.uncertain[i] = rows.uncertain[r]!;
    series.bad[i] = rows.bad[r]!;
    // A bucket without a point of the asked quality has no avg, min or max (its min and max are ±inf).
    const covered = quality === 'good' ? good : c;
    if (covered > 0) {
      series.avg[i] = rows.sum[r]! / covered;
      series.min[i] = rows.min[r]!;
      series.max[i] = rows.max[r]!;
    }
    series.first[i] = rows.first[r]!;
    series.last[i] = rows.last[r]!;
  }
  return sensors.map((sensor) => bySensor.get(sensor)!);
}
