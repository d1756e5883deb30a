import { Context } from '@temporalio/activity';
import type { BatchLimits } from '../lib/batch/types';
import type { Shards } from '../lib/clickhouse/shards';
import type { CheckpointStore } from '../lib/kafka/checkpoints';
import type { DeadLetterPublisher } from '../lib/kafka/dead-letters';
import type { OffsetWatcher } from '../lib/kafka/offsets';
import type { PartitionReader } from '../lib/kafka/range-reader';
import type { PartitionOffsets } from '../lib/kafka/topics';
import { ingestChunk, type ChunkBudget, type ChunkRange, type ChunkStats } from '../lib/ingest/chunk';
import type { PointWriter } from '../lib/ingest/write-coalescer';
import type { Logger } from '../lib/log/logger';

export interface IngestDeps {
  shards: Shards;
  offsets: OffsetWatcher;
  deadLetters: DeadLetterPublisher;
  /** Durable copy of each partition's checkpoint, outside Temporal. */
  checkpoints: Pick<CheckpointStore, 'commit'>;
  reader(topic: string, partition: number): PartitionReader;
  limits: BatchLimits;
  /** Points and bytes one chunk may hold; the activity stops a planned range early where they run out. */
  budget: ChunkBudget;
  log: Logger;
  /** Compaction window: the ledger's unit. */
  windowMs: number;
  /** Aborted when the process shuts down: long polls return at once instead of holding up the worker. */
  shutdown: AbortSignal;
  /** The process's coalesced write (lib/ingest/write-coalescer.ts) that every chunk's points join. */
  writer?: PointWriter;
  /** Told about every stored chunk (points inserted, records dead-lettered), for /metrics. */
  metrics?: { chunkIngested(partition: number, stats: ChunkStats): void };
}

export interface AwaitRecordsInput {
  topic: string;
  partition: number;
  from: number;
  /** Return as soon as this many records wait. */
  minRecords: number;
  /** Otherwise return after this long if anything waits. */
  maxWaitMs: number;
}

/** An idle partition still reports back this often, so its workflow stays visible. */
const IDLE_RETURN_MS = 10_000;
/** Watermarks are polled this often while records wait or just arrived… */
const POLL_MS = 100;
/**
 * …and, while none arrive, at doubling intervals up to this: idle partitions
 * cost a few watermark fetches (each a metadata and two ListOffsets round
 * trips) a second between them, not ten. Records published through this
 * process end the nap at once (OffsetWatcher.published); records of other
 * producers, or published while a fetch was in flight, are seen at the next
 * poll, at most this much later than without the back-off.
 */
const IDLE_POLL_MAX_MS = 500;
/**
 * Records waiting this long before the next coalesced write are read at once,
 * so that they join it (reading and decoding a second of a partition takes a
 * few hundred ms) instead of waiting out the chunk interval and then a write.
 */
const READ_LEAD_MS = 400;

export function createIngestActivities(deps: IngestDeps) {
  return {
    /** Waits until enough records are pending after `from`; returns the partition's watermarks. */
    async awaitRecords(input: AwaitRecordsInput): Promise<PartitionOffsets> {
      const ctx = Context.current();
      const started = Date.now();
      let poll = POLL_MS;
      for (;;) {
        // Half a poll old at most: the partitions polling together share one fetch.
        const offsets = await deps.offsets.partition(input.topic, input.partition, poll / 2);
        const pending = offsets.high - Math.max(input.from, offsets.low);
        const waited = Date.now() - started;
        const writeDue = deps.writer !== undefined && deps.writer.nextWriteAt() - Date.now() <= READ_LEAD_MS;
        if (
          pending >= input.minRecords ||
          (pending > 0 && (waited >= input.maxWaitMs || writeDue)) ||
          waited >= IDLE_RETURN_MS ||
          deps.shutdown.aborted
        ) {
          return offsets;
        }
        ctx.heartbeat({ pending });
        const woken = await Promise.race([deps.offsets.nap(input.topic, poll, deps.shutdown), ctx.cancelled]);
        poll = pending > 0 || woken ? POLL_MS : Math.min(IDLE_POLL_MAX_MS, poll * 2);
      }
    },

    /** Reads, validates and stores the records [from, to) of a partition, up to the budget; returns where it stopped. */
    async ingestRange(range: ChunkRange): Promise<ChunkStats> {
      const ctx = Context.current();
      const log = deps.log.child({ partition: range.partition, from: range.from, to: range.to, attempt: ctx.info.attempt });
      const heartbeat = setInterval(() => ctx.heartbeat(), 2000);
      try {
        const stats = await ingestChunk(
          {
            reader: deps.reader(range.topic, range.partition),
            shards: deps.shards,
            deadLetters: deps.deadLetters,
            limits: deps.limits,
            budget: deps.budget,
            readTimeoutMs: 60_000,
            windowMs: deps.windowMs,
            writer: deps.writer,
          },
          range,
          (stage) => ctx.heartbeat({ stage }),
        );
        // Counted once stored: a retry after a failed checkpoint finds the points already stored.
        deps.metrics?.chunkIngested(range.partition, stats);
        // Only now, with the range stored: the durable checkpoint never runs ahead of stored data.
        await deps.checkpoints.commit(range.topic, range.partition, stats.next);
        log.info(stats, 'chunk ingested');
        return stats;
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'chunk failed; Temporal will retry it');
        throw err;
      } finally {
        clearInterval(heartbeat);
      }
    },
  };
}

export type IngestActivities = ReturnType<typeof createIngestActivities>;
