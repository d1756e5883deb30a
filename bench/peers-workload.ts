/**
 * What bench-peers gives both systems alike: the generated data, a minute of
 * all sensors at a time, and the same random lenses on whole buckets; and
 * how each system is measured on them (ingest through a write pool, lens
 * latency per preset, bytes on disk).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { RegularBatch } from '../lib/batch/types';
import { niceStep } from '../lib/model/ladder';
import { sensorValues } from '../generator/signal';
import { percentile } from '../harness/verify/latency';

/** The data: sensors 1..sensors at rate Hz over [from, to). */
export interface PeerData {
  sensors: number;
  from: number;
  to: number;
  rate: number;
}

export interface Lens {
  sensors: number[];
  from: number;
  to: number;
  step: number;
}

/** The lenses of one preset (a span of time). */
export interface PresetWorkload {
  name: string;
  span: number;
  lenses: Lens[];
}

export interface Latency {
  p50_ms: number;
  p99_ms: number;
}

/** What one system measured; both are reported side by side. */
export interface PeerMeasurement {
  ingest_seconds: number;
  ingest_points_per_s: number;
  bytes_on_disk: number;
  bytes_per_point: number;
  lens: Record<string, Latency>;
}

/** One run of bench-peers: the data and its size in points, the lenses, the progress log. */
export interface PeerRun {
  data: PeerData;
  points: number;
  workload: PresetWorkload[];
  log: (line: string) => void;
}

const CHUNK_MS = 60_000;

/** `queries` random lenses per preset, from a fixed seed: the same windows for both systems. */
export function makeWorkload(presets: Record<string, number>, data: PeerData, queries: number, points: number): PresetWorkload[] {
  const { from, to } = data;
  const sensorIds = Array.from({ length: data.sensors }, (_, i) => i + 1);
  let seed = 12345;
  const rand = () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 4294967296;
  };
  return Object.entries(presets).map(([name, span]) => ({
    name,
    span,
    lenses: Array.from({ length: queries }, () => {
      const n = 1 + Math.floor(rand() * data.sensors);
      const end = from + span + Math.floor(rand() * Math.max(0, to - from - span));
      // Windows on whole buckets, so both systems aggregate exactly the same points.
      const step = niceStep(end - span, end, points);
      return { sensors: sensorIds.slice(0, n), from: Math.floor((end - span) / step) * step, to: Math.ceil(end / step) * step, step };
    }),
  }));
}

/** The data, a minute of all sensors at a time: the same values both systems get. */
export function* chunks(o: PeerData): Generator<RegularBatch[]> {
  const period = 1000 / o.rate;
  for (let t = o.from; t < o.to; t += CHUNK_MS) {
    const count = Math.min(CHUNK_MS, o.to - t) / period;
    yield Array.from({ length: o.sensors }, (_, i) => ({
      kind: 'regular' as const,
      sensor: i + 1,
      start: t,
      periodMs: period,
      values: sensorValues(1, i + 1, t, period, count),
    }));
  }
}

/** Runs `work` over items with `concurrency` in flight. */
export async function pool<T>(items: Iterable<T>, concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  const it = items[Symbol.iterator]();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let n = it.next(); !n.done; n = it.next()) await work(n.value);
    }),
  );
}

/**
 * Every lens of the workload, one at a time, timed by `query`'s round trip:
 * p50/p99 per preset, and `count` (the points aggregated) of each preset's
 * first lens, for comparing both systems' answers.
 */
export async function lensLatency<B>(
  workload: PresetWorkload[],
  query: (lens: Lens) => Promise<B>,
  count: (body: B) => number,
): Promise<{ latency: Record<string, Latency>; counts: number[] }> {
  const latency: Record<string, Latency> = {};
  const counts: number[] = [];
  for (const p of workload) {
    const l: number[] = [];
    for (const q of p.lenses) {
      const t0 = performance.now();
      const body = await query(q);
      l.push(performance.now() - t0);
      if (q === p.lenses[0]) counts.push(count(body));
    }
    l.sort((a, b) => a - b);
    latency[p.name] = { p50_ms: percentile(l, 0.5), p99_ms: percentile(l, 0.99) };
  }
  return { latency, counts };
}

/** Bytes of the regular files under dir (0 when it does not exist). */
export function duBytes(dir: string): number {
  let total = 0;
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) total += fs.statSync(p).size;
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return total;
}
