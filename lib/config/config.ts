import { resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { MQTT_ENV, mqttConfigOf, mqttEnv, type MqttConfig } from './mqtt';
import { formatApiTokens, parseApiTokens, type ApiToken } from './tokens';

/** The checkout this module lives in; default home of state and tools. */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const port = z.coerce.number().int().min(1).max(65535);
const optionalString = z
  .string()
  .trim()
  .transform((s) => (s === '' ? undefined : s))
  .optional();

const schema = z.object({
  HERODOTUS_STATE_DIR: z.string().default(resolve(PROJECT_ROOT, '.herodotus')),
  HERODOTUS_TOOLS_DIR: z.string().default(resolve(PROJECT_ROOT, '.tools')),
  HERODOTUS_HOST: z.string().default('127.0.0.1'),
  HERODOTUS_PORT: port.default(8080),
  HERODOTUS_API_TOKENS: optionalString,
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),

  KAFKA_BROKERS: optionalString,
  HERODOTUS_KAFKA_PORT: port.default(9092),
  HERODOTUS_KAFKA_CONTROLLER_PORT: port.default(9093),
  HERODOTUS_TOPIC: z.string().default('herodotus.batches'),
  HERODOTUS_DLQ_TOPIC: z.string().default('herodotus.dead-letters'),
  HERODOTUS_CHECKPOINT_TOPIC: z.string().default('herodotus.checkpoints'),
  HERODOTUS_PARTITIONS: z.coerce.number().int().min(1).max(64).default(2),

  TEMPORAL_ADDRESS: optionalString,
  HERODOTUS_TEMPORAL_PORT: port.default(7233),
  HERODOTUS_TEMPORAL_UI_PORT: port.default(8233),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  HERODOTUS_TASK_QUEUE: z.string().default('herodotus'),

  CLICKHOUSE_URL: optionalString,
  CLICKHOUSE_SHARDS: optionalString,
  CLICKHOUSE_CLUSTER: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
    .default('herodotus'),
  CLICKHOUSE_USER: z.string().default('default'),
  CLICKHOUSE_PASSWORD: z.string().default(''),
  CLICKHOUSE_DATABASE: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
    .default('herodotus'),
  CLICKHOUSE_READ_USER: optionalString,
  CLICKHOUSE_READ_PASSWORD: z.string().default(''),

  HERODOTUS_CHUNK_INTERVAL_MS: z.coerce.number().int().min(50).max(60_000).default(1000),
  HERODOTUS_CHUNK_MAX_RECORDS: z.coerce.number().int().min(1).max(100_000).default(5000),
  HERODOTUS_CHUNK_MAX_POINTS: z.coerce.number().int().min(1).default(2_000_000),
  HERODOTUS_CHUNK_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(64 * 1024 * 1024),
  HERODOTUS_CHUNKS_PER_RUN: z.coerce.number().int().min(1).max(2000).default(200),
  HERODOTUS_WRITE_INTERVAL_MS: z.coerce.number().int().min(50).max(60_000).default(1000),
  // Below 2^31: ids from there up belong to named series (lib/model/series-name.ts).
  HERODOTUS_MAX_SENSOR_ID: z.coerce.number().int().min(0).max(2_147_483_647).default(999_999),
  // At most ClickHouse's max_partitions_per_insert_block (100): one batch must fit one insert block.
  HERODOTUS_MAX_BATCH_DAYS: z.coerce.number().int().min(1).max(100).default(100),
  // At most the batches topic's max.message.bytes (16 MiB, lib/kafka/topics.ts).
  HERODOTUS_MAX_BATCH_BYTES: z.coerce
    .number()
    .int()
    .min(64)
    .max(16 * 1024 * 1024)
    .default(1024 * 1024),
  HERODOTUS_MAX_FUTURE_SKEW_MS: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(86_400_000),
  HERODOTUS_MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(16 * 1024 * 1024),
  HERODOTUS_MAX_UPLOAD_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(1024 * 1024 * 1024),
  HERODOTUS_LENS_TIMEOUT_MS: z.coerce.number().int().min(1).max(3_600_000).default(30_000),
  // 10000 buckets × 10 sensors × 10 rows: twice what the costliest 1-2-5 lens reads (5 rows a bucket).
  HERODOTUS_LENS_MAX_ROWS: z.coerce.number().int().min(1000).default(1_000_000),
  HERODOTUS_RAW_LENS_MAX_ROWS: z.coerce.number().int().min(1000).default(100_000_000),
  // Below the one second within which a lens must reflect a committed insert (other processes' writes are not told).
  HERODOTUS_LENS_LEDGER_MAX_AGE_MS: z.coerce.number().int().min(0).max(900).default(500),
  HERODOTUS_LENS_LEDGER_ENTRIES: z.coerce.number().int().min(100).default(200_000),
  HERODOTUS_AUDIT_MAX_ROWS: z.coerce.number().int().min(1000).default(20_000_000),
  ...MQTT_ENV,
  HERODOTUS_IMPORT_DIR: optionalString,
  HERODOTUS_FAULT: z
    .string()
    .trim()
    .regex(
      /^(kill-after-raw-insert(:[1-9][0-9]{0,8})?|hold-first-chunk)?$/,
      "the faults are 'kill-after-raw-insert', 'kill-after-raw-insert:N' (N ≥ 1) and 'hold-first-chunk'",
    )
    .optional(),
});

/**
 * A fault a test places on purpose (HERODOTUS_FAULT, see lib/ingest/fault-hook.ts):
 * SIGKILL right after the process's `afterRawInserts`-th raw insert committed,
 * or the first ingest chunk with points held back before it is stored until
 * the test releases it.
 */
export type Fault = { kind: 'kill-after-raw-insert'; afterRawInserts: number } | { kind: 'hold-first-chunk' };

function parseFault(text: string | undefined): Fault | undefined {
  if (!text) return undefined;
  if (text === 'hold-first-chunk') return { kind: 'hold-first-chunk' };
  return { kind: 'kill-after-raw-insert', afterRawInserts: Number(text.split(':')[1] ?? 1) };
}

const faultText = (f: Fault) => (f.kind === 'hold-first-chunk' ? f.kind : `${f.kind}:${f.afterRawInserts}`);

export type Config = {
  stateDir: string;
  toolsDir: string;
  http: {
    host: string;
    port: number;
    /** Bearer tokens every /v1 route but /v1/health requires, with their scopes; empty: no authentication (loopback only). */
    apiTokens: ApiToken[];
  };
  logLevel: z.infer<typeof schema>['LOG_LEVEL'];
  kafka: {
    /** Brokers given by the environment; when absent a local broker is started. */
    external: string[] | undefined;
    port: number;
    controllerPort: number;
    topic: string;
    dlqTopic: string;
    /** Compacted topic of durable ingest checkpoints (lib/kafka/checkpoints.ts). */
    checkpointTopic: string;
    partitions: number;
  };
  temporal: {
    external: string | undefined;
    port: number;
    uiPort: number;
    namespace: string;
    taskQueue: string;
  };
  clickhouse: {
    /** Server URL given by the environment; when absent ClickHouse runs embedded (chdb). */
    url: string | undefined;
    /**
     * A sharded, replicated cluster: the HTTP URLs of each shard's replicas, in
     * shard order (CLICKHOUSE_SHARDS: shards separated by ';', replicas by ',').
     * Takes the place of `url`.
     */
    shards: string[][] | undefined;
    /** The cluster's name in remote_servers (ON CLUSTER DDL, Distributed tables). */
    cluster: string;
    user: string;
    password: string;
    database: string;
    /** Read-only credentials for lens and other read queries against a server (unused embedded). */
    readUser: string | undefined;
    readPassword: string;
  };
  ingest: {
    chunkIntervalMs: number;
    /** Records the workflow plans per chunk; the activity may stop earlier at the points or bytes budget. */
    chunkMaxRecords: number;
    chunkMaxPoints: number;
    /** Bytes of Kafka record values per chunk. */
    chunkMaxBytes: number;
    chunksPerRun: number;
    /** One coalesced write of all partitions' chunks per this many ms (lib/ingest/write-coalescer.ts). */
    writeIntervalMs: number;
  };
  limits: {
    maxSensorId: number;
    /** UTC days one batch may touch. */
    maxBatchDays: number;
    /** Bytes of one batch as a binary frame (its Kafka record). */
    maxBatchBytes: number;
    /** How far after now a timestamp may lie. */
    futureSkewMs: number;
    maxBodyBytes: number;
    /** Largest file a backfill upload (CSV, line protocol) may send. */
    maxUploadBytes: number;
    /** ClickHouse `max_execution_time` of lens, raw and audit queries. */
    lensTimeoutMs: number;
    /** Rows a planned lens may read where its step decides what is read (clean data, or raw when no rollup level tiles the step). */
    lensMaxRows: number;
    /** Rows a `source=raw` lens may read (ClickHouse `max_rows_to_read`). */
    rawLensMaxRows: number;
    /**
     * How long a lens may plan from ledger state held in the process when
     * other processes may write the ledger (a ClickHouse server or cluster);
     * embedded, this process is the only writer and is told of every write.
     */
    lensLedgerMaxAgeMs: number;
    /** (sensor, day) ledger entries the lens ledger cache keeps. */
    lensLedgerEntries: number;
    /** Raw rows one page of `/v1/audit` covers. */
    auditMaxRows: number;
  };
  backfill: {
    /** The only directory server-side backfill imports read from. */
    importDir: string;
    /** Where uploaded backfill files wait for their backfill (deleted when it ends). */
    uploadDir: string;
  };
  /** Tests only; undefined (no fault) unless HERODOTUS_FAULT is set. */
  fault: Fault | undefined;
  /** The MQTT ingest bridge (lib/mqtt); url undefined: none. */
  mqtt: MqttConfig;
};

export class ConfigError extends Error {}

/** Reads and validates the whole configuration; every setting has a documented default. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const apiTokens = parseApiTokens(e.HERODOTUS_API_TOKENS ?? '');
  if ('error' in apiTokens) throw new ConfigError(`invalid configuration:\n  HERODOTUS_API_TOKENS: ${apiTokens.error}`);
  const shards = e.CLICKHOUSE_SHARDS ? parseShards(e.CLICKHOUSE_SHARDS) : undefined;
  if (shards && e.CLICKHOUSE_URL)
    throw new ConfigError(
      "invalid configuration:\n  CLICKHOUSE_SHARDS and CLICKHOUSE_URL exclude each other: name the cluster's servers in CLICKHOUSE_SHARDS only",
    );
  const stateDir = resolve(e.HERODOTUS_STATE_DIR);
  return {
    stateDir,
    toolsDir: resolve(e.HERODOTUS_TOOLS_DIR),
    http: { host: e.HERODOTUS_HOST, port: e.HERODOTUS_PORT, apiTokens },
    logLevel: e.LOG_LEVEL,
    kafka: {
      external: e.KAFKA_BROKERS?.split(',')
        .map((b) => b.trim())
        .filter(Boolean),
      port: e.HERODOTUS_KAFKA_PORT,
      controllerPort: e.HERODOTUS_KAFKA_CONTROLLER_PORT,
      topic: e.HERODOTUS_TOPIC,
      dlqTopic: e.HERODOTUS_DLQ_TOPIC,
      checkpointTopic: e.HERODOTUS_CHECKPOINT_TOPIC,
      partitions: e.HERODOTUS_PARTITIONS,
    },
    temporal: {
      external: e.TEMPORAL_ADDRESS,
      port: e.HERODOTUS_TEMPORAL_PORT,
      uiPort: e.HERODOTUS_TEMPORAL_UI_PORT,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.HERODOTUS_TASK_QUEUE,
    },
    clickhouse: {
      url: e.CLICKHOUSE_URL,
      shards,
      cluster: e.CLICKHOUSE_CLUSTER,
      user: e.CLICKHOUSE_USER,
      password: e.CLICKHOUSE_PASSWORD,
      database: e.CLICKHOUSE_DATABASE,
      readUser: e.CLICKHOUSE_READ_USER,
      readPassword: e.CLICKHOUSE_READ_PASSWORD,
    },
    ingest: {
      chunkIntervalMs: e.HERODOTUS_CHUNK_INTERVAL_MS,
      chunkMaxRecords: e.HERODOTUS_CHUNK_MAX_RECORDS,
      chunkMaxPoints: e.HERODOTUS_CHUNK_MAX_POINTS,
      chunkMaxBytes: e.HERODOTUS_CHUNK_MAX_BYTES,
      chunksPerRun: e.HERODOTUS_CHUNKS_PER_RUN,
      writeIntervalMs: e.HERODOTUS_WRITE_INTERVAL_MS,
    },
    limits: {
      maxSensorId: e.HERODOTUS_MAX_SENSOR_ID,
      maxBatchDays: e.HERODOTUS_MAX_BATCH_DAYS,
      maxBatchBytes: e.HERODOTUS_MAX_BATCH_BYTES,
      futureSkewMs: e.HERODOTUS_MAX_FUTURE_SKEW_MS,
      maxBodyBytes: e.HERODOTUS_MAX_BODY_BYTES,
      maxUploadBytes: e.HERODOTUS_MAX_UPLOAD_BYTES,
      lensTimeoutMs: e.HERODOTUS_LENS_TIMEOUT_MS,
      lensMaxRows: e.HERODOTUS_LENS_MAX_ROWS,
      rawLensMaxRows: e.HERODOTUS_RAW_LENS_MAX_ROWS,
      lensLedgerMaxAgeMs: e.HERODOTUS_LENS_LEDGER_MAX_AGE_MS,
      lensLedgerEntries: e.HERODOTUS_LENS_LEDGER_ENTRIES,
      auditMaxRows: e.HERODOTUS_AUDIT_MAX_ROWS,
    },
    backfill: { importDir: resolve(e.HERODOTUS_IMPORT_DIR ?? resolve(stateDir, 'imports')), uploadDir: resolve(stateDir, 'uploads') },
    fault: parseFault(e.HERODOTUS_FAULT),
    mqtt: mqttConfigOf(e),
  };
}

/** `http://a:8123,http://b:8123;http://c:8123,http://d:8123`: shards by ';', each shard's replicas by ','. */
function parseShards(text: string): string[][] {
  const shards = text.split(';').map((s) =>
    s
      .split(',')
      .map((u) => u.trim())
      .filter(Boolean),
  );
  const bad = shards.flat().find((u) => !z.url({ protocol: /^https?$/ }).safeParse(u).success);
  if (shards.some((s) => s.length === 0) || bad !== undefined) {
    throw new ConfigError(
      `invalid configuration:\n  CLICKHOUSE_SHARDS: ${bad !== undefined ? `'${bad}' is not an http(s) URL` : 'an empty shard'}; ` +
        `expected shards separated by ';', each a ','-separated list of its replicas' HTTP URLs`,
    );
  }
  return shards;
}

/** Kafka bootstrap addresses: the configured ones, or the local broker's. */
export function kafkaBrokers(config: Config): string[] {
  return config.kafka.external ?? [`127.0.0.1:${config.kafka.port}`];
}

/** True for addresses only this machine can reach: 127.0.0.0/8, ::1 and localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  return (
    h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1' || /^127(\.\d{1,3}){3}$/.test(h) || /^::ffff:127(\.\d{1,3}){3}$/.test(h)
  );
}

/**
 * An API without tokens is open to anyone who can reach it: refuse to listen
 * beyond this machine unless HERODOTUS_API_TOKENS is set.
 */
export function checkExposure(config: Config): void {
  if (config.http.apiTokens.length > 0 || isLoopbackHost(config.http.host)) return;
  throw new ConfigError(
    `refusing to listen on HERODOTUS_HOST=${config.http.host} without HERODOTUS_API_TOKENS: anyone who can reach that address could read every sensor, ` +
      `ingest data and start backfills. Set HERODOTUS_API_TOKENS to one or more comma-separated secrets (clients send 'Authorization: Bearer <token>'), ` +
      `or listen on a loopback address such as 127.0.0.1.`,
  );
}

export function temporalAddress(config: Config): string {
  return config.temporal.external ?? `127.0.0.1:${config.temporal.port}`;
}

/** The environment that makes another process load this same configuration. */
export function configEnv(config: Config): Record<string, string> {
  return {
    HERODOTUS_STATE_DIR: config.stateDir,
    HERODOTUS_TOOLS_DIR: config.toolsDir,
    HERODOTUS_HOST: config.http.host,
    HERODOTUS_PORT: String(config.http.port),
    ...(config.http.apiTokens.length > 0 ? { HERODOTUS_API_TOKENS: formatApiTokens(config.http.apiTokens) } : {}),
    LOG_LEVEL: config.logLevel,
    KAFKA_BROKERS: kafkaBrokers(config).join(','),
    HERODOTUS_TOPIC: config.kafka.topic,
    HERODOTUS_DLQ_TOPIC: config.kafka.dlqTopic,
    HERODOTUS_CHECKPOINT_TOPIC: config.kafka.checkpointTopic,
    HERODOTUS_PARTITIONS: String(config.kafka.partitions),
    TEMPORAL_ADDRESS: temporalAddress(config),
    TEMPORAL_NAMESPACE: config.temporal.namespace,
    HERODOTUS_TASK_QUEUE: config.temporal.taskQueue,
    ...(config.clickhouse.url ? { CLICKHOUSE_URL: config.clickhouse.url } : {}),
    ...(config.clickhouse.shards ? { CLICKHOUSE_SHARDS: config.clickhouse.shards.map((s) => s.join(',')).join(';') } : {}),
    CLICKHOUSE_CLUSTER: config.clickhouse.cluster,
    CLICKHOUSE_USER: config.clickhouse.user,
    CLICKHOUSE_PASSWORD: config.clickhouse.password,
    CLICKHOUSE_DATABASE: config.clickhouse.database,
    ...(config.clickhouse.readUser
      ? { CLICKHOUSE_READ_USER: config.clickhouse.readUser, CLICKHOUSE_READ_PASSWORD: config.clickhouse.readPassword }
      : {}),
    HERODOTUS_CHUNK_INTERVAL_MS: String(config.ingest.chunkIntervalMs),
    HERODOTUS_CHUNK_MAX_RECORDS: String(config.ingest.chunkMaxRecords),
    HERODOTUS_CHUNK_MAX_POINTS: String(config.ingest.chunkMaxPoints),
    HERODOTUS_CHUNK_MAX_BYTES: String(config.ingest.chunkMaxBytes),
    HERODOTUS_CHUNKS_PER_RUN: String(config.ingest.chunksPerRun),
    HERODOTUS_WRITE_INTERVAL_MS: String(config.ingest.writeIntervalMs),
    HERODOTUS_MAX_SENSOR_ID: String(config.limits.maxSensorId),
    HERODOTUS_MAX_BATCH_DAYS: String(config.limits.maxBatchDays),
    HERODOTUS_MAX_BATCH_BYTES: String(config.limits.maxBatchBytes),
    HERODOTUS_MAX_FUTURE_SKEW_MS: String(config.limits.futureSkewMs),
    HERODOTUS_MAX_BODY_BYTES: String(config.limits.maxBodyBytes),
    HERODOTUS_MAX_UPLOAD_BYTES: String(config.limits.maxUploadBytes),
    HERODOTUS_LENS_TIMEOUT_MS: String(config.limits.lensTimeoutMs),
    HERODOTUS_LENS_MAX_ROWS: String(config.limits.lensMaxRows),
    HERODOTUS_RAW_LENS_MAX_ROWS: String(config.limits.rawLensMaxRows),
    HERODOTUS_LENS_LEDGER_MAX_AGE_MS: String(config.limits.lensLedgerMaxAgeMs),
    HERODOTUS_LENS_LEDGER_ENTRIES: String(config.limits.lensLedgerEntries),
    HERODOTUS_AUDIT_MAX_ROWS: String(config.limits.auditMaxRows),
    HERODOTUS_IMPORT_DIR: config.backfill.importDir,
    ...(config.fault ? { HERODOTUS_FAULT: faultText(config.fault) } : {}),
    ...mqttEnv(config.mqtt),
  };
}
