import type { BatchLimits } from '../batch/types';
import { sensorExtents, storedTimestamps } from '../clickhouse/raw';
import { contentToken, type Store } from '../clickhouse/store';
import type { DeadLetterPublisher } from '../kafka/dead-letters';
import type { PartitionReader } from '../kafka/range-reader';
import { recordStage, type UnitVersion } from '../clickhouse/ledger';
import { MS } from '../rollup/ladder';
import { batchInterval, decodeChunk, type OffsetBatch, type SensorInterval } from './chunk';
import { filterPoints, mergeBatches, trimmed } from './merge';

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
  store: Store;
  deadLetters: DeadLetterPublisher;
  limits: BatchLimits;
  readTimeoutMs: number;
  windowMs: number;
}

/**
 * Ingests exactly the records [from, to) of a partition. Running it again for
 * the same range stores nothing new: points already in raw are filtered out
 * (content key sensor + ts), and an identical insert carries the same token.
 */
export async function ingestChunk(deps: ChunkDeps, range: ChunkRange, progress: (stage: string) => void): Promise<ChunkStats> {
  const t0 = performance.now();
  progress('reading');
  const records = await deps.reader.read(range.from, range.to, deps.readTimeoutMs);
  const { batches, deadLetters } = decodeChunk(records, deps.limits);
  const readMs = performance.now() - t0;

  progress('dead-letters');
  await deps.deadLetters.publish(range.topic, range.partition, deadLetters);

  progress('deduplicating');
  const points = mergeBatches(batches);
  const distinct = points.length;
  const stored = await storedTimestamps(deps.store, await overlapWithStored(deps.store, batches));
  if (stored.size > 0) filterPoints(points, (i) => !stored.get(points.sensor[i]!)?.has(points.ts[i]!));

  // The ledger hears of every window the chunk touches, also where all its
  // points were stored before (a retry): it marks windows dirty before the
  // insert, so lenses read raw there, and committed after it, for compaction.
  const touched = touchedUnits(batches, deps.windowMs, range.version);
  const ledgerToken = `ledger-p${range.partition}-${range.from}-${range.to}`;
  await recordStage(deps.store, 'pending', touched.windows, touched.days, `${ledgerToken}-pending`);
  progress('inserting');
  const t1 = performance.now();
  const rows = trimmed(points);
  await deps.store.insertPoints(rows, contentToken(`raw-p${range.partition}`, [rows.sensor, rows.ts, rows.value]));
  await recordStage(deps.store, 'ingested', touched.windows, touched.days, `${ledgerToken}-ingested`);
  return {
    records: records.length,
    batches: batches.length,
    deadLetters: deadLetters.length,
    points: distinct,
    alreadyStored: distinct - rows.length,
    inserted: rows.length,
    readMs: Math.round(readMs),
    insertMs: Math.round(performance.now() - t1),
  };
}

/**
 * The parts of the chunk's batches that reach back to or before a sensor's
 * last stored point. Fresh data lies after it and needs no look-up, so in
 * steady state only late and re-sent batches cost a read of raw.
 */
async function overlapWithStored(store: Store, batches: OffsetBatch[]): Promise<SensorInterval[]> {
  const sensors = [...new Set(batches.map((b) => b.batch.sensor))];
  const extents = await sensorExtents(store, sensors);
  const bySensor = new Map<number, SensorInterval[]>();
  for (const { batch } of batches) {
    const extent = extents.get(batch.sensor);
    const span = batchInterval(batch);
    if (!extent || span.from > extent.last || span.to < extent.first) continue;
    const clipped = { sensor: span.sensor, from: Math.max(span.from, extent.first), to: Math.min(span.to, extent.last) };
    let list = bySensor.get(batch.sensor);
    if (!list) bySensor.set(batch.sensor, (list = []));
    list.push(clipped);
  }
  return [...bySensor.values()].flatMap(mergeIntervals);
}

function touchedUnits(batches: OffsetBatch[], windowMs: number, version: number): { windows: UnitVersion[]; days: UnitVersion[] } {
  const windows = new Map<string, UnitVersion>();
  const days = new Map<string, UnitVersion>();
  for (const { batch } of batches) {
    const { sensor, from, to } = batchInterval(batch);
    for (let w = Math.floor(from / windowMs) * windowMs; w <= to; w += windowMs) {
      windows.set(`${sensor}:${w}`, { sensor, start: w, version });
      const day = Math.floor(w / MS.day) * MS.day;
      days.set(`${sensor}:${day}`, { sensor, start: day, version });
    }
  }
  return { windows: [...windows.values()], days: [...days.values()] };
}

function mergeIntervals(list: SensorInterval[]): SensorInterval[] {
  const sorted = [...list].sort((a, b) => a.from - b.from);
  const out: SensorInterval[] = [];
  for (const i of sorted) {
    const last = out[out.length - 1];
    if (last && i.from <= last.to + 1) last.to = Math.max(last.to, i.to);
    else out.push({ ...i });
  }
  return out;
}
