import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import { temporalAddress, type Config } from '../lib/config/config';
import type { Logger } from '../lib/log/logger';
import type { Health } from '../lib/telemetry/health';
import { ensureCompactor, ensureSweepSchedule } from '../workers/compaction-control';
import { connectClient, ensureIngestWorkflows, type IngestStartSources } from '../workers/ingest-control';
import type { KafkaClients } from './kafka';
import { untilDone } from './until-done';

/** The service's Temporal client: null until connected. */
export interface TemporalConnection {
  client: Client | null;
}

/** How often the service looks for partitions without a running ingest workflow (terminated, or lost with Temporal's history). */
const INGEST_CHECK_MS = 5000;

/**
 * Connects to Temporal once it answers (the API may use the client from
 * then on), starts the ingest workflows, the compactor and the sweep
 * schedule, then reports Temporal ready. From then on an ingest workflow
 * that stops running is started again from its durable checkpoint.
 */
export async function connectTemporal(
  temporal: TemporalConnection,
  config: Config,
  log: Logger,
  signal: AbortSignal,
  health: Health,
  kafka: KafkaClients,
): Promise<Client> {
  const address = temporalAddress(config);
  temporal.client = await untilDone('temporal', log, signal, () => connectClient(address, config.temporal.namespace));
  const c = temporal.client;
  const sources: IngestStartSources = {
    offsets: (topic) => kafka.offsets.offsets(topic),
    checkpoints: (topic) => kafka.checkpoints.load(topic),
  };
  const ensureIngest = async () => {
    for (const s of await ensureIngestWorkflows(c, config, sources)) log.info(s, 'ingest workflow started');
  };
  await untilDone('temporal', log, signal, async () => {
    await ensureIngest();
    await ensureCompactor(c, config);
    await ensureSweepSchedule(c, config);
  });
  health.set('temporal', 'ready');
  health.probe('temporal', async () => void (await c.workflowService.getSystemInfo({})));
  void superviseIngest(ensureIngest, log, signal);
  return c;
}

async function superviseIngest(ensureIngest: () => Promise<void>, log: Logger, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    try {
      await sleep(INGEST_CHECK_MS, undefined, { signal });
      await ensureIngest();
    } catch (err) {
      // Temporal or Kafka briefly away: the next round tries again.
      if (!signal.aborted) log.warn({ err: (err as Error).message }, 'checking the ingest workflows failed');
    }
  }
}
