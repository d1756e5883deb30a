import { decodeBatch } from '../batch/decode';
import type { DeadLetter } from '../batch/dead-letter';
import { firstTimestamp, lastTimestamp, type BatchLimits, type SensorBatch } from '../batch/types';
import type { SensorInterval } from '../model/interval';
import type { RangeRecord } from '../kafka/range-reader';

export interface OffsetBatch {
  offset: number;
  batch: SensorBatch;
}

export interface DecodedChunk {
  batches: OffsetBatch[];
  deadLetters: DeadLetter[];
}

/**
 * Decodes the records of one offset range. A record that does not decode, or
 * whose key is not its sensor (it would sit in the wrong partition, outside
 * the per-sensor ordering ingest relies on), becomes a dead letter alone.
 */
export function decodeChunk(records: RangeRecord[], limits: BatchLimits): DecodedChunk {
  const batches: OffsetBatch[] = [];
  const deadLetters: DeadLetter[] = [];
  for (const r of records) {
    const decoded = decodeBatch(r.value, limits);
    if (!decoded.ok) {
      deadLetters.push({ offset: r.offset, key: r.key, value: r.value, error: decoded.error });
      continue;
    }
    const key = r.key?.toString('utf8') ?? null;
    if (key !== String(decoded.value.sensor)) {
      deadLetters.push({
        offset: r.offset,
        key: r.key,
        value: r.value,
        error: {
          code: 'key_mismatch',
          message: `record key ${JSON.stringify(key)} is not the batch's sensor ${decoded.value.sensor}`,
          field: 'key',
        },
      });
      continue;
    }
    batches.push({ offset: r.offset, batch: decoded.value });
  }
  return { batches, deadLetters };
}

export function batchInterval(batch: SensorBatch): SensorInterval {
  return { sensor: batch.sensor, from: firstTimestamp(batch), to: lastTimestamp(batch) };
}
