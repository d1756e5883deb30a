import { loadConfig } from '../lib/config/config';
import { createLogger } from '../lib/log/logger';
import { startService } from '../service/service';
import { parseOptions } from '../lib/config/args';
import { z } from 'zod';

const HELP = `usage: herodotus serve

Runs the HTTP API, the Temporal worker and (unless CLICKHOUSE_URL is set)
embedded ClickHouse in this process. Kafka and Temporal are reached at
KAFKA_BROKERS and TEMPORAL_ADDRESS (default: the local ports 'herodotus dev' uses).`;

const STOP_TIMEOUT_MS = 10_000;

/** Blocks until SIGINT or SIGTERM, then stops the service. */
export async function serve(argv: string[]): Promise<number> {
  parseOptions(argv, {}, z.object({}), HELP);
  const config = loadConfig();
  const log = createLogger('herodotus', config.logLevel);
  const service = await startService(config, log);
  await waitForSignal();
  log.info('stopping');
  // An activity that ignores cancellation must not keep the process alive:
  // whatever it was doing is retried elsewhere, exactly once.
  const stopped = await Promise.race([
    service.stop().then(() => true),
    new Promise<false>((r) => setTimeout(() => r(false), STOP_TIMEOUT_MS)),
  ]);
  if (!stopped) log.warn({ timeoutMs: STOP_TIMEOUT_MS }, 'shutdown did not finish in time; exiting anyway');
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
