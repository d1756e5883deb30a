import { loadConfig } from '../config/config';
import { createLogger } from '../log/logger';
import { startService } from '../service/service';
import { parseOptions } from './args';
import { z } from 'zod';

const HELP = `usage: herodotus serve

Runs the HTTP API, the Temporal worker and (unless CLICKHOUSE_URL is set)
embedded ClickHouse in this process. Kafka and Temporal are reached at
KAFKA_BROKERS and TEMPORAL_ADDRESS (default: the local ports 'herodotus dev' uses).`;

/** Blocks until SIGINT or SIGTERM, then stops the service. */
export async function serve(argv: string[]): Promise<number> {
  parseOptions(argv, {}, z.object({}), HELP);
  const config = loadConfig();
  const log = createLogger('herodotus', config.logLevel);
  const service = await startService(config, log);
  await waitForSignal();
  log.info('stopping');
  await service.stop();
  return 0;
}

export function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (s: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(s);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}
