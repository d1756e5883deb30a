/** Points as columns: what one insert writes into the raw table. */
export interface PointColumns {
  length: number;
  sensor: Uint32Array;
  ts: Float64Array;
  /** IEEE-754 doubles as written: stored and read back bit for bit. */
  value: Float64Array;
  /** Quality code per point (lib/model/quality.ts); 0, good, unless written otherwise. */
  quality: Uint8Array;
}

export function allocatePoints(capacity: number): PointColumns {
  return {
    length: 0,
    sensor: new Uint32Array(capacity),
    ts: new Float64Array(capacity),
    value: new Float64Array(capacity),
    quality: new Uint8Array(capacity),
  };
}

/** Appends point i of `from` to `to`. */
export function appendPoint(to: PointColumns, from: PointColumns, i: number): void {
  const k = to.length++;
  to.sensor[k] = from.sensor[i]!;
  to.ts[k] = from.ts[i]!;
  to.value[k] = from.value[i]!;
  to.quality[k] = from.quality[i]!;
}

/** Appends the first `from.length` points of `from` to `to`, in one copy per column. */
export function appendPoints(to: PointColumns, from: PointColumns): void {
  const n = from.length;
  to.sensor.set(from.sensor.subarray(0, n), to.length);
  to.ts.set(from.ts.subarray(0, n), to.length);
  to.value.set(from.value.subarray(0, n), to.length);
  to.quality.set(from.quality.subarray(0, n), to.length);
  to.length += n;
}
