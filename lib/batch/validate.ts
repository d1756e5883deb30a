/**
 * The format rules every batch obeys, whatever its encoding: shared by the
 * binary decoder (decode.ts), the JSON decoder (json.ts) and encodeBatch.
 */
import { MS } from '../model/ladder';
import { MAX_QUALITY } from '../model/quality';
import { isNamedSeriesId, NAMED_SERIES_BASE, NAMED_SERIES_MAX } from '../model/series-name';
import { batchError } from './errors';
import { encodedSize, U32_MAX } from './frame';
import {
  DEFAULT_BATCH_LIMITS,
  lastTimestamp,
  timestampAt,
  type BatchError,
  type BatchLimits,
  type IngestLimits,
  type IrregularBatch,
  type RegularBatch,
  type SensorBatch,
} from './types';

function fmtTs(ms: number): string {
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) return String(ms);
  return `${ms} (${new Date(ms).toISOString()})`;
}

/**
 * Check a batch against the format rules and `limits`. Returns the first
 * problem found, or null. Field names are the wire names: sensor, count,
 * start, period_ms, ts[i] (timestamp of point i, whatever the kind), values[i].
 */
export function validateBatch(batch: SensorBatch, limits: BatchLimits = DEFAULT_BATCH_LIMITS): BatchError | null {
  return (
    validateShape(batch, limits) ??
    (batch.kind === 'regular' ? validateRegularTimes(batch, limits) : validateIrregularTimes(batch, limits)) ??
    (limits.ingest ? validateIngest(batch, limits.ingest) : null) ??
    validateValues(batch.values) ??
    validateQuality(batch)
  );
}

/**
 * Index of the first point whose timestamp is >= `t` (points.length if none):
 * arithmetic for regular batches, a scan for irregular ones.
 */
function firstIndexAtOrAfter(batch: SensorBatch, t: number): number {
  const n = batch.values.length;
  if (batch.kind === 'regular') return Math.min(n, Math.max(0, Math.ceil((t - batch.start) / batch.periodMs)));
  let i = 0;
  while (i < n && batch.timestamps[i]! < t) i++;
  return i;
}

/** Ingest's bounds on a batch that follows the format rules. */
function validateIngest(batch: SensorBatch, limits: IngestLimits): BatchError | null {
  return validateDays(batch, limits) ?? validateFuture(batch, limits) ?? validateSize(batch, limits);
}

/** The UTC days from the first point's to the last's, at most maxDays (one batch, one insert block). */
function validateDays(batch: SensorBatch, limits: IngestLimits): BatchError | null {
  const firstDay = Math.floor(timestampAt(batch, 0) / MS.day);
  const days = Math.floor(lastTimestamp(batch) / MS.day) - firstDay + 1;
  if (days <= limits.maxDays) return null;
  const i = firstIndexAtOrAfter(batch, (firstDay + limits.maxDays) * MS.day);
  return batchError(
    'too_many_days',
    `ts[${i}]`,
    `expected a batch to span at most ${limits.maxDays} UTC days, but its points run from ${fmtTs(timestampAt(batch, 0))} ` +
      `to ${fmtTs(lastTimestamp(batch))}, ${days} days; ts[${i}] = ${fmtTs(timestampAt(batch, i))} is the first beyond the limit (split the batch)`,
  );
}

/** No timestamp after now + futureSkewMs, when the caller says what now is. */
function validateFuture(batch: SensorBatch, limits: IngestLimits): BatchError | null {
  if (limits.now === undefined) return null;
  const notAfter = limits.now + limits.futureSkewMs;
  if (lastTimestamp(batch) <= notAfter) return null;
  const i = firstIndexAtOrAfter(batch, notAfter + 1);
  return batchError(
    'future_timestamp',
    `ts[${i}]`,
    `expected every timestamp at most ${limits.futureSkewMs} ms after now (${fmtTs(limits.now)}), i.e. no later than ` +
      `${fmtTs(notAfter)}, got ${fmtTs(timestampAt(batch, i))}`,
  );
}

/** The batch's frame (its Kafka record) within limits.maxBytes. */
function validateSize(batch: SensorBatch, limits: IngestLimits): BatchError | null {
  const bytes = encodedSize(batch);
  if (bytes <= limits.maxBytes) return null;
  return batchError(
    'batch_too_large',
    'count',
    `expected a batch of at most ${limits.maxBytes} bytes as a binary frame, got ${bytes} bytes (${batch.values.length} points); split it`,
  );
}

/** The object, its kind, the values array, the sensor id and the point count. */
function validateShape(batch: SensorBatch, limits: BatchLimits): BatchError | null {
  if (typeof batch !== 'object' || batch === null) {
    return batchError('invalid_batch', '', `expected a batch object, got ${batch === null ? 'null' : typeof batch}`);
  }
  const kind: unknown = (batch as { kind?: unknown }).kind;
  if (kind !== 'regular' && kind !== 'irregular') {
    return batchError('unknown_kind', 'kind', `expected kind "regular" or "irregular", got ${JSON.stringify(kind) ?? String(kind)}`);
  }
  const values: unknown = batch.values;
  if (!(values instanceof Float64Array)) {
    return batchError('invalid_batch', 'values', 'expected values to be a Float64Array');
  }

  const sensor: unknown = batch.sensor;
  const maxSensor = Math.min(limits.maxSensorId, U32_MAX);
  // Named series (lib/model/series-name.ts) have hashed ids above every numbered one.
  const numbered = typeof sensor === 'number' && Number.isInteger(sensor) && sensor >= 0 && sensor <= maxSensor;
  if (!numbered && !(typeof sensor === 'number' && isNamedSeriesId(sensor))) {
    return batchError(
      'invalid_sensor',
      'sensor',
      `expected sensor to be an integer in [0, ${maxSensor}] or a named series' id in [${NAMED_SERIES_BASE}, ${NAMED_SERIES_MAX}], got ${String(sensor)}`,
    );
  }

  const n = values.length;
  if (n < 1) return batchError('empty_batch', 'count', 'expected at least 1 point, got 0');
  const maxPoints = Math.min(limits.maxPoints, U32_MAX);
  if (n > maxPoints) {
    return batchError('too_many_points', 'count', `expected at most ${maxPoints} points per batch, got ${n}`);
  }
  return null;
}

function tsRange({ minTs, maxTs }: BatchLimits): string {
  return `[${fmtTs(minTs)}, ${fmtTs(maxTs)}]`;
}

function validateRegularTimes(b: RegularBatch, limits: BatchLimits): BatchError | null {
  const n = b.values.length;
  const { minTs, maxTs } = limits;
  const range = tsRange(limits);
  const start: unknown = b.start;
  if (typeof start !== 'number' || !Number.isInteger(start)) {
    return batchError('invalid_timestamp', 'start', `expected start to be an integer epoch-millisecond timestamp, got ${String(start)}`);
  }
  if (start < minTs || start > maxTs || !Number.isSafeInteger(start)) {
    return batchError('timestamp_out_of_range', 'start', `expected start in ${range}, got ${fmtTs(start)}`);
  }
  const period: unknown = b.periodMs;
  if (typeof period !== 'number' || !Number.isInteger(period) || period < 1 || period > U32_MAX) {
    return batchError('invalid_period', 'period_ms', `expected period_ms to be an integer in [1, ${U32_MAX}], got ${String(period)}`);
  }
  const last = start + (n - 1) * period;
  if (last > maxTs) {
    return batchError(
      'timestamp_out_of_range',
      `ts[${n - 1}]`,
      `expected every timestamp in ${range}, but the last one, start + (count−1)·period_ms = ${start} + ${n - 1}·${period}, is ${fmtTs(last)}`,
    );
  }
  return null;
}

function validateIrregularTimes(b: IrregularBatch, limits: BatchLimits): BatchError | null {
  const n = b.values.length;
  const { minTs, maxTs } = limits;
  const ts: unknown = b.timestamps;
  if (!(ts instanceof Float64Array)) {
    return batchError('invalid_batch', 'ts', 'expected timestamps to be a Float64Array');
  }
  if (ts.length !== n) {
    return batchError('count_mismatch', 'ts', `expected as many timestamps as values (${n}), got ${ts.length}`);
  }
  let prev = -Infinity;
  for (let i = 0; i < n; i++) {
    const t = ts[i]!;
    if (!Number.isInteger(t)) {
      return batchError('invalid_timestamp', `ts[${i}]`, `expected an integer epoch-millisecond timestamp, got ${t}`);
    }
    if (t < minTs || t > maxTs || !Number.isSafeInteger(t)) {
      return batchError('timestamp_out_of_range', `ts[${i}]`, `expected a timestamp in ${tsRange(limits)}, got ${fmtTs(t)}`);
    }
    if (t <= prev) {
      return batchError(
        'non_increasing_timestamps',
        `ts[${i}]`,
        `expected timestamps to strictly increase, but ts[${i}] = ${t} is not after ts[${i - 1}] = ${prev}`,
      );
    }
    prev = t;
  }
  return null;
}

/** Quality, when present: one code per point, each good (0), uncertain (1) or bad (2). */
function validateQuality(batch: SensorBatch): BatchError | null {
  const q: unknown = batch.quality;
  if (q === undefined) return null;
  if (!(q instanceof Uint8Array) || q.length !== batch.values.length) {
    return batchError('invalid_quality', 'quality', `expected one quality code per point (${batch.values.length})`);
  }
  for (let i = 0; i < q.length; i++) {
    if (q[i]! > MAX_QUALITY) {
      return batchError('invalid_quality', `quality[${i}]`, `expected 0 (good), 1 (uncertain) or 2 (bad), got ${q[i]}`);
    }
  }
  return null;
}

function validateValues(values: Float64Array): BatchError | null {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    // v - v is 0 for every finite number and NaN for NaN and ±Infinity.
    if (v - v !== 0) {
      return batchError('non_finite_value', `values[${i}]`, `expected a finite value, got ${v}`);
    }
  }
  return null;
}
