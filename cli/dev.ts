import { z } from 'zod';
import { kafkaBrokers, loadConfig, temporalAddress, type Config } from '../lib/config/config';
import { createLogger } from '../lib/log/logger';
import { startService } from '../service/service';
import { stopAllChildren } from '../harness/stack/child';
import { clusterUp } from '../harness/stack/cluster';
import { LocalInfrastructure } from '../harness/stack/local';
import { parseOptions } from '../lib/config/args';
import { portBases } from './cluster';
import { waitForSignal } from './serve';

/** The local broker of `dev --mqtt`: MQTT's registered port. */
const LOCAL_MQTT_PORT = 1883;

const HELP = `usage: herodotus dev [--cluster] [--mqtt]

Starts everything on this machine: Kafka (KRaft, one broker) and the Temporal
dev server as child processes — each unless KAFKA_BROKERS / TEMPORAL_ADDRESS
name one — and, in this process, the HTTP API, the Temporal worker and
embedded ClickHouse (unless CLICKHOUSE_URL or CLICKHOUSE_SHARDS is set). State
lives under HERODOTUS_STATE_DIR (default .herodotus/). Ctrl-C stops everything
it started.

  --cluster  run on the local 2 shards × 2 replicas ClickHouse cluster instead
             of embedded ClickHouse: 'herodotus cluster up' first (installs and
             starts it if needed; it keeps running afterwards, stop it with
             'herodotus cluster down').
  --mqtt     also start Debian's mosquitto on 127.0.0.1:${LOCAL_MQTT_PORT} (unless
             HERODOTUS_MQTT_URL names a broker) and run the MQTT bridge on it,
             subscribed to HERODOTUS_MQTT_TOPICS (default herodotus/#).`;

const describeClickHouse = (config: Config) =>
  config.clickhouse.shards
    ? `cluster ${config.clickhouse.cluster}: ${config.clickhouse.shards.map((s, i) => `shard ${i + 1} ${s.join(' ')}`).join('; ')}`
    : (config.clickhouse.url ?? `embedded (chdb) in ${config.stateDir}/clickhouse`);

export async function dev(argv: string[]): Promise<number> {
  const args = parseOptions(
    argv,
    { cluster: { type: 'boolean' }, mqtt: { type: 'boolean' } },
    z.object({ cluster: z.boolean().default(false), mqtt: z.boolean().default(false) }),
    HELP,
  );
  const localMqtt = args.mqtt && !process.env.HERODOTUS_MQTT_URL;
  if (localMqtt) process.env.HERODOTUS_MQTT_URL = `mqtt://127.0.0.1:${LOCAL_MQTT_PORT}`;
  let config = loadConfig();
  if (args.cluster) {
    process.stderr.write('dev: starting the local ClickHouse cluster…\n');
    const up = await clusterUp({
      stateDir: config.stateDir,
      ports: portBases(process.env),
      database: config.clickhouse.database,
      progress: (line) => process.stderr.write(`dev: ${line}\n`),
    });
    config = loadConfig({ ...process.env, CLICKHOUSE_URL: '', CLICKHOUSE_SHARDS: up.shards, CLICKHOUSE_CLUSTER: up.state.cluster });
  }
  const log = createLogger('herodotus', config.logLevel);
  const infra = new LocalInfrastructure(config, { ui: true, ...(localMqtt ? { mosquittoPort: LOCAL_MQTT_PORT } : {}) });
  const stopping = waitForSignal();
  try {
    process.stderr.write('dev: starting Kafka and Temporal…\n');
    await infra.start();
    const service = await startService(config, log);
    await Promise.race([service.ready, stopping]);
    process.stderr.write(
      [
        '',
        `  Herodotus API   ${service.url}   (GET /v1/health)`,
        `  Temporal        ${temporalAddress(config)}${infra.temporalUiUrl ? `   Web UI ${infra.temporalUiUrl}` : ''}`,
        `  Kafka           ${kafkaBrokers(config).join(',')}   topic ${config.kafka.topic}`,
        `  ClickHouse      ${describeClickHouse(config)}`,
        ...(config.mqtt.url ? [`  MQTT            ${config.mqtt.url}   topics ${config.mqtt.topics.join(',')}`] : []),
        `  State           ${config.stateDir}`,
        '',
        `  Ctrl-C to stop.${args.cluster ? ' The ClickHouse cluster keeps running (herodotus cluster down).' : ''}`,
        '',
      ].join('\n'),
    );
    await stopping;
    process.stderr.write('dev: stopping…\n');
    await service.stop();
  } finally {
    await infra.stop();
    await stopAllChildren();
  }
  return 0;
}
