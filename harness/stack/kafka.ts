import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { createLogger } from '../../lib/log/logger';
import { ManagedProcess, stopLeftover, waitFor } from './child';
import { isPortOpen } from './ports';

const log = createLogger('stack');

export type KafkaOptions = {
  /** Holds config/, the log segments (log/) and the cluster id; reused across restarts. */
  dataDir: string;
  port: number;
  controllerPort: number;
  /** Folder of broker jars installed by scripts/setup.mjs. */
  libsDir: string;
  logFile: string;
  /** The `java` to run (tools.json's `java`); default `java` from PATH. */
  java?: string;
  heapMb?: number;
  partitionsDefault?: number;
  /** How long to wait for the broker to serve metadata; default 90 s. */
  readyTimeoutMs?: number;
  /** How often the broker deletes segments past retention; default 5 min (tests of retention set seconds). */
  retentionCheckIntervalMs?: number;
};

const MiB = 1024 * 1024;
/** Largest record batch: a 16 MiB ingest body plus headroom for batch and record overhead. */
export const KAFKA_MAX_MESSAGE_BYTES = 17 * MiB;

/** Starts a single-node KRaft broker+controller bound to 127.0.0.1 and waits until it serves metadata. */
export async function startKafka(opts: KafkaOptions): Promise<ManagedProcess> {
  const started = Date.now();
  const configDir = path.join(opts.dataDir, 'config');
  const logDir = path.join(opts.dataDir, 'log');
  fs.mkdirSync(configDir, { recursive: true });
  fs.mkdirSync(logDir, { recursive: true });
  if (!fs.existsSync(path.join(opts.libsDir, 'kafka_2.13-3.9.1.jar'))) {
    throw new Error(`Kafka jars not found in ${opts.libsDir}; run: node scripts/setup.mjs`);
  }
  const pidFile = path.join(opts.dataDir, 'kafka.pid');
  await stopLeftover(pidFile); // a broker orphaned by an earlier crash of ours holds the ports and the data dir
  for (const port of [opts.port, opts.controllerPort]) {
    if (await isPortOpen('127.0.0.1', port)) throw new Error(`cannot start Kafka: port ${port} on 127.0.0.1 is already in use`);
  }

  const serverProperties = path.join(configDir, 'server.properties');
  const log4jProperties = path.join(configDir, 'log4j.properties');
  fs.writeFileSync(serverProperties, serverConfig(opts, logDir));
  fs.writeFileSync(log4jProperties, LOG4J_CONFIG);
  const classpath = `${opts.libsDir}/*`; // expanded by the JVM, not a shell
  const jvmLogging = `-Dlog4j.configuration=file:${log4jProperties}`;

  if (!fs.existsSync(path.join(logDir, 'meta.properties'))) {
    await formatStorage(opts.java ?? 'java', classpath, jvmLogging, serverProperties, clusterId(opts.dataDir), opts.logFile);
  }

  const child = await ManagedProcess.start({
    name: 'kafka',
    command: opts.java ?? 'java',
    args: [
      `-Xmx${opts.heapMb ?? 768}m`,
      // The JVM flags of Kafka's own kafka-server-start.sh, minus the GC log.
      '-XX:+UseG1GC',
      '-XX:MaxGCPauseMillis=20',
      '-XX:InitiatingHeapOccupancyPercent=35',
      '-XX:+ExplicitGCInvokesConcurrent',
      '-XX:+ExitOnOutOfMemoryError',
      '-Djava.awt.headless=true',
      jvmLogging,
      '-cp',
      classpath,
      'kafka.Kafka',
      serverProperties,
    ],
    logFile: opts.logFile,
    pidFile,
  });
  try {
    await waitFor(() => kafkaReady(`127.0.0.1:${opts.port}`), {
      what: `Kafka on 127.0.0.1:${opts.port}`,
      timeoutMs: opts.readyTimeoutMs ?? 90_000,
      intervalMs: 250,
      process: child,
    });
  } catch (err) {
    await child.stop({ timeoutMs: 5000 });
    throw err;
  }
  log.info({ childPid: child.pid, port: opts.port, ms: Date.now() - started }, 'kafka ready');
  return child;
}

/** Ready = the broker answers DescribeCluster and a Metadata request (nothing is created). */
async function kafkaReady(broker: string): Promise<boolean> {
  const admin = new Kafka({
    clientId: 'herodotus-stack-probe',
    brokers: [broker],
    logLevel: logLevel.NOTHING, // refused connections are expected while it boots
    connectionTimeout: 1000,
    requestTimeout: 2000,
    retry: { retries: 0 },
  }).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    await admin.fetchTopicMetadata(); // all topics: a plain Metadata request
    return cluster.brokers.length > 0;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

function serverConfig(opts: KafkaOptions, logDir: string): string {
  const settings: Record<string, string | number> = {
    'process.roles': 'broker,controller',
    'node.id': 1,
    'controller.quorum.voters': `1@127.0.0.1:${opts.controllerPort}`,
    // Loopback only: a local historian must not expose an unauthenticated broker.
    listeners: `PLAINTEXT://127.0.0.1:${opts.port},CONTROLLER://127.0.0.1:${opts.controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${opts.port}`,
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'log.dirs': logDir,
    'num.partitions': opts.partitionsDefault ?? 2,
    'default.replication.factor': 1,
    'min.insync.replicas': 1,
    'offsets.topic.replication.factor': 1,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    // 50 partitions each (the defaults) cost seconds of CPU on a 2-core machine when the
    // first consumer group / transaction appears; a single local node gains nothing from them.
    'offsets.topic.num.partitions': 4,
    'transaction.state.log.num.partitions': 4,
    'group.initial.rebalance.delay.ms': 0,
    // Topics are created explicitly (lib/kafka/topics.ts) with the intended partition count.
    'auto.create.topics.enable': 'false',
    'message.max.bytes': KAFKA_MAX_MESSAGE_BYTES,
    'replica.fetch.max.bytes': KAFKA_MAX_MESSAGE_BYTES,
    'log.retention.hours': 168,
    'log.segment.bytes': 128 * MiB,
    'log.retention.check.interval.ms': opts.retentionCheckIntervalMs ?? 300_000,
    // The cleaner (for compacted __consumer_offsets) otherwise grabs 128 MiB of a small heap.
    'log.cleaner.dedupe.buffer.size': 16 * MiB,
    // Sized for 2 cores rather than Kafka's server defaults (3 network, 8 I/O threads).
    'num.network.threads': 2,
    'num.io.threads': 4,
    'num.recovery.threads.per.data.dir': 1,
  };
  const lines = Object.entries(settings).map(([k, v]) => `${k}=${v}`);
  return `# Written by harness/stack/kafka.ts on every start; edits are overwritten.\n${lines.join('\n')}\n`;
}

// Everything goes to stdout (= the log file) at WARN, except the one INFO line that says the
// server is up ("[KafkaRaftServer nodeId=1] Kafka Server started"), so a log shows each start.
// NetworkClient warns on every start that an already closed client is being closed; benign.
const LOG4J_CONFIG = `log4j.rootLogger=WARN, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaRaftServer=INFO
log4j.logger.org.apache.kafka.clients.NetworkClient=ERROR
`;

/** The cluster id is chosen once per data dir and kept, so that restarts reuse the formatted storage. */
function clusterId(dataDir: string): string {
  const file = path.join(dataDir, 'cluster-id');
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim();
  let id: string;
  // Kafka's Uuid.randomUuid(): 16 random bytes, base64url; it avoids ids starting with '-'
  // because command-line parsers would take them for options.
  do id = randomBytes(16).toString('base64url');
  while (id.startsWith('-'));
  fs.writeFileSync(file, `${id}\n`);
  return id;
}

async function formatStorage(
  java: string,
  classpath: string,
  jvmLogging: string,
  serverProperties: string,
  id: string,
  logFile: string,
): Promise<void> {
  const args = [
    '-Xmx256m',
    jvmLogging,
    '-cp',
    classpath,
    'kafka.tools.StorageTool',
    'format',
    '-t',
    id,
    '-c',
    serverProperties,
    '--ignore-formatted',
  ];
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  try {
    const { stdout, stderr } = await promisify(execFile)(java, args, { encoding: 'utf8', timeout: 60_000 });
    fs.appendFileSync(logFile, `\n--- ${new Date().toISOString()} kafka storage format\n${stdout}${stderr}`);
  } catch (err) {
    const e = err as Error & { stdout?: string; stderr?: string };
    throw new Error(`formatting Kafka storage failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}
