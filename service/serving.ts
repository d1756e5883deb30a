import { serve, type ServerType } from '@hono/node-server';
import { createApp, type AppDeps } from '../api/app';
import type { LedgerCache } from '../lib/lens/ledger-cache';
import { compactionBacklog } from '../lib/rollup/compactor';
import { SeriesCatalog } from '../lib/series/catalog';
import { ingestProgress, partitionStatus } from '../workers/ingest-control';
import type { PartitionOffsets } from '../lib/kafka/topics';
import type { ClickHouseConnections } from './clickhouse';
import type { ProcessContext } from './process-context';
import type { TemporalConnection } from './temporal';

export interface ServingDeps extends ProcessContext {
  /** Read per request: the API answers before ClickHouse and Temporal are open. */
  clickhouse: ClickHouseConnections;
  temporal: TemporalConnection;
  ledgers: LedgerCache;
}

export interface Serving {
  server: ServerType;
  url: string;
}

/** The HTTP API's components: each route reaches ClickHouse, Kafka and Temporal through the service's connections. */
function apiDeps(deps: ServingDeps): AppDeps {
  const { config, kafka, clickhouse, temporal } = deps;
  return {
    health: deps.health,
    log: deps.log,
    apiTokens: config.http.apiTokens,
    queryTimeoutMs: config.limits.lensTimeoutMs,
    ingest: { publisher: kafka.publisher, limits: deps.limits, maxBodyBytes: config.limits.maxBodyBytes },
    lens: {
      shards: clickhouse.nextQuery,
      ladder: deps.ladder,
      maxSensorId: config.limits.maxSensorId,
      lensMaxRows: config.limits.lensMaxRows,
      rawLensMaxRows: config.limits.rawLensMaxRows,
      ledgers: deps.ledgers,
    },
    series: { catalog: new SeriesCatalog({ shards: () => clickhouse.catalog }) },
    backfill: {
      client: () => temporal.client,
      taskQueue: config.temporal.taskQueue,
      uploadDir: config.backfill.uploadDir,
      importDir: config.backfill.importDir,
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
      metrics: deps.metrics,
      sources: {
        lag: async () => {
          const client = temporal.client;
          if (!client) throw new Error('not connected to Temporal yet');
          const o = await kafka.offsets.offsets(config.kafka.topic);
          return partitionStatus(o, await ingestProgress(client, config.kafka.topic, partitionsOf(o)));
        },
        deadLetterRecords: async () => (await kafka.offsets.offsets(config.kafka.dlqTopic)).reduce((n, o) => n + o.high - o.low, 0),
        compactionBacklog: async () => {
          const ops = clickhouse.ops;
          if (!ops) throw new Error('ClickHouse is not open yet');
          return compactionBacklog(ops);
        },
      },
    },
    ops: {
      shards: () => clickhouse.ops,
      // An audit scans raw: on the query pool, under its time limit.
      auditShards: clickhouse.nextQuery,
      auditMaxRows: config.limits.auditMaxRows,
      offsets: () => kafka.offsets.offsets(config.kafka.topic),
      progress: async () => {
        const client = temporal.client;
        if (!client) throw new Error('not connected yet');
        // The topic's partitions as Kafka lists them: partitions added at runtime are reported too.
        return ingestProgress(client, config.kafka.topic, partitionsOf(await kafka.offsets.offsets(config.kafka.topic)));
      },
    },
  };
}

const partitionsOf = (offsets: PartitionOffsets[]) => offsets.map((o) => o.partition);

/** Starts the HTTP API and resolves once it listens. */
export async function startServing(deps: ServingDeps): Promise<Serving> {
  const { config } = deps;
  const app = createApp(apiDeps(deps));
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
  deps.log.info({ url }, 'HTTP API listening');
  return { server, url };
}
