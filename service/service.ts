import { serve, type ServerType } from '@hono/node-server';
import type { Client } from '@temporalio/client';
import { createIngestActivities } from '../activities/ingest';
import { createApp } from '../api/app';
import { DEFAULT_BATCH_LIMITS, type BatchLimits } from '../lib/batch/types';
import { checkExposure, kafkaBrokers, temporalAddress, type Config } from '../lib/config/config';
import { onReachableShards, type Shards } from '../lib/clickhouse/shards';
import { migrate } from '../lib/clickhouse/migrate';
import { openShards } from '../lib/clickhouse/store-open';
import { BatchPublisher } from '../lib/kafka/batch-publisher';
import { createKafka } from '../lib/kafka/client';
import { DeadLetterPublisher } from '../lib/kafka/dead-letters';
import { OffsetWatcher } from '../lib/kafka/offsets';
import { PartitionReader } from '../lib/kafka/range-reader';
import { ensureTopics } from '../lib/kafka/topics';
import type { Logger } from '../lib/log/logger';
import { connectClient, ingestProgress, startIngestWorkflows } from '../workers/ingest-control';
import { superviseWorker } from '../workers/worker';
import { join } from 'node:path';
import { createBackfillActivities } from '../activities/backfill';
import { createCompactionActivities } from '../activities/compaction';
import { makeLadder, WINDOW_MS } from '../lib/model/ladder';
import { ensureCompactor, ensureSweepSchedule } from '../workers/compaction-control';
import { Health } from '../lib/telemetry/health';
import { Metrics } from '../lib/telemetry/metrics';
import { partitionStatus } from '../api/routes/ops';
import { compactionBacklog } from '../lib/rollup/compactor';

export interface Service {
  url: string;
  /** Resolves once every component has started. */
  ready: Promise<void>;
  stop(): Promise<void>;
}

/** chdb connections for lenses (each runs one query at a time). */
const EMBEDDED_QUERY_CONNECTIONS = 4;

/** Retries a start-up step until it succeeds: a dependency may still be starting or briefly down. */
async function untilDone<T>(what: string, log: Logger, signal: AbortSignal, step: () => Promise<T>): Promise<T> {
  let delay = 250;
  for (;;) {
    try {
      return await step();
    } catch (err) {
      if (signal.aborted) throw err;
      log.warn({ err: (err as Error).message, retryInMs: delay }, `${what} not available yet`);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 5000);
    }
  }
}

/**
 * One Herodotus process: the HTTP API, the Temporal worker and (in the
 * embedded shape) ClickHouse. The API answers at once; /v1/health says 503
 * until every component is ready.
 */
export async function startService(config: Config, log: Logger): Promise<Service> {
  checkExposure(config);
  const metrics = new Metrics();
  const health = new Health(['clickhouse', 'kafka', 'temporal', 'worker']);
  const limits: BatchLimits = { ...DEFAULT_BATCH_LIMITS, maxSensorId: config.limits.maxSensorId };
  const abort = new AbortController();
  const ladder = makeLadder();
  const kafka = createKafka(kafkaBrokers(config), 'herodotus', log);
  const offsets = new OffsetWatcher(kafka);
  const publisher = new BatchPublisher(kafka, config.kafka.topic);
  const deadLetters = new DeadLetterPublisher(kafka, config.kafka.dlqTopic);
  const readers = new Map<number, PartitionReader>();
  // Queries on one chdb connection run one after another: lenses take turns over a few.
  // (A server's HTTP client runs them side by side: one is enough there.)
  const queryPool: Shards[] = [];
  let nextQuery = 0;
  const queryShards = (): Shards | null => (queryPool.length === 0 ? null : queryPool[nextQuery++ % queryPool.length]!);
  // Operational reads (sensor list, status, the full audit) are not lenses: no time limit, their own connection.
  let opsShards: Shards | null = null;
  let ingestShards: Shards | null = null;
  let compactShards: Shards | null = null;
  let client: Client | null = null;

  const app = createApp({
    health,
    log,
    apiTokens: config.http.apiTokens,
    queryTimeoutMs: config.limits.lensTimeoutMs,
    ingest: { publisher, limits, maxBodyBytes: config.limits.maxBodyBytes },
    lens: { shards: queryShards, ladder, maxSensorId: config.limits.maxSensorId },
    backfill: {
      client: () => client,
      taskQueue: config.temporal.taskQueue,
      uploadDir: join(config.stateDir, 'uploads'),
      maxSensorId: config.limits.maxSensorId,
      maxUploadBytes: config.limits.maxUploadBytes,
    },
    docs: {
      maxSensorId: config.limits.maxSensorId,
      maxBodyBytes: config.limits.maxBodyBytes,
      maxUploadBytes: config.limits.maxUploadBytes,
      tokensRequired: config.http.apiTokens.length > 0,
    },
    metrics: {
      metrics,
      sources: {
        lag: async () => {
          if (!client) throw new Error('not connected to Temporal yet');
          const [o, p] = await Promise.all([offsets.offsets(config.kafka.topic), ingestProgress(client, config)]);
          return partitionStatus(o, p);
        },
        deadLetterRecords: async () => (await offsets.offsets(config.kafka.dlqTopic)).reduce((n, o) => n + o.high - o.low, 0),
        compactionBacklog: async () => {
          if (!opsShards) throw new Error('ClickHouse is not open yet');
          return compactionBacklog(opsShards);
        },
      },
    },
    ops: {
      shards: () => opsShards,
      offsets: () => offsets.offsets(config.kafka.topic),
      progress: () => (client ? ingestProgress(client, config) : Promise.reject(new Error('not connected yet'))),
    },
  });
  const server: ServerType = await new Promise((resolve) => {
    const s = serve(
      {
        fetch: app.fetch,
        hostname: config.http.host,
        port: config.http.port,
        // A client gets 60 s to send its headers and 10 min for a whole request (large uploads).
        // Idle connections outlive clients' own keep-alive (4-5 s in undici and browsers), so the
        // server never closes a socket just as a client reuses it.
        serverOptions: { headersTimeout: 66_000, requestTimeout: 600_000, keepAliveTimeout: 65_000 },
      },
      () => resolve(s),
    );
  });
  const url = `http://${config.http.host}:${config.http.port}`;
  log.info({ url }, 'HTTP API listening');

  let workerDone: Promise<void> = Promise.resolve();
  let workerRunning = () => {};
  const workerStarted = new Promise<void>((resolve) => (workerRunning = resolve));
  const ready = (async () => {
    // A ClickHouse server may still be starting: wait for it like for Kafka and Temporal.
    ingestShards = await untilDone('clickhouse', log, abort.signal, async () => {
      const shards = await openShards(config, { name: 'ingest', log });
      try {
        await migrate(shards);
        return shards;
      } catch (err) {
        await shards.close().catch(() => undefined);
        throw err;
      }
    });
    const lensTimeout = { readOnly: true, maxExecutionMs: config.limits.lensTimeoutMs };
    const queryConnections = config.clickhouse.url || config.clickhouse.shards ? 1 : EMBEDDED_QUERY_CONNECTIONS;
    for (let i = 0; i < queryConnections; i++) queryPool.push(await openShards(config, { name: `query-${i}`, ...lensTimeout, log }));
    opsShards = await openShards(config, { name: 'ops', readOnly: true, log });
    compactShards = await openShards(config, { name: 'compact', log });
    const qs = queryPool[0]!;
    health.set('clickhouse', 'ready');
    // Ready while any shard answers: a shard that is down fails only the requests that need it.
    health.probe('clickhouse', async () => void (await onReachableShards(qs, (store) => store.rows('SELECT 1'))));

    await untilDone('kafka', log, abort.signal, () =>
      ensureTopics(kafka, [
        { topic: config.kafka.topic, partitions: config.kafka.partitions },
        { topic: config.kafka.dlqTopic, partitions: 1 },
      ]),
    );
    health.set('kafka', 'ready');
    health.probe('kafka', async () => void (await offsets.offsets(config.kafka.topic)));

    const address = temporalAddress(config);
    client = await untilDone('temporal', log, abort.signal, () => connectClient(address, config.temporal.namespace));
    const c = client;
    await untilDone('temporal', log, abort.signal, async () => {
      await startIngestWorkflows(c, config);
      await ensureCompactor(c, config);
      await ensureSweepSchedule(c, config);
    });
    health.set('temporal', 'ready');
    health.probe('temporal', async () => void (await c.workflowService.getSystemInfo({})));

    const activities = createIngestActivities({
      shards: ingestShards,
      offsets,
      deadLetters,
      limits,
      log: log.child({ component: 'ingest' }),
      shutdown: abort.signal,
      metrics,
      windowMs: WINDOW_MS,
      reader: (topic, partition) => {
        let r = readers.get(partition);
        if (!r) readers.set(partition, (r = new PartitionReader(kafka, topic, partition, log)));
        return r;
      },
    });
    const backfill = createBackfillActivities({ shards: compactShards, limits, windowMs: WINDOW_MS });
    const compaction = createCompactionActivities({
      shards: compactShards,
      policy: { ladder, graceMs: 2000, idleMs: 10_000 },
      ensureCompactor: () => ensureCompactor(c, config),
      log: log.child({ component: 'compaction' }),
    });
    workerDone = superviseWorker(
      {
        address,
        namespace: config.temporal.namespace,
        taskQueue: config.temporal.taskQueue,
        activities: { ...activities, ...compaction, ...backfill },
        maxConcurrentActivities: config.kafka.partitions * 2 + 2,
        log: log.child({ component: 'worker' }),
        onState: (state, detail) => {
          health.set('worker', state === 'running' ? 'ready' : 'down', detail);
          if (state === 'running') workerRunning();
        },
      },
      abort.signal,
    );
    await workerStarted;
  })();
  ready.catch((err) => log.error({ err: (err as Error).message }, 'service failed to start'));

  return {
    url,
    ready,
    async stop() {
      const t = performance.now();
      const lap = (what: string) => log.debug({ ms: Math.round(performance.now() - t) }, `stopped ${what}`);
      abort.abort();
      await new Promise<void>((r) => server.close(() => r()));
      lap('http');
      await workerDone.catch(() => undefined);
      lap('worker');
      await Promise.all([...readers.values()].map((r) => r.close()));
      await Promise.all([publisher.close(), deadLetters.close(), offsets.close()]);
      lap('kafka');
      await (client as Client | null)?.connection.close().catch(() => undefined);
      lap('temporal');
      await (ingestShards as Shards | null)?.close();
      await Promise.all(queryPool.map((q) => q.close()));
      await (opsShards as Shards | null)?.close();
      await (compactShards as Shards | null)?.close();
      lap('clickhouse');
    },
  };
}
