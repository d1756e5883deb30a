import { decodeBatch } from '../batch/decode';
import type { DeadLetter } from '../batch/dead-letter';
import { firstTimestamp, lastTimestamp, type BatchLimits, type Decoded, type SensorBatch } from '../batch/types';
import type { SensorInterval } from '../model/interval';
import type { RangeRecord } from '../kafka/range-reader';
import { ON_CONFLICT_HEADER } from './conflicts';

export interface OffsetBatch {
  offset: number;
  batch: SensorBatch;
  /** The record's points are corrections: they replace stored values at their (sensor, ts). */
  replace?: true;
}

export interface DecodedChunk {
  batches: OffsetBatch[];
  deadLetters: DeadLetter[];
  /** Records decoded: all of them, or those before the first that would take the chunk's points past the budget. */
  taken: number;
}

/**
 * Decodes the records of one offset range, in offset order, up to
 * `maxPoints` points (always at least one record): the cut depends only on
 * the records, so a retried range stops at the same one. A record that does
 * not decode, or whose key is not its sensor (it would sit in the wrong
 * partition, outside the per-sensor ordering ingest relies on), becomes a
 * dead letter alone and counts no points.
 */
export function decodeChunk(records: RangeRecord[], limits: BatchLimits, maxPoints = Number.POSITIVE_INFINITY): DecodedChunk {
  const batches: OffsetBatch[] = [];
  const deadLetters: DeadLetter[] = [];
  let points = 0;
  for (const [i, r] of records.entries()) {
    const decoded = decodeRecord(r, limits);
    const n = decoded.ok ? decoded.value.values.length : 0;
    if (i > 0 && points + n > maxPoints) return { batches, deadLetters, taken: i };
    points += n;
    const replace = r.headers[ON_CONFLICT_HEADER] === 'replace' ? { replace: true as const } : {};
    if (decoded.ok) batches.push({ offset: r.offset, batch: decoded.value, ...replace });
    else deadLetters.push({ offset: r.offset, key: r.key, value: r.value, error: decoded.error });
  }
  return { batches, deadLetters, taken: records.length };
}

function decodeRecord(r: RangeRecord, limits: BatchLimits): Decoded<SensorBatch> {
  const decoded = decodeBatch(r.value, limits);
  if (!decoded.ok) return decoded;
  const key = r.key?.toString('utf8') ?? null;
  if (key === String(decoded.value.sensor)) return decoded;
  return {
    ok: false,
    error: {
      code: 'key_mismatch',
      message: `record key ${JSON.stringify(key)} is not the batch's sensor ${decoded.value.sensor}`,
      field: 'key',
    },
  };
}

export function batchInterval(batch: SensorBatch): SensorInterval {
  return { sensor: batch.sensor, from: firstTimestamp(batch), to: lastTimestamp(batch) };
}
