/**
 * Exactness of a system's lens answer against the raw generated points,
 * bucket by bucket and field by field: count, min, max, first and last must
 * be equal; avg is compared by its error relative to the bucket's largest
 * magnitude (summation order differs between systems, so the last bits may;
 * relative to the mean itself, a bucket whose mean is near 0 would make any
 * rounding look huge), reported, not rounded away. The expected mean is
 * summed with Neumaier's compensation, so it is the exact mean to the last bit
 * or so whatever the order.
 */
import { sensorValues } from '../generator/signal';
import type { BucketRow } from './peers-peer';
import type { Lens, PeerData } from './peers-workload';

type Field = 'count' | 'min' | 'max' | 'first' | 'last';
const FIELDS: Field[] = ['count', 'min', 'max', 'first', 'last'];

export interface Exactness {
  buckets: number;
  /** Buckets with points the system did not return. */
  missing: number;
  /** Buckets the system returned that hold no points. */
  extra: number;
  /** Buckets where the field differs. */
  wrong: Record<Field, number>;
  /** Largest |avg − exact| / max(|exact|, |min|, |max|) over the buckets both hold. */
  avg_max_rel_err: number;
  /** The first few differences, for reading. */
  examples: string[];
}

/** The exact buckets of a lens, from the generator (the same values every system was given). */
export function expectedBuckets(data: PeerData, lens: Lens): BucketRow[] {
  const period = 1000 / data.rate;
  const from = Math.max(lens.from, data.from);
  const to = Math.min(lens.to, data.to);
  if (to <= from) return [];
  const i0 = Math.ceil((from - data.from) / period);
  const i1 = Math.ceil((to - data.from) / period);
  const start = data.from + i0 * period;
  const times = Float64Array.from({ length: i1 - i0 }, (_, i) => start + i * period);
  return lens.sensors.flatMap((sensor) => bucketsOf(sensor, times, sensorValues(1, sensor, start, period, i1 - i0), lens));
}

/** The buckets of one sensor's points (times ascending) inside a lens, aggregated in time order. */
export function bucketsOf(sensor: number, times: Float64Array, values: Float64Array, lens: Lens): BucketRow[] {
  const out: BucketRow[] = [];
  let cur: BucketRow | null = null;
  let sum = 0;
  let comp = 0;
  for (let i = 0; i < values.length; i++) {
    const ts = times[i]!;
    if (ts < lens.from || ts >= lens.to) continue;
    const t = lens.from + Math.floor((ts - lens.from) / lens.step) * lens.step;
    const v = values[i]!;
    if (!cur || cur.t !== t) {
      if (cur) cur.avg = (sum + comp) / cur.count;
      cur = { sensor, t, count: 0, avg: null, min: v, max: v, first: v, last: v };
      sum = 0;
      comp = 0;
      out.push(cur);
    }
    cur.count++;
    // Neumaier: the low-order bits each addition loses, kept apart.
    const next = sum + v;
    comp += Math.abs(sum) >= Math.abs(v) ? sum - next + v : v - next + sum;
    sum = next;
    cur.min = Math.min(cur.min!, v);
    cur.max = Math.max(cur.max!, v);
    cur.last = v;
  }
  if (cur) cur.avg = (sum + comp) / cur.count;
  return out;
}

/** Compares `got` with `want` bucket by bucket (keyed by sensor and bucket start). */
export function compareBuckets(want: BucketRow[], got: BucketRow[]): Exactness {
  const key = (r: BucketRow) => `${r.sensor}@${r.t}`;
  const gotBy = new Map(got.filter((r) => r.count > 0).map((r) => [key(r), r]));
  const e: Exactness = {
    buckets: want.length,
    missing: 0,
    extra: 0,
    wrong: { count: 0, min: 0, max: 0, first: 0, last: 0 },
    avg_max_rel_err: 0,
    examples: [],
  };
  const note = (s: string) => e.examples.length < 5 && e.examples.push(s);
  for (const w of want) {
    const g = gotBy.get(key(w));
    gotBy.delete(key(w));
    if (!g) {
      e.missing++;
      note(`${key(w)} missing (${w.count} points)`);
      continue;
    }
    for (const f of FIELDS)
      if (g[f] !== w[f]) {
        e.wrong[f]++;
        note(`${key(w)} ${f} ${g[f]} ≠ ${w[f]}`);
      }
    const scale = Math.max(Math.abs(w.avg!), Math.abs(w.min!), Math.abs(w.max!), Number.MIN_VALUE);
    const rel = Math.abs((g.avg ?? Number.NaN) - w.avg!) / scale;
    e.avg_max_rel_err = Math.max(e.avg_max_rel_err, Number.isNaN(rel) ? Number.POSITIVE_INFINITY : rel);
  }
  e.extra = gotBy.size;
  for (const k of [...gotBy.keys()].slice(0, 2)) note(`${k} extra`);
  return e;
}

/** True when every bucket is there with exact count, min, max, first and last. */
export function isExact(e: Exactness): boolean {
  return e.missing === 0 && e.extra === 0 && FIELDS.every((f) => e.wrong[f] === 0);
}
