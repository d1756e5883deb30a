import { z } from 'zod';
import { kafkaBrokers, loadConfig, temporalAddress } from '../config/config';
import { createLogger } from '../log/logger';
import { startService } from '../service/service';
import { stopAllChildren } from '../stack/child';
import { LocalInfrastructure } from '../stack/local';
import { parseOptions } from './args';
import { waitForSignal } from './serve';

const HELP = `usage: herodotus dev

Starts everything on this machine: Kafka (KRaft, one broker) and the Temporal
dev server as child processes — each unless KAFKA_BROKERS / TEMPORAL_ADDRESS
name one — and, in this process, the HTTP API, the Temporal worker and
embedded ClickHouse (unless CLICKHOUSE_URL is set). State lives under
HERODOTUS_STATE_DIR (default .herodotus/). Ctrl-C stops everything it started.`;

export async function dev(argv: string[]): Promise<number> {
  parseOptions(argv, {}, z.object({}), HELP);
  const config = loadConfig();
  const log = createLogger('herodotus', config.logLevel);
  const infra = new LocalInfrastructure(config, { ui: true });
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
        `  ClickHouse      ${config.clickhouse.url ?? `embedded (chdb) in ${config.stateDir}/clickhouse`}`,
        `  State           ${config.stateDir}`,
        '',
        '  Ctrl-C to stop.',
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
