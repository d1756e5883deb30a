import type { BatchLimits, IrregularBatch } from './types';
import { CRC_BYTES, LAYOUT_V2 } from './frame';

const DAY_MS = 86_400_000;

/** A point of a sensor, its value a JS number; no quality: good. */
export interface IdPoint {
  sensor: number;
  ts: number;
  value: number;
  quality?: number;
}

function varintLength(v: number): number {
  let len = 1;
  for (let x = v; x >= 128; x = Math.floor(x / 128)) len++;
  return len;
}

/**
 * Irregular batches of points that each sensor has at distinct timestamps
 * (the caller removed repeats): per sensor in time order, each batch within
 * the limits ingest checks (points, UTC days, frame bytes), so none is
 * refused for its size.
 */
export function batchesOfPoints(points: readonly IdPoint[], limits: BatchLimits): IrregularBatch[] {
  const sorted = [...points].sort((a, b) => a.sensor - b.sensor || a.ts - b.ts);
  const maxDays = limits.ingest?.maxDays ?? Number.POSITIVE_INFINITY;
  const maxBytes = limits.ingest?.maxBytes ?? Number.POSITIVE_INFINITY;
  const out: IrregularBatch[] = [];
  let run: IdPoint[] = [];
  let bytes = 0;
  const flush = () => {
    if (run.length === 0) return;
    out.push({
      kind: 'irregular',
      sensor: run[0]!.sensor,
      timestamps: Float64Array.from(run, (p) => p.ts),
      values: Float64Array.from(run, (p) => p.value),
      // Quality bytes only where a point is not good: an all-good batch is the frame it always was.
      ...(run.some((p) => p.quality) ? { quality: Uint8Array.from(run, (p) => p.quality ?? 0) } : {}),
    });
    run = [];
  };
  for (const p of sorted) {
    const prev = run.at(-1);
    // A version 2 frame: each later point adds its time delta (a varint of microseconds), a Float64 value and
    // perhaps a quality byte (counted always: a batch stays within the limit whatever its points' quality).
    const grow = prev?.sensor === p.sensor ? varintLength((p.ts - prev.ts) * LAYOUT_V2.unitsPerMs) + 8 + 1 : 0;
    const fits =
      prev !== undefined &&
      prev.sensor === p.sensor &&
      run.length < limits.maxPoints &&
      Math.floor(p.ts / DAY_MS) - Math.floor(run[0]!.ts / DAY_MS) < maxDays &&
      bytes + grow <= maxBytes;
    if (!fits) {
      flush();
      bytes = LAYOUT_V2.irregularHeaderBytes + 8 + 1 + CRC_BYTES;
    } else bytes += grow;
    run.push(p);
  }
  flush();
  return out;
}
