import type { DeadLetter } from '../batch/dead-letter';
import { limitsAt, type BatchLimits } from '../batch/types';
import { clickHouseCode } from '../clickhouse/errors';
import type { Shards } from '../clickhouse/shards';
import type { DeadLetterPublisher } from '../kafka/dead-letters';
import type { PartitionReader, RangeRecord } from '../kafka/range-reader';
import { decodeChunk, type OffsetBatch } from './decode';
import { beforeChunkStore } from './fault-hook';
import { conflictLetters, type OffsetConflict } from './conflicts';
import { mergeBatches, originFinder } from './merge';
import { addResult, closeRefused, emptyResult, PointsRefusedError, storeOnShards, type OnConflict, type StoreResult } from './store-points';
import type { PointWriter } from './write-coalescer';

export interface ChunkRange {
  topic: string;
  partition: number;
  from: number;
  to: number;
  /**
   * Least ledger version of this chunk, chosen by the ingest workflow (larger than any earlier chunk's);
   * the store raises it above what the ledger holds when it writes (store-points.ts).
   */
  version: number;
  /**
   * The workflow's clock when it planned the chunk (epoch ms): timestamps
   * beyond it plus the allowed skew are dead-lettered. Never the activity's
   * clock, so that a retried chunk decides the same way.
   */
  now: number;
}

export interface ChunkStats {
  records: number;
  batches: number;
  deadLetters: number;
  /** Offsets of the range removed by Kafka retention before they were read (skipped). */
  expired: number;
  /** Distinct points in the chunk. */
  points: number;
  /** Points already stored with the same value (re-sent or retried), dropped before the insert. */
  alreadyStored: number;
  /**
   * Points whose (sensor, ts) holds another value (stored, or from a lower
   * offset of the chunk): not stored, dead-lettered as conflicting_value,
   * one dead letter per record that offered any.
   */
  conflicting: number;
  /** Points of corrections (records marked on-conflict: replace) that replaced a stored value; counted in inserted too. */
  replaced: number;
  inserted: number;
  readMs: number;
  insertMs: number;
  /** The first offset not ingested: `to`, or earlier where the chunk's points or bytes budget ran out. */
  next: number;
}

/** What one chunk may hold beyond the records the workflow planned. */
export interface ChunkBudget {
  maxPoints: number;
  /** Bytes of record values. */
  maxBytes: number;
}

export interface ChunkDeps {
  reader: PartitionReader;
  shards: Shards;
  deadLetters: DeadLetterPublisher;
  limits: BatchLimits;
  budget: ChunkBudget;
  readTimeoutMs: number;
  windowMs: number;
  /** Takes the chunk's points into the process's coalesced write; without it the chunk is a write of its own. */
  writer?: PointWriter;
}

/**
 * Ingests the records [from, to) of a partition, or the first of them up to
 * the budget: invalid records go to the dead-letter topic, valid points are
 * stored once (see storePoints). Running it again for the same range stops
 * at the same offset and stores nothing new.
 */
export async function ingestChunk(deps: ChunkDeps, range: ChunkRange, progress: (stage: string) => void): Promise<ChunkStats> {
  const t0 = performance.now();
  progress('reading');
  const read = await deps.reader.read(range.from, range.to, deps.readTimeoutMs, deps.budget.maxBytes);
  const { batches, deadLetters, taken } = decodeChunk(read.records, limitsAt(deps.limits, range.now), deps.budget.maxPoints);
  const records = read.records.slice(0, taken);
  const next = taken < read.records.length ? read.records[taken]!.offset : read.end;
  // Retention only removes a prefix of the log, so offsets it removed lie
  // before the records read after them: a chunk cut short keeps the ones
  // below its end, and the next chunk counts the rest.
  const expired = next === read.end ? read.expired : Math.min(read.expired, next - range.from - records.length);
  const readMs = performance.now() - t0;

  progress('dead-letters');
  await deps.deadLetters.publish(range.topic, range.partition, deadLetters);

  // A no-op unless a test armed HERODOTUS_FAULT=hold-first-chunk: a chunk planned long before it is stored.
  await beforeChunkStore(batches.reduce((n, b) => n + b.batch.values.length, 0));
  progress('storing');
  const t1 = performance.now();
  const stored = await storeChunk(deps, { ...range, to: next }, batches, records);
  const keyOf = new Map(records.map((r) => [r.offset, r.key]));
  const conflicted = conflictLetters(stored.conflicts, (offset) => keyOf.get(offset) ?? null);
  await deps.deadLetters.publish(range.topic, range.partition, [...stored.rejected, ...conflicted]);
  return {
    records: records.length,
    batches: batches.length,
    deadLetters: deadLetters.length + stored.rejected.length + conflicted.length,
    expired,
    points: stored.points,
    alreadyStored: stored.result.alreadyStored,
    conflicting: stored.conflicts.length,
    replaced: stored.result.replaced,
    inserted: stored.result.inserted,
    readMs: Math.round(readMs),
    insertMs: Math.round(performance.now() - t1),
    next,
  };
}

interface StoredChunk {
  result: StoreResult;
  /** Distinct points offered to storage. */
  points: number;
  /** Records ClickHouse refused for good. */
  rejected: DeadLetter[];
  /** Conflicting points, within the chunk and with stored ones, by the offset that offered them. */
  conflicts: OffsetConflict[];
}

/**
 * Stores the chunk's points: the records without a policy as one write
 * (first write wins), then the corrections (records marked `replace`) as a
 * second one, so that they replace what the first stored as well. A chunk
 * of corrections only is one write.
 */
async function storeChunk(deps: ChunkDeps, range: ChunkRange, batches: OffsetBatch[], records: RangeRecord[]): Promise<StoredChunk> {
  const name = `p${range.partition}-${range.from}-${range.to}`;
  const corrections = batches.filter((b) => b.replace);
  const plain = batches.filter((b) => !b.replace);
  const first = plain.length > 0 || corrections.length === 0 ? await storeGroup(deps, range, plain, records, name, 'keep') : null;
  const second = corrections.length > 0 ? await storeGroup(deps, range, corrections, records, `${name}-r`, 'replace') : null;
  if (!first || !second) return (first ?? second)!;
  addResult(first.result, second.result);
  return {
    result: first.result,
    points: first.points + second.points,
    rejected: [...first.rejected, ...second.rejected],
    conflicts: [...first.conflicts, ...second.conflicts],
  };
}

/**
 * Stores a group of the chunk's batches as one write. When ClickHouse refuses them for
 * what they hold (an error no retry can fix), the group is stored again
 * record by record, in offset order, each record a write of its own with a
 * name derived from its offset (so a retry repeats the same writes): the
 * records that fail the same way are dead-lettered, their neighbours stored.
 * Offset order keeps "first write wins" for a timestamp two records share.
 */
async function storeGroup(
  deps: ChunkDeps,
  range: ChunkRange,
  batches: OffsetBatch[],
  records: RangeRecord[],
  name: string,
  onConflict: OnConflict,
): Promise<StoredChunk> {
  const write = { version: range.version, windowMs: deps.windowMs, ...(onConflict === 'replace' ? { onConflict } : {}) };
  // Corrections: the latest offset wins within the chunk, as each corrects the ones before.
  const merged = mergeBatches(batches, onConflict === 'replace');
  const distinct = merged.points.length;
  // A conflict with stored data names the record that offered the point: the lowest offset holding it (the one merged).
  // The index is built only for a write that found conflicts: most find none, and it sorts every batch of the group.
  const withOrigin = (r: StoreResult) => {
    if (r.conflicts.length === 0) return [];
    const origin = originFinder(batches);
    return r.conflicts.map((c) => ({ ...c, offset: origin(c.sensor, c.ts)! }));
  };
  const repeats = onConflict === 'replace' ? [] : merged.conflicts;
  try {
    const req = { ...write, points: merged.points, name };
    // Corrections are written alone: their delete takes seconds (bench-replace-cost), which would hold up
    // every partition's chunks in a coalesced write.
    const coalesced = deps.writer && onConflict === 'keep' ? deps.writer : null;
    const result = await (coalesced ? coalesced.store(req) : storeOnShards(deps.shards, req));
    return { result, points: distinct, rejected: [], conflicts: [...repeats, ...withOrigin(result)] };
  } catch (err) {
    if (!(err instanceof PointsRefusedError)) throw err;
  }
  // Record by record, a repeat within the chunk meets the earlier record's point stored: the writes report it.
  const result = emptyResult();
  const rejected: DeadLetter[] = [];
  const conflicts: OffsetConflict[] = [];
  const byOffset = new Map(records.map((r) => [r.offset, r]));
  // Batches come in offset order (decodeChunk).
  for (const b of batches) {
    const one = { ...write, name: `${name}-o${b.offset}` };
    try {
      const r = await storeOnShards(deps.shards, { ...one, points: mergeBatches([b]).points });
      addResult(result, r);
      for (const c of r.conflicts) conflicts.push({ ...c, offset: b.offset });
    } catch (err) {
      if (!(err instanceof PointsRefusedError)) throw err;
      await closeRefused(deps.shards, { ...one, points: mergeBatches([b]).points });
      rejected.push(storageRejected(byOffset.get(b.offset)!, err));
    }
  }
  // Points of rejected records were offered but are neither stored nor already there.
  return { result, points: distinct, rejected, conflicts };
}

function storageRejected(record: RangeRecord, err: PointsRefusedError): DeadLetter {
  const code = clickHouseCode(err.cause);
  const reason = String((err.cause as Error)?.message ?? err.cause).split('\n')[0]!;
  return {
    offset: record.offset,
    key: record.key,
    value: record.value,
    error: { code: 'storage_rejected', message: `ClickHouse refused the batch's points (code ${code}): ${reason}`, field: '' },
    clickhouseCode: code,
  };
}
