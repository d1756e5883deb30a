/**
 * One sensor batch: the unit the upstream delivers and Kafka carries.
 * Timestamps are integer epoch milliseconds; values are stored as Float32.
 */
export type SensorBatch = RegularBatch | IrregularBatch;

/** Evenly spaced points: ts(i) = start + i * periodMs. */
export interface RegularBatch {
  kind: 'regular';
  sensor: number;
  start: number;
  periodMs: number;
  values: Float32Array;
}

/** Explicit, strictly increasing timestamps. */
export interface IrregularBatch {
  kind: 'irregular';
  sensor: number;
  timestamps: Float64Array;
  values: Float32Array;
}

/** What is wrong with an input, in the shape the HTTP API returns it. */
export interface BatchError {
  code: string;
  message: string;
  field: string;
}

export type Decoded<T> = { ok: true; value: T } | { ok: false; error: BatchError };

/** Bounds every decoder enforces; see docs/batch-format.md. */
export interface BatchLimits {
  maxSensorId: number;
  minTs: number;
  maxTs: number;
  maxPoints: number;
}

export const DEFAULT_BATCH_LIMITS: BatchLimits = {
  maxSensorId: 999_999,
  minTs: Date.UTC(2000, 0, 1),
  maxTs: Date.UTC(2100, 0, 1),
  maxPoints: 100_000,
};

export function pointCount(batch: SensorBatch): number {
  return batch.values.length;
}

export function timestampAt(batch: SensorBatch, i: number): number {
  return batch.kind === 'regular' ? batch.start + i * batch.periodMs : batch.timestamps[i]!;
}

export function firstTimestamp(batch: SensorBatch): number {
  return timestampAt(batch, 0);
}

export function lastTimestamp(batch: SensorBatch): number {
  return timestampAt(batch, batch.values.length - 1);
}
