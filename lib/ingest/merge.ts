import { timestampAt, type SensorBatch } from '../batch/types';
import { allocatePoints, type PointColumns } from '../model/points';
import type { OffsetBatch } from './decode';

/**
 * Turns a chunk's batches into points sorted by (sensor, ts) with each
 * (sensor, ts) once. Where a chunk holds the same timestamp twice (a re-sent
 * batch), the record with the lower offset wins: first write wins, as it does
 * against stored data.
 */
export function mergeBatches(batches: OffsetBatch[]): PointColumns {
  const bySensor = new Map<number, OffsetBatch[]>();
  let total = 0;
  for (const b of batches) {
    let list = bySensor.get(b.batch.sensor);
    if (!list) bySensor.set(b.batch.sensor, (list = []));
    list.push(b);
    total += b.batch.values.length;
  }
  const out = allocatePoints(total);
  for (const sensor of [...bySensor.keys()].sort((a, b) => a - b)) {
    appendSensor(out, sensor, bySensor.get(sensor)!);
  }
  return out;
}

function appendSensor(out: PointColumns, sensor: number, list: OffsetBatch[]): void {
  const sorted = [...list].sort((a, b) => timestampAt(a.batch, 0) - timestampAt(b.batch, 0) || a.offset - b.offset);
  if (disjointInOrder(sorted)) {
    // The common case: consecutive seconds of one sensor, copied as they are.
    for (const { batch } of sorted) appendBatch(out, sensor, batch);
    return;
  }
  mergeOverlapping(out, sensor, sorted);
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
  for (let i = 0; i < n; i++) out.ts[base + i] = timestampAt(batch, i);
  out.length += n;
}

function mergeOverlapping(out: PointColumns, sensor: number, sorted: OffsetBatch[]): void {
  const points: { ts: number; value: number; offset: number }[] = [];
  for (const { offset, batch } of sorted) {
    for (let i = 0; i < batch.values.length; i++) points.push({ ts: timestampAt(batch, i), value: batch.values[i]!, offset });
  }
  points.sort((a, b) => a.ts - b.ts || a.offset - b.offset);
  let last = Number.NaN;
  for (const p of points) {
    if (p.ts === last) continue;
    last = p.ts;
    out.sensor[out.length] = sensor;
    out.ts[out.length] = p.ts;
    out.value[out.length] = p.value;
    out.length++;
  }
}

/** Keeps the points for which `keep(i)` is true, in place. */
export function filterPoints(points: PointColumns, keep: (i: number) => boolean): void {
  let w = 0;
  for (let r = 0; r < points.length; r++) {
    if (!keep(r)) continue;
    points.sensor[w] = points.sensor[r]!;
    points.ts[w] = points.ts[r]!;
    points.value[w] = points.value[r]!;
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
  };
}
