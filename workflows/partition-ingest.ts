import { continueAsNew, defineQuery, proxyActivities, setHandler } from '@temporalio/workflow';
import type { IngestActivities } from '../activities/partition-ingest';

export interface IngestInput {
  topic: string;
  partition: number;
  /** The checkpoint: the first offset not yet ingested. */
  next: number;
  maxRecords: number;
  intervalMs: number;
  /** Loop iterations before continuing as new, which keeps the history small. */
  chunksPerRun: number;
  /** Ledger version of the last chunk; the next one is larger. */
  lastVersion?: number;
  totals: IngestTotals;
}

export interface IngestTotals {
  chunks: number;
  records: number;
  points: number;
  inserted: number;
  deadLetters: number;
  /** Offsets removed by Kafka retention before they were read. */
  expired: number;
}

export interface IngestProgress extends IngestTotals {
  topic: string;
  partition: number;
  next: number;
}

export const progressQuery = defineQuery<IngestProgress>('progress');

export const EMPTY_TOTALS: IngestTotals = { chunks: 0, records: 0, points: 0, inserted: 0, deadLetters: 0, expired: 0 };

// Retries never give up: an outage of Kafka, ClickHouse or this worker delays
// a partition; it must not fail the workflow that owns its checkpoint.
const retry = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s' } as const;

const { awaitRecords } = proxyActivities<IngestActivities>({
  startToCloseTimeout: '1 minute',
  heartbeatTimeout: '15s',
  retry,
});

const { ingestRange } = proxyActivities<IngestActivities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '30s',
  retry,
});

/**
 * Owns one Kafka partition's checkpoint. Each chunk's offset range is decided
 * here, and so recorded in history, before any activity reads or writes it;
 * the checkpoint moves only after the range is stored.
 */
export async function ingestPartition(input: IngestInput): Promise<void> {
  const { topic, partition, maxRecords, intervalMs } = input;
  let next = input.next;
  let lastVersion = input.lastVersion ?? 0;
  const totals = { ...input.totals };
  setHandler(progressQuery, () => ({ topic, partition, next, ...totals }));

  // A chunk its budget cut short leaves records waiting: the next one need not wait for more.
  let backlog = false;
  for (let i = 0; i < input.chunksPerRun; i++) {
    const maxWaitMs = backlog ? 0 : intervalMs;
    const { low, high } = await awaitRecords({ topic, partition, from: next, minRecords: maxRecords, maxWaitMs });
    if (high <= next) continue;
    // Offsets below `low` are gone (retention). The range still starts at the
    // checkpoint, so that ingestRange counts and logs them as expired (as it
    // does when retention passes a range later), plus up to maxRecords that remain.
    const to = Math.min(high, Math.max(next, low) + maxRecords);
    // Workflow time is replayed identically, so a retried chunk keeps its
    // version and judges future timestamps against the same instant;
    // microseconds leave room for many chunks per millisecond.
    const now = Date.now();
    const version = Math.max(now * 1000, lastVersion + 1);
    lastVersion = version;
    const stats = await ingestRange({ topic, partition, from: next, to, version, now });
    // The activity may stop early where the chunk's points or bytes budget
    // ran out, at an offset the records alone decide. Results recorded before
    // it reported `next` (and `expired`) stored the whole range.
    next = stats.next ?? to;
    backlog = next < to;
    totals.chunks += 1;
    totals.records += stats.records;
    totals.points += stats.points;
    totals.inserted += stats.inserted;
    totals.deadLetters += stats.deadLetters;
    totals.expired += stats.expired ?? 0;
  }
  await continueAsNew<typeof ingestPartition>({ ...input, next, lastVersion, totals });
}

export function ingestWorkflowId(topic: string, partition: number): string {
  return `ingest:${topic}:partition-${partition}`;
}
