/**
 * What bench-peers gives every system alike: the generated data, a minute of
 * all sensors at a time, and the same random lenses on whole buckets (how
 * each is measured on them is peers-measure.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { RegularBatch } from '../lib/batch/types';
import { niceStep } from '../lib/model/ladder';
import { sensorValues } from '../generator/signal';

/** The data: sensors 1..sensors at rate Hz over [from, to). */
export interface PeerData {
  sensors: number;
  from: number;
  to: number;
  rate: number;
}

/** A real recording as one sensor: its whole-ms times and values (bench/peers-ecg.ts). */
export interface EcgSeries {
  sensor: number;
  times: Float64Array;
  values: Float64Array;
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

/** Round trips of one latency cell; a percentile that falls among the aborted requests is null (slower than the request timeout). */
export interface Latency {
  p50_ms: number | null;
  p99_ms: number | null;
  sent: number;
  timed_out: number;
}

/** One run of bench-peers: the data and its size in points, the lenses, the progress log. */
export interface PeerRun {
  data: PeerData;
  points: number;
  workload: PresetWorkload[];
  /** The real recording, written beside the generated sensors (null: left out). */
  ecg: EcgSeries | null;
  /** A latency cell (one preset at one client count) sends no request after this long. */
  cellDeadlineMs: number;
  /** A lens request unanswered after this long is aborted. */
  requestTimeoutMs: number;
  /** Concurrent writers feeding each system. */
  writers: number;
  log: (line: string) => void;
}

/** A write carries about this many points (line protocol for 200k points is ~8 MB). */
const CHUNK_POINTS = 200_000;

/** `queries` random lenses per preset over the first `lensSensors` sensors, from a fixed seed: the same windows for every system. */
export function makeWorkload(
  presets: Record<string, number>,
  data: PeerData,
  queries: number,
  points: number,
  lensSensors: number,
): PresetWorkload[] {
  const { from, to } = data;
  const sensorIds = Array.from({ length: Math.min(lensSensors, data.sensors) }, (_, i) => i + 1);
  let seed = 12345;
  const rand = () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 4294967296;
  };
  return Object.entries(presets).map(([name, span]) => ({
    name,
    span,
    lenses: Array.from({ length: queries }, () => {
      const end = from + span + Math.floor(rand() * Math.max(0, to - from - span));
      // Windows on whole buckets, so both systems aggregate exactly the same points.
      const step = niceStep(end - span, end, points);
      return { sensors: sensorIds, from: Math.floor((end - span) / step) * step, to: Math.ceil(end / step) * step, step };
    }),
  }));
}

/** A lens of `span` centred on `mid`, about `points` buckets, on whole buckets (every system then aggregates the same points). */
export function centredLens(mid: number, span: number, sensors: number[], points: number): Lens {
  const step = niceStep(mid - span / 2, mid + span / 2, points);
  return { sensors, from: Math.floor((mid - span / 2) / step) * step, to: Math.ceil((mid + span / 2) / step) * step, step };
}

/**
 * The data, whole seconds (at most an hour) of all sensors at a time: the
 * same values every system gets. At low rates a write still carries about
 * CHUNK_POINTS points, so a 30-day run at 1 Hz is hundreds of writes, not
 * tens of thousands (each a ClickHouse part).
 */
export function* chunks(o: PeerData): Generator<RegularBatch[]> {
  const period = 1000 / o.rate;
  const chunkMs = Math.min(3_600_000, Math.max(1000, Math.floor(CHUNK_POINTS / (o.sensors * o.rate)) * 1000));
  for (let t = o.from; t < o.to; t += chunkMs) {
    const count = Math.min(chunkMs, o.to - t) / period;
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
 * Bytes the regular files under dir occupy on disk (allocated blocks, 0 when
 * it does not exist): InfluxDB and QuestDB preallocate sparse files whose
 * apparent size is many times what they hold.
 */
export function duBytes(dir: string): number {
  let total = 0;
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) total += fs.statSync(p).blocks * 512;
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return total;
}

/** Resolves once `read()` gives the same value twice `intervalMs` apart (background merges or purges done). */
export async function untilStable(read: () => number, intervalMs: number, timeoutMs: number): Promise<void> {
  let last = read();
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; ) {
    await new Promise((r) => setTimeout(r, intervalMs));
    const now = read();
    if (now === last) return;
    last = now;
  }
}
