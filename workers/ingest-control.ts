import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import type { Config } from '../lib/config/config';
import type { PartitionOffsets } from '../lib/kafka/topics';
import { EMPTY_TOTALS, ingestWorkflowId, progressQuery, type IngestProgress } from '../workflows/partition-ingest';

/** Where the ingest workflows of a topic may start: its watermarks and its durable checkpoints. */
export interface IngestStartSources {
  offsets(topic: string): Promise<PartitionOffsets[]>;
  /** The latest durable checkpoint of each partition that has one (lib/kafka/checkpoints.ts). */
  checkpoints(topic: string): Promise<Map<number, number>>;
}

export interface StartedIngest {
  partition: number;
  next: number;
  checkpoint: number | null;
}

/**
 * Where a new ingest workflow starts: the partition's durable checkpoint, or
 * offset 0 without one (what retention removed is then counted as expired).
 * A checkpoint beyond the high watermark belongs to an earlier topic of that
 * name (deleted and created again): start at 0, storage drops what it holds.
 */
export function startOffset(checkpoint: number | undefined, offsets: PartitionOffsets | undefined): number {
  if (checkpoint === undefined) return 0;
  if (offsets && checkpoint > offsets.high) return 0;
  return checkpoint;
}

/**
 * Starts the ingest workflow of every partition that has none running (never
 * started, terminated, or lost with Temporal's history) from its durable
 * checkpoint; running ones are left alone. The partitions are the topic's,
 * as Kafka lists them now (not the configured count, which only creates the
 * topic): partitions added to the topic while the service runs get their
 * workflows on the next check, from offset 0. Returns what it started.
 */
export async function ensureIngestWorkflows(client: Client, config: Config, sources: IngestStartSources): Promise<StartedIngest[]> {
  const { topic } = config.kafka;
  const offsets = await sources.offsets(topic);
  const missing: number[] = [];
  for (const { partition } of [...offsets].sort((a, b) => a.partition - b.partition)) {
    if (!(await isRunning(client, ingestWorkflowId(topic, partition)))) missing.push(partition);
  }
  if (missing.length === 0) return [];
  const checkpoints = await sources.checkpoints(topic);
  const started: StartedIngest[] = [];
  for (const partition of missing) {
    const checkpoint = checkpoints.get(partition);
    const next = startOffset(
      checkpoint,
      offsets.find((o) => o.partition === partition),
    );
    // USE_EXISTING: another process may have started it meanwhile (from the same checkpoint).
    await client.workflow.start('ingestPartition', {
      taskQueue: config.temporal.taskQueue,
      workflowId: ingestWorkflowId(topic, partition),
      workflowIdConflictPolicy: 'USE_EXISTING',
      args: [
        {
          topic,
          partition,
          next,
          maxRecords: config.ingest.chunkMaxRecords,
          intervalMs: config.ingest.chunkIntervalMs,
          chunksPerRun: config.ingest.chunksPerRun,
          totals: EMPTY_TOTALS,
        },
      ],
    });
    started.push({ partition, next, checkpoint: checkpoint ?? null });
  }
  return started;
}

async function isRunning(client: Client, workflowId: string): Promise<boolean> {
  try {
    return (await client.workflow.getHandle(workflowId).describe()).status.name === 'RUNNING';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

/** Checkpoints of the ingest workflows of the given partitions, indexed by partition; null where the workflow is missing. */
export async function ingestProgress(client: Client, topic: string, partitions: readonly number[]): Promise<(IngestProgress | null)[]> {
  const out: (IngestProgress | null)[] = [];
  await Promise.all(
    partitions.map(async (partition) => {
      try {
        out[partition] = await client.workflow.getHandle(ingestWorkflowId(topic, partition)).query(progressQuery);
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) out[partition] = null;
        else throw err;
      }
    }),
  );
  return out;
}

/** Per partition: Kafka's watermarks, the ingest workflow's checkpoint and the lag between them (also used by /metrics). */
export function partitionStatus(offsets: PartitionOffsets[], progress: (IngestProgress | null)[]) {
  return offsets.map((o) => {
    const p = progress[o.partition] ?? null;
    const checkpoint = p?.next ?? null;
    return {
      partition: o.partition,
      low: o.low,
      high: o.high,
      checkpoint,
      lag: checkpoint === null ? null : o.high - checkpoint,
      totals: p,
    };
  });
}

export async function connectClient(address: string, namespace: string): Promise<Client> {
  const connection = await Connection.connect({ address, connectTimeout: 3000 });
  return new Client({ connection, namespace });
}
