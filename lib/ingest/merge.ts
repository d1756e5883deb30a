import { timestampAt, type SensorBatch } from '../batch/types';
import { allocatePoints, type PointColumns } from '../model/points';
import { samePoint, type OffsetConflict } from './conflicts';
import type { OffsetBatch } from './decode';

export interface MergedChunk {
  points: PointColumns;
  /** Repeats of a (sensor, ts) with another value than the kept one, each with the offset that offered it. */
  conflicts: OffsetConflict[];
}

/**
 * Turns a chunk's batches into points sorted by (sensor, ts) with each
 * (sensor, ts) once. Where a chunk holds the same timestamp twice, the record
 * with the lower offset wins: first write wins, as it does against stored
 * data. An identical repeat (a re-sent batch) collapses silently; a repeat
 * with another value is a conflict, reported with its offset. Corrections
 * (`latestWins`) go the other way: the higher offset corrects the lower.
 */
export function mergeBatches(batches: OffsetBatch[], latestWins = false): MergedChunk {
  const bySensor = new Map<number, OffsetBatch[]>();
  let total = 0;
  for (const b of batches) {
    let list = bySensor.get(b.batch.sensor);
    if (!list) bySensor.set(b.batch.sensor, (list = []));
    list.push(latestWins ? { ...b, offset: -b.offset } : b);
    total += b.batch.values.length;
  }
  const out = allocatePoints(total);
  const conflicts: OffsetConflict[] = [];
  for (const sensor of [...bySensor.keys()].sort((a, b) => a - b)) {
    appendSensor(out, conflicts, sensor, bySensor.get(sensor)!);
  }
  return { points: out, conflicts: latestWins ? conflicts.map((c) => ({ ...c, offset: -c.offset })) : conflicts };
}

function appendSensor(out: PointColumns, conflicts: OffsetConflict[], sensor: number, list: OffsetBatch[]): void {
  const sorted = [...list].sort((a, b) => timestampAt(a.batch, 0) - timestampAt(b.batch, 0) || a.offset - b.offset);
  if (disjointInOrder(sorted)) {
    // The common case: consecutive seconds of one sensor, copied as they are.
    for (const { batch } of sorted) appendBatch(out, sensor, batch);
    return;
  }
  mergeOverlapping(out, conflicts, sensor, sorted);
}

function disjointInOrder(sorted: OffsetBatch[]): boolean {
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!.batch;
    if (timestampAt(sorted[i]!.batch, 0) <= timestampAt(prev, prev.values.length - 1)) return false;
  }
  return true;
}

function appendBatch(out: PointColumns, sensor: number, batch: SensorBatch): void {
  const n = batch.values.length;
  const base = out.length;
  out.sensor.fill(sensor, base, base + n);
  out.value.set(batch.values, base);
  if (batch.quality) out.quality.set(batch.quality, base);
  for (let i = 0; i < n; i++) out.ts[base + i] = timestampAt(batch, i);
  out.length += n;
}

function mergeOverlapping(out: PointColumns, conflicts: OffsetConflict[], sensor: number, sorted: OffsetBatch[]): void {
  const points: { ts: number; value: number; quality: number; offset: number }[] = [];
  for (const { offset, batch } of sorted) {
    for (let i = 0; i < batch.values.length; i++)
      points.push({ ts: timestampAt(batch, i), value: batch.values[i]!, quality: batch.quality?.[i] ?? 0, offset });
  }
  points.sort((a, b) => a.ts - b.ts || a.offset - b.offset);
  let last = Number.NaN;
  for (const p of points) {
    if (p.ts === last) {
      const kept = { value: out.value[out.length - 1]!, quality: out.quality[out.length - 1]! };
      if (!samePoint(kept, p)) {
        const { offset, ts } = p;
        conflicts.push({
          sensor,
          ts,
          stored: kept.value,
          offered: p.value,
          storedQuality: kept.quality,
          offeredQuality: p.quality,
          offset,
        });
      }
      continue;
    }
    last = p.ts;
    out.sensor[out.length] = sensor;
    out.ts[out.length] = p.ts;
    out.value[out.length] = p.value;
    out.quality[out.length] = p.quality;
    out.length++;
  }
}

/**
 * Finds the record that offered the chunk's point (sensor, ts): the lowest
 * offset holding it, the one mergeBatches keeps. Undefined if none does.
 */
export function originFinder(batches: readonly OffsetBatch[]): (sensor: number, ts: number) => number | undefined {
  const bySensor = new Map<number, OffsetBatch[]>();
  for (const b of [...batches].sort((x, y) => x.offset - y.offset)) {
    let list = bySensor.get(b.batch.sensor);
    if (!list) bySensor.set(b.batch.sensor, (list = []));
    list.push(b);
  }
  return (sensor, ts) => bySensor.get(sensor)?.find((b) => indexOfTs(b.batch, ts) >= 0)?.offset;
}

function indexOfTs(batch: SensorBatch, ts: number): number {
  const n = batch.values.length;
  if (batch.kind === 'regular') {
    const k = Math.round((ts - batch.start) / batch.periodMs);
    return k >= 0 && k < n && timestampAt(batch, k) === ts ? k : -1;
  }
  let lo = 0;
  let hi = n - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const t = batch.timestamps[mid]!;
    if (t === ts) return mid;
    if (t < ts) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** Keeps the points for which `keep(i)` is true, in place. */
export function filterPoints(points: PointColumns, keep: (i: number) => boolean): void {
  let w = 0;
  for (let r = 0; r < points.length; r++) {
    if (!keep(r)) continue;
    points.sensor[w] = points.sensor[r]!;
    points.ts[w] = points.ts[r]!;
    points.value[w] = points.value[r]!;
    points.quality[w] = points.quality[r]!;
    w++;
  }
  points.length = w;
}

/** Views of the first `length` rows, for hashing and encoding. */
export function trimmed(points: PointColumns): PointColumns {
  return {
    length: points.length,
    sensor: points.sensor.subarray(0, points.length),
    ts: points.ts.subarray(0, points.length),
    value: points.value.subarray(0, points.length),
    quality: points.quality.subarray(0, points.length),
  };
}
