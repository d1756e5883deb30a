import type { BatchLimits } from '../batch/types';
import type { Shards } from '../clickhouse/shards';
import type { DeadLetterPublisher } from '../kafka/dead-letters';
import type { PartitionReader } from '../kafka/range-reader';
import { decodeChunk } from './decode';
import { mergeBatches } from './merge';
import { storeOnShards } from './store-points';

export interface ChunkRange {
  topic: string;
  partition: number;
  from: number;
  to: number;
  /** Ledger version of this chunk, chosen by the ingest workflow; larger than any earlier chunk's. */
  version: number;
}

export interface ChunkStats {
  records: number;
  batches: number;
  deadLetters: number;
  /** Offsets of the range removed by Kafka retention before they were read (skipped). */
  expired: number;
  /** Distinct points in the chunk. */
  points: number;
  /** Points already stored (re-sent or retried), dropped before the insert. */
  alreadyStored: number;
  inserted: number;
  readMs: number;
  insertMs: number;
}

export interface ChunkDeps {
  reader: PartitionReader;
  shards: Shards;
  deadLetters: DeadLetterPublisher;
  limits: BatchLimits;
  readTimeoutMs: number;
  windowMs: number;
}

/**
 * Ingests exactly the records [from, to) of a partition: invalid records go
 * to the dead-letter topic, valid points are stored once (see storePoints),
 * offsets retention removed first are counted as expired. Running it again
 * for the same range stores nothing new.
 */
export async function ingestChunk(deps: ChunkDeps, range: ChunkRange, progress: (stage: string) => void): Promise<ChunkStats> {
  const t0 = performance.now();
  progress('reading');
  const { records, expired } = await deps.reader.read(range.from, range.to, deps.readTimeoutMs);
  const { batches, deadLetters } = decodeChunk(records, deps.limits);
  const readMs = performance.now() - t0;

  progress('dead-letters');
  await deps.deadLetters.publish(range.topic, range.partition, deadLetters);

  progress('storing');
  const t1 = performance.now();
  const points = mergeBatches(batches);
  const distinct = points.length;
  const result = await storeOnShards(deps.shards, {
    points,
    version: range.version,
    windowMs: deps.windowMs,
    name: `p${range.partition}-${range.from}-${range.to}`,
  });
  return {
    records: records.length,
    batches: batches.length,
    deadLetters: deadLetters.length,
    expired,
    points: distinct,
    alreadyStored: result.alreadyStored,
    inserted: result.inserted,
    readMs: Math.round(readMs),
    insertMs: Math.round(performance.now() - t1),
  };
}
