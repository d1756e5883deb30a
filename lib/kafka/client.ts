import { Kafka, logLevel, type logCreator } from 'kafkajs';
import type { Logger } from '../log/logger';
import { fixIdleRequestQueues } from './request-queue';

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/**
 * kafkajs logs through pino. Its own error lines during a broker outage are
 * expected and retried by us, so they are demoted to warnings.
 */
// Our producers cap retries on purpose (the API must answer 503, not hang);
// exactly-once rests on content keys downstream, so kafkajs's caution is noise.
const DEMOTED = [/^Limiting retries for the idempotent producer/];

function pinoLogCreator(log: Logger): logCreator {
  return () =>
    ({ namespace, level, log: entry }) => {
      const { message, ...fields } = entry;
      const demoted = DEMOTED.some((re) => re.test(message));
      const lvl = demoted ? 'debug' : LEVELS[level] === 'error' ? 'warn' : (LEVELS[level] ?? 'info');
      log[lvl]({ kafka: namespace, ...fields }, message);
    };
}

export function createKafka(brokers: string[], clientId: string, log: Logger): Kafka {
  fixIdleRequestQueues();
  return new Kafka({
    clientId,
    brokers,
    logLevel: logLevel.WARN,
    logCreator: pinoLogCreator(log.child({ component: 'kafkajs' })),
    connectionTimeout: 3000,
    requestTimeout: 30_000,
    // Short retries: callers (Temporal activities, the HTTP API) own the
    // long-term retry policy and decide what an outage means for them.
    retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 2000 },
  });
}
