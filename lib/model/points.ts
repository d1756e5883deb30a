/** Points as columns: what one insert writes into the raw table. */
export interface PointColumns {
  length: number;
  sensor: Uint32Array;
  ts: Float64Array;
  /** IEEE-754 doubles as written: stored and read back bit for bit. */
  value: Float64Array;
}

export function allocatePoints(capacity: number): PointColumns {
  return {
    length: 0,
    sensor: new Uint32Array(capacity),
    ts: new Float64Array(capacity),
    value: new Float64Array(capacity),
  };
}
