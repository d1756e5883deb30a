import type { ServerType } from '@hono/node-server';
import { DEFAULT_BATCH_LIMITS, type BatchLimits } from '../lib/batch/types';
import { checkExposure, type Config } from '../lib/config/config';
import { armFaultHook } from '../lib/ingest/fault-hook';
import type { Logger } from '../lib/log/logger';
import { LedgerCache } from '../lib/lens/ledger-cache';
import { makeLadder } from '../lib/model/ladder';
import { Health } from '../lib/telemetry/health';
import { Metrics } from '../lib/telemetry/metrics';
import { closeClickHouse, clickhouseConnections, openClickHouse, type ClickHouseConnections } from './clickhouse';
import { ensureKafka, kafkaClients, type KafkaClients } from './kafka';
import { startMqttBridge } from './mqtt';
import { startServing } from './serving';
import { connectTemporal, type TemporalConnection } from './temporal';
import { startWorker } from './worker';

export interface Service {
  url: string;
  /** Resolves once every component has started. */
  ready: Promise<void>;
  stop(): Promise<void>;
}

/**
 * One Herodotus process: the HTTP API, the Temporal worker and (in the
 * embedded shape) ClickHouse. The API answers at once; /v1/health says 503
 * until every component is ready.
 */
export async function startService(config: Config, log: Logger): Promise<Service> {
  checkExposure(config);
  armFaultHook(config.fault, config.stateDir);
  if (config.fault) log.warn({ fault: config.fault }, 'HERODOTUS_FAULT is set: this process places a fault on purpose (tests only)');
  const metrics = new Metrics();
  const health = new Health(['clickhouse', 'kafka', 'temporal', 'worker', ...(config.mqtt.url ? (['mqtt'] as const) : [])]);
  const limits: BatchLimits = {
    ...DEFAULT_BATCH_LIMITS,
    maxSensorId: config.limits.maxSensorId,
    ingest: { maxDays: config.limits.maxBatchDays, maxBytes: config.limits.maxBatchBytes, futureSkewMs: config.limits.futureSkewMs },
  };
  const abort = new AbortController();
  const ladder = makeLadder();
  const kafka = kafkaClients(config, log);
  const clickhouse = clickhouseConnections();
  const temporal: TemporalConnection = { client: null };
  // Embedded, this process is the only writer (chdb locks its path) and is told of every ledger write.
  const embedded = !config.clickhouse.url && !config.clickhouse.shards;
  const ledgers = new LedgerCache({
    maxAgeMs: embedded ? Number.POSITIVE_INFINITY : config.limits.lensLedgerMaxAgeMs,
    maxEntries: config.limits.lensLedgerEntries,
  });
  const { server, url } = await startServing({ config, log, health, metrics, limits, ladder, kafka, clickhouse, temporal, ledgers });

  let workerDone: Promise<void> = Promise.resolve();
  let bridge: ReturnType<typeof startMqttBridge> = null;
  const ready = (async () => {
    const { ingest, compact } = await openClickHouse(clickhouse, config, log, abort.signal, health, metrics);
    await ensureKafka(kafka, config, log, abort.signal, health);
    if (!abort.signal.aborted) bridge = startMqttBridge({ config, log, health, metrics, limits, ladder, kafka }, clickhouse);
    const client = await connectTemporal(temporal, config, log, abort.signal, health, kafka);
    const worker = startWorker({
      config,
      log,
      health,
      metrics,
      limits,
      ladder,
      kafka,
      client,
      ingestShards: ingest,
      compactShards: compact,
      shutdown: abort.signal,
    });
    workerDone = worker.done;
    await worker.running;
  })();
  ready.catch((err) => log.error({ err: (err as Error).message }, 'service failed to start'));

  return {
    url,
    ready,
    stop: async () => {
      // The bridge first: a message it is handling stays unacknowledged, so the broker delivers it again.
      await bridge?.stop();
      await stopService({ log, abort, server, workerDone: () => workerDone, kafka, temporal, clickhouse });
      ledgers.close();
    },
  };
}

interface Running {
  log: Logger;
  abort: AbortController;
  server: ServerType;
  /** The worker's end, read when stopping: the worker may not have started yet. */
  workerDone(): Promise<void>;
  kafka: KafkaClients;
  temporal: TemporalConnection;
  clickhouse: ClickHouseConnections;
}

/** Stops the HTTP API first (no new requests), then the worker, then Kafka, Temporal and ClickHouse. */
async function stopService(s: Running): Promise<void> {
  const t = performance.now();
  const lap = (what: string) => s.log.debug({ ms: Math.round(performance.now() - t) }, `stopped ${what}`);
  s.abort.abort();
  await new Promise<void>((r) => s.server.close(() => r()));
  lap('http');
  await s.workerDone().catch(() => undefined);
  lap('worker');
  await s.kafka.close();
  lap('kafka');
  await s.temporal.client?.connection.close().catch(() => undefined);
  lap('temporal');
  await closeClickHouse(s.clickhouse);
  lap('clickhouse');
}
