import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import type { Config } from '../lib/config/config';
import type { PartitionOffsets } from '../lib/kafka/topics';
import { EMPTY_TOTALS, ingestWorkflowId, progressQuery, type IngestProgress } from '../workflows/partition-ingest';

/** Starts one ingest workflow per partition, or leaves the running ones alone. */
export async function startIngestWorkflows(client: Client, config: Config): Promise<void> {
  const { topic, partitions } = config.kafka;
  for (let partition = 0; partition < partitions; partition++) {
    await client.workflow.start('ingestPartition', {
      taskQueue: config.temporal.taskQueue,
      workflowId: ingestWorkflowId(topic, partition),
      workflowIdConflictPolicy: 'USE_EXISTING',
      args: [
        {
          topic,
          partition,
          next: 0,
          maxRecords: config.ingest.chunkMaxRecords,
          intervalMs: config.ingest.chunkIntervalMs,
          chunksPerRun: config.ingest.chunksPerRun,
          totals: EMPTY_TOTALS,
        },
      ],
    });
  }
}

/** Checkpoints of the ingest workflows; null for a partition whose workflow is missing. */
export async function ingestProgress(client: Client, config: Config): Promise<(IngestProgress | null)[]> {
  const { topic, partitions } = config.kafka;
  return Promise.all(
    Array.from({ length: partitions }, async (_, partition) => {
      try {
        return await client.workflow.getHandle(ingestWorkflowId(topic, partition)).query(progressQuery);
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return null;
        throw err;
      }
    }),
  );
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
