import type { BatchLimits } from '../lib/batch/types';
import type { Config } from '../lib/config/config';
import type { Logger } from '../lib/log/logger';
import type { Ladder } from '../lib/model/ladder';
import type { Health } from '../lib/telemetry/health';
import type { Metrics } from '../lib/telemetry/metrics';
import type { KafkaClients } from './kafka';

/** What every part of one Herodotus process shares: made once by startService, before any part starts. */
export interface ProcessContext {
  config: Config;
  log: Logger;
  health: Health;
  metrics: Metrics;
  limits: BatchLimits;
  ladder: Ladder;
  kafka: KafkaClients;
}
