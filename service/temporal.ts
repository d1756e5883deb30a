import type { Client } from '@temporalio/client';
import { temporalAddress, type Config } from '../lib/config/config';
import type { Logger } from '../lib/log/logger';
import type { Health } from '../lib/telemetry/health';
import { ensureCompactor, ensureSweepSchedule } from '../workers/compaction-control';
import { connectClient, startIngestWorkflows } from '../workers/ingest-control';
import { untilDone } from './until-done';

/** The service's Temporal client: null until connected. */
export interface TemporalConnection {
  client: Client | null;
}

/**
 * Connects to Temporal once it answers (the API may use the client from
 * then on), starts the ingest workflows, the compactor and the sweep
 * schedule, then reports Temporal ready.
 */
export async function connectTemporal(
  temporal: TemporalConnection,
  config: Config,
  log: Logger,
  signal: AbortSignal,
  health: Health,
): Promise<Client> {
  const address = temporalAddress(config);
  temporal.client = await untilDone('temporal', log, signal, () => connectClient(address, config.temporal.namespace));
  const c = temporal.client;
  await untilDone('temporal', log, signal, async () => {
    await startIngestWorkflows(c, config);
    await ensureCompactor(c, config);
    await ensureSweepSchedule(c, config);
  });
  health.set('temporal', 'ready');
  health.probe('temporal', async () => void (await c.workflowService.getSystemInfo({})));
  return c;
}
