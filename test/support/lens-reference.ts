import { Rng } from '../../generator/rng';
import { expect } from 'vitest';
import type { LensResult } from '../../lib/lens/query';
import { exactSum, withinRelative } from './exact-sum';

export type Points = [number, number][];

export interface LensBody extends LensResult {}

/** Every point of a sensor in [from, to), through the paginated raw endpoint. */
export async function fetchRaw(baseUrl: string, sensor: number, from: number, to: number): Promise<Points> {
  const out: Points = [];
  let cursor: string | null = null;
  do {
    const url = `${baseUrl}/v1/raw?sensor=${sensor}&from=${from}&to=${to}&limit=200000${cursor ? `&cursor=${cursor}` : ''}`;
    const res = await fetch(url);
    expect(res.status).toBe(200);
    const page = (await res.json()) as { points: Points; next: string | null };
    for (const p of page.points) out.push(p);
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

/** Asserts that every bucket of a lens equals the aggregate of the raw points in it. */
export function expectExact(lens: LensBody, raw: Map<number, Points>): { buckets: number } {
  let buckets = 0;
  for (const s of lens.sensors) {
    const points = raw.get(s.sensor)!;
    for (let i = 0; i < s.t.length; i++) {
      const t = s.t[i]!;
      const a = lowerBound(points, t);
      const b = lowerBound(points, t + lens.step_ms);
      const where = `sensor ${s.sensor} bucket ${new Date(t).toISOString()} step ${lens.step_ms} plan ${JSON.stringify(lens.plan)}`;
      expect(s.count[i], where).toBe(b - a);
      buckets++;
      if (b === a) {
        expect([s.avg[i], s.min[i], s.max[i], s.first[i], s.last[i]], where).toEqual([null, null, null, null, null]);
        continue;
      }
      let min = Infinity;
      let max = -Infinity;
      let magnitude = 0;
      for (let k = a; k < b; k++) {
        const v = points[k]![1];
        if (v < min) min = v;
        if (v > max) max = v;
        magnitude += Math.abs(v);
      }
      expect(s.min[i], where).toBe(min);
      expect(s.max[i], where).toBe(max);
      expect(s.first[i], where).toBe(points[a]![1]);
      expect(s.last[i], where).toBe(points[b - 1]![1]);
      // The exact mean of the doubles as stored, within 1e-12 relative (DESIGN.md, non-negotiable 1).
      const avg = exactSum(points.slice(a, b).map((p) => p[1])) / (b - a);
      expect(withinRelative(s.avg[i]!, avg, 1e-12, magnitude / (b - a)), `${where}: avg ${s.avg[i]} vs exact ${avg}`).toBe(true);
    }
  }
  return { buckets };
}

/** The generator's deterministic PRNG, for reproducible random lenses. */
export function rng(seed: number): () => number {
  const random = new Rng(seed);
  return () => random.next();
}
