/**
 * One sensor batch: the unit the upstream delivers and Kafka carries.
 * Timestamps are integer epoch milliseconds; values are IEEE-754 doubles,
 * stored and read back bit for bit.
 */
export type SensorBatch = RegularBatch | IrregularBatch;

/** Evenly spaced points: ts(i) = start + i * periodMs. */
export interface RegularBatch {
  kind: 'regular';
  sensor: number;
  start: number;
  periodMs: number;
  values: Float64Array;
  /** One code per point (lib/model/quality.ts); absent: every point is good. */
  quality?: Uint8Array;
}

/** Explicit, strictly increasing timestamps. */
export interface IrregularBatch {
  kind: 'irregular';
  sensor: number;
  timestamps: Float64Array;
  values: Float64Array;
  /** One code per point (lib/model/quality.ts); absent: every point is good. */
  quality?: Uint8Array;
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
  /** Checked only where set: by ingest (HTTP and Kafka), from Config; the format itself has no such bounds. */
  ingest?: IngestLimits;
}

/** What ingest accepts beyond the format rules (docs/batch-format.md, "Ingest limits"). */
export interface IngestLimits {
  /**
   * UTC days a batch may touch, from its first point's day to its last's.
   * Raw is partitioned by day; at most 100 (ClickHouse's
   * `max_partitions_per_insert_block`) keeps every batch storable as one block.
   */
  maxDays: number;
  /** Size of a batch's binary frame, which is what its Kafka record carries. */
  maxBytes: number;
  /** How far after `now` a timestamp may lie (the clocks of upstream and Herodotus differ). */
  futureSkewMs: number;
  /**
   * The instant timestamps are checked against (epoch ms): a request's
   * arrival over HTTP, the ingest workflow's decision time for a chunk from
   * Kafka (so that a retried chunk decides the same way). Absent: no future check.
   */
  now?: number;
}

export const DEFAULT_BATCH_LIMITS: BatchLimits = {
  maxSensorId: 999_999,
  minTs: Date.UTC(2000, 0, 1),
  maxTs: Date.UTC(2100, 0, 1),
  maxPoints: 100_000,
};

/** The same limits, checking timestamps against `now`. */
export function limitsAt(limits: BatchLimits, now: number): BatchLimits {
  return limits.ingest ? { ...limits, ingest: { ...limits.ingest, now } } : limits;
}

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
