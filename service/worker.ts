import type { Client } from '@temporalio/client';
import { createBackfillActivities } from '../activities/backfill';
import { createCompactionActivities } from '../activities/compaction';
import { createIngestActivities } from '../activities/partition-ingest';
import type { Shards } from '../lib/clickhouse/shards';
import { temporalAddress } from '../lib/config/config';
import { WriteCoalescer } from '../lib/ingest/write-coalescer';
import { WINDOW_MS } from '../lib/model/ladder';
import { ensureCompactor } from '../workers/compaction-control';
import { superviseWorker } from '../workers/worker';
import type { ProcessContext } from './process-context';

export interface WorkerDeps extends ProcessContext {
  client: Client;
  ingestShards: Shards;
  compactShards: Shards;
  /** Stops the worker (and the ingest activities it runs). */
  shutdown: AbortSignal;
}

export interface StartedWorker {
  /** Resolves once the worker has stopped after `shutdown`. */
  done: Promise<void>;
  /** Resolves once the worker first runs. */
  running: Promise<void>;
}

/** Partitions the topic may gain while a worker runs before their activities wait for slots. */
const PARTITIONS_ADDED_ROOM = 8;

/** Starts the Temporal worker with the ingest, compaction and backfill activities, supervised until shutdown. */
export function startWorker(deps: WorkerDeps): StartedWorker {
  const { config, log, health, kafka, client: c } = deps;
  let workerRunning = () => {};
  const running = new Promise<void>((resolve) => (workerRunning = resolve));
  const ingestLog = log.child({ component: 'ingest' });
  // Budget: a chunk at its points budget from every partition fits one write.
  const writer = new WriteCoalescer({
    shards: deps.ingestShards,
    intervalMs: config.ingest.writeIntervalMs,
    maxPoints: config.ingest.chunkMaxPoints * config.kafka.partitions,
    log: ingestLog,
  });
  const activities = createIngestActivities({
    shards: deps.ingestShards,
    writer,
    offsets: kafka.offsets,
    deadLetters: kafka.deadLetters,
    checkpoints: kafka.checkpoints,
    limits: deps.limits,
    budget: { maxPoints: config.ingest.chunkMaxPoints, maxBytes: config.ingest.chunkMaxBytes },
    log: ingestLog,
    shutdown: deps.shutdown,
    metrics: deps.metrics,
    windowMs: WINDOW_MS,
    reader: kafka.reader,
  });
  const backfill = createBackfillActivities({
    shards: deps.compactShards,
    limits: deps.limits,
    windowMs: WINDOW_MS,
    importDirs: [config.backfill.importDir, config.backfill.uploadDir],
    uploadDir: config.backfill.uploadDir,
  });
  const compaction = createCompactionActivities({
    shards: deps.compactShards,
    policy: { ladder: deps.ladder, graceMs: 2000, idleMs: 10_000 },
    ensureCompactor: () => ensureCompactor(c, config),
    log: log.child({ component: 'compaction' }),
  });
  const done = superviseWorker(
    {
      address: temporalAddress(config),
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      activities: { ...activities, ...compaction, ...backfill },
      // Two per partition (a long poll and a chunk), with room for partitions added to the topic at runtime.
      maxConcurrentActivities: (config.kafka.partitions + PARTITIONS_ADDED_ROOM) * 2 + 2,
      log: log.child({ component: 'worker' }),
      onState: (state, detail) => {
        health.set('worker', state === 'running' ? 'ready' : 'down', detail);
        if (state === 'running') workerRunning();
      },
    },
    deps.shutdown,
  );
  return { done, running };
}
