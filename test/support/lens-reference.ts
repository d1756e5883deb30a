import { Rng } from '../../generator/rng';
import { expect } from 'vitest';
import type { LensResult } from '../../lib/lens/query';
import { exactSum, withinRelative } from './exact-sum';

/** [ts, value], and a third element, the quality code, for a point that is not good. */
export type Points = ([number, number] | [number, number, number])[];

export interface LensBody extends LensResult {}

/** Every point of a sensor in [from, to), through the paginated raw endpoint. */
export async function fetchRaw(baseUrl: string, sensor: number, from: number, to: number): Promise<Points> {
  const out: Points = [];
  let cursor: string | null = null;
  do {
    const url = `${baseUrl}/v1/raw?sensor=${sensor}&from=${from}&to=${to}&limit=200000${cursor ? `&cursor=${cursor}` : ''}`;
    const res = await fetch(url);
    expect(res.status).toBe(200);
    const page = (await res.json()) as { points: [number, number][]; quality: number[]; next: string | null };
    page.points.forEach((p, i) => {
      const q = page.quality[i]!;
      out.push(q === 0 ? p : [p[0], p[1], q]);
    });
    cursor = page.next;
  } while (cursor);
  return out;
}

/** Lower bound index of ts in sorted points. */
function lowerBound(points: Points, ts: number): number {
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (points[mid]![0] < ts) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Asserts that every bucket of a lens equals the aggregate of the raw points
 * in it: counts per quality, first and last over every point, avg, min and
 * max over the points the lens's quality covers (the good ones, or any).
 */
export function expectExact(lens: LensBody, raw: Map<number, Points>): { buckets: number } {
  let buckets = 0;
  for (const s of lens.sensors) {
    const points = raw.get(s.sensor)!;
    for (let i = 0; i < s.t.length; i++) {
      const t = s.t[i]!;
      const a = lowerBound(points, t);
      const b = lowerBound(points, t + lens.step_ms);
      const where = `sensor ${s.sensor} bucket ${new Date(t).toISOString()} step ${lens.step_ms} plan ${JSON.stringify(lens.plan)}`;
      const inBucket = points.slice(a, b);
      const quality = (p: Points[number]) => p[2] ?? 0;
      const counts = [0, 1, 2].map((q) => inBucket.filter((p) => quality(p) === q).length);
      expect([s.count[i], s.good[i], s.uncertain[i], s.bad[i]], where).toEqual([b - a, ...counts]);
      buckets++;
      expect([s.first[i], s.last[i]], where).toEqual(b === a ? [null, null] : [points[a]![1], points[b - 1]![1]]);
      const covered = inBucket.filter((p) => lens.quality === 'any' || quality(p) === 0).map((p) => p[1]);
      expectStats(s.avg[i] ?? null, s.min[i] ?? null, s.max[i] ?? null, covered, where);
    }
  }
  return { buckets };
}

function expectStats(avg: number | null, min: number | null, max: number | null, values: number[], where: string): void {
  if (values.length === 0) {
    expect([avg, min, max], where).toEqual([null, null, null]);
    return;
  }
  let lo = Infinity;
  let hi = -Infinity;
  let magnitude = 0;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
    magnitude += Math.abs(v);
  }
  expect(min, where).toBe(lo);
  expect(max, where).toBe(hi);
  // The exact mean of the doubles as stored, within 1e-12 relative (DESIGN.md, non-negotiable 1).
  const exact = exactSum(values) / values.length;
  expect(withinRelative(avg!, exact, 1e-12, magnitude / values.length), `${where}: avg ${avg} vs exact ${exact}`).toBe(true);
}

/** The generator's deterministic PRNG, for reproducible random lenses. */
export function rng(seed: number): () => number {
  const random = new Rng(seed);
  return () => random.next();
}
