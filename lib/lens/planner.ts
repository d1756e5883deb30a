import { isClean, type LedgerRow } from '../clickhouse/ledger';
import { alignDown, alignUp, bucketCount, levelFor, MS, type Ladder } from '../model/ladder';

/** Where one stretch of a sensor's lens range is read from. */
export type Source = { kind: 'rollup'; level: number } | { kind: 'raw' };

export interface Segment {
  sensor: number;
  from: number;
  to: number;
  source: Source;
}

export interface LensPlan {
  stepMs: number;
  /** Bucket grid: [from, to) aligned to the step. */
  from: number;
  to: number;
  /** The rollup level whole lens buckets are built from (null: only raw can). */
  level: number | null;
  segments: Segment[];
  /** Windows read from raw because they are hot or dirty. */
  rawWindows: number;
}

export interface LedgerView {
  /** Day rows for the lens's sensors and days. */
  days: LedgerRow[];
  /** Window rows of the days that are not clean. */
  windows: LedgerRow[];
}

/** The days of [from, to) that the ledger says are not clean, per sensor: their windows must be looked at. */
export function uncleanDayRanges(sensors: number[], days: LedgerRow[], from: number, to: number) {
  const ranges: { sensor: number; from: number; to: number }[] = [];
  for (const d of days) {
    if (!sensors.includes(d.sensor) || isClean(d)) continue;
    ranges.push({ sensor: d.sensor, from: Math.max(d.start, alignDown(from, MS.day)), to: Math.min(d.start + MS.day, to) });
  }
  return ranges;
}

/**
 * Plans a lens: clean days come from the rollup level that tiles the step;
 * inside days that are not clean, clean windows come from rollups at a level
 * no coarser than the window and hot or dirty windows from raw. The result
 * equals aggregating raw over every bucket.
 */
export function planLens(
  ladder: Ladder,
  sensors: number[],
  rangeFrom: number,
  rangeTo: number,
  stepMs: number,
  ledger: LedgerView,
): LensPlan {
  const from = alignDown(rangeFrom, stepMs);
  const to = alignUp(rangeTo, stepMs);
  const level = levelFor(ladder, stepMs);
  const segments: Segment[] = [];
  let rawWindows = 0;
  if (level === null) {
    return planRaw(sensors, from, to, stepMs);
  }
  const dirtyDays = new Set(ledger.days.filter((d) => !isClean(d)).map((d) => `${d.sensor}:${d.start}`));
  const dirtyWindows = new Set(ledger.windows.filter((w) => !isClean(w)).map((w) => `${w.sensor}:${w.start}`));
  // A level above a day is usable for a block only if every day in it is clean;
  // otherwise the block's clean days read day rows.
  const block = Math.max(level, MS.day);
  const dayLevel = Math.min(level, MS.day);
  const windowLevel = Math.min(level, ladder.windowMs);
  for (const sensor of sensors) {
    const out: Segment[] = [];
    const push = (f: number, t: number, source: Source) => {
      if (t <= f) return;
      const last = out[out.length - 1];
      if (last && last.to === f && sameSource(last.source, source)) last.to = t;
      else out.push({ sensor, from: f, to: t, source });
    };
    for (let b = alignDown(from, block); b < to; b += block) {
      const days: number[] = [];
      for (let day = Math.max(b, alignDown(from, MS.day)); day < Math.min(b + block, to); day += MS.day) days.push(day);
      if (days.every((day) => !dirtyDays.has(`${sensor}:${day}`))) {
        push(Math.max(b, from), Math.min(b + block, to), { kind: 'rollup', level });
        continue;
      }
      for (const day of days) {
        const dayFrom = Math.max(day, from);
        const dayTo = Math.min(day + MS.day, to);
        if (!dirtyDays.has(`${sensor}:${day}`)) {
          push(dayFrom, dayTo, { kind: 'rollup', level: dayLevel });
          continue;
        }
        for (let w = alignDown(dayFrom, ladder.windowMs); w < dayTo; w += ladder.windowMs) {
          const wFrom = Math.max(w, dayFrom);
          const wTo = Math.min(w + ladder.windowMs, dayTo);
          if (dirtyWindows.has(`${sensor}:${w}`)) {
            rawWindows++;
            push(wFrom, wTo, { kind: 'raw' });
          } else {
            push(wFrom, wTo, { kind: 'rollup', level: windowLevel });
          }
        }
      }
    }
    segments.push(...out);
  }
  return { stepMs, from, to, level, segments, rawWindows };
}

/** Every bucket straight from raw points: the naive plan, for verification and benchmarks. */
export function planRaw(sensors: number[], rangeFrom: number, rangeTo: number, stepMs: number): LensPlan {
  const from = alignDown(rangeFrom, stepMs);
  const to = alignUp(rangeTo, stepMs);
  return {
    stepMs,
    from,
    to,
    level: null,
    segments: sensors.map((sensor) => ({ sensor, from, to, source: { kind: 'raw' } })),
    rawWindows: 0,
  };
}

function sameSource(a: Source, b: Source): boolean {
  return a.kind === b.kind && (a.kind === 'raw' || a.level === (b as { level: number }).level);
}

/** What a step costs: the level its buckets are built from (null: raw points) and the rows that reads at most. */
export interface StepCost {
  stepMs: number;
  level: number | null;
  rows: number;
}

/**
 * The rows a lens reads because of its step, at most: one row per bucket of
 * the tiling level over the whole grid, or, when no level tiles the step, one
 * raw point per millisecond (timestamps are whole milliseconds and a sensor
 * holds one point per timestamp). Days that are not clean read windows and
 * raw points whatever the step: that share is the compaction backlog's,
 * bounded by it, and is not counted here.
 */
export function stepCost(ladder: Ladder, sensors: number, from: number, to: number, stepMs: number): StepCost {
  const level = levelFor(ladder, stepMs);
  const grid = alignUp(to, stepMs) - alignDown(from, stepMs);
  return { stepMs, level, rows: (sensors * grid) / (level ?? 1) };
}

export type StepCheck = { ok: true } | { ok: false; cost: StepCost; nearest: number[] };

/**
 * Whether a lens of `stepMs` stays within `maxRows`; if not, the nearest
 * steps below and above it that do and that give at most `maxBuckets`
 * buckets. A cheap step is a multiple of some level L whose rows fit, so the
 * multiples of each level next to `stepMs` hold the nearest ones.
 */
export function checkStep(
  ladder: Ladder,
  sensors: number,
  range: { from: number; to: number },
  stepMs: number,
  limits: { maxRows: number; maxBuckets: number; maxStepMs: number },
): StepCheck {
  const cost = stepCost(ladder, sensors, range.from, range.to, stepMs);
  if (cost.rows <= limits.maxRows) return { ok: true };
  const fits = (s: number) =>
    s >= 1 &&
    s <= limits.maxStepMs &&
    bucketCount(range.from, range.to, s) <= limits.maxBuckets &&
    stepCost(ladder, sensors, range.from, range.to, s).rows <= limits.maxRows;
  const candidates = ladder.levels.flatMap((l) => [Math.floor(stepMs / l) * l, Math.ceil(stepMs / l) * l]).filter(fits);
  const below = candidates.filter((s) => s < stepMs);
  const above = candidates.filter((s) => s > stepMs);
  const nearest = [...(below.length > 0 ? [Math.max(...below)] : []), ...(above.length > 0 ? [Math.min(...above)] : [])];
  return { ok: false, cost, nearest };
}
