/**
 * The rollup pyramid's levels and the compaction window. Fine levels divide
 * the window and are computed from raw points of one window; coarse levels
 * are multiples of the window, computed from the window level's rows.
 */
export const MS = { second: 1000, minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;

// Levels above a day keep even a century-long lens within 5 rows per bucket.
export const DEFAULT_LEVELS_MS = [
  10,
  100,
  1000,
  10_000,
  MS.minute,
  10 * MS.minute,
  MS.hour,
  MS.day,
  10 * MS.day,
  100 * MS.day,
  1000 * MS.day,
  10_000 * MS.day,
] as const;

/** Compaction unit: one sensor × one window. */
export const WINDOW_MS = MS.minute;

export interface Ladder {
  levels: number[];
  windowMs: number;
  fine: number[];
  coarse: number[];
}

export function makeLadder(levels: readonly number[] = DEFAULT_LEVELS_MS, windowMs: number = WINDOW_MS): Ladder {
  const sorted = [...new Set(levels)].sort((a, b) => a - b);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]! % sorted[i - 1]! !== 0) throw new Error(`rollup level ${sorted[i]} ms is not a multiple of ${sorted[i - 1]} ms`);
  }
  if (!sorted.includes(windowMs)) throw new Error(`the compaction window (${windowMs} ms) must be a rollup level`);
  if (MS.day % windowMs !== 0) throw new Error('the compaction window must divide a day');
  return {
    levels: sorted,
    windowMs,
    fine: sorted.filter((l) => l <= windowMs),
    coarse: sorted.filter((l) => l > windowMs),
  };
}

/** Largest level whose buckets tile a lens bucket of `stepMs` exactly; null when only raw can (step below the finest level). */
export function levelFor(ladder: Ladder, stepMs: number): number | null {
  let best: number | null = null;
  for (const l of ladder.levels) if (l <= stepMs && stepMs % l === 0) best = l;
  return best;
}

/**
 * Lens bucket widths: the 1-2-5 series in ms, s, min, h and d. Every width is
 * a multiple of a rollup level at most 5 times smaller (10 h would need ten
 * 1 h rows, so hours stop at 5 h and days take over).
 */
export const NICE_STEPS_MS: number[] = [
  ...[1, 2, 5, 10, 20, 50, 100, 200, 500],
  ...[1, 2, 5, 10, 20, 50].map((n) => n * MS.second),
  ...[1, 2, 5, 10, 20, 50].map((n) => n * MS.minute),
  ...[1, 2, 5].map((n) => n * MS.hour),
  ...[1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000].map((n) => n * MS.day),
];

/**
 * The smallest nice width giving at most `points` buckets over [from, to),
 * with buckets aligned to the epoch.
 */
export function niceStep(from: number, to: number, points: number): number {
  for (const step of NICE_STEPS_MS) {
    if (bucketCount(from, to, step) <= points) return step;
  }
  return NICE_STEPS_MS[NICE_STEPS_MS.length - 1]!;
}

export function alignDown(t: number, step: number): number {
  return Math.floor(t / step) * step;
}

export function alignUp(t: number, step: number): number {
  return Math.ceil(t / step) * step;
}

export function bucketCount(from: number, to: number, step: number): number {
  return (alignUp(to, step) - alignDown(from, step)) / step;
}
