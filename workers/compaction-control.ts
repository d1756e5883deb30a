import { ScheduleAlreadyRunning, type Client } from '@temporalio/client';
import type { Config } from '../lib/config/config';
import { COMPACTOR_WORKFLOW_ID, type CompactorInput } from '../workflows/compaction';

export const SWEEP_SCHEDULE_ID = 'compaction-sweep';

const COMPACTOR_INPUT: CompactorInput = { idleMs: 1000, maxGroupsPerRound: 20, roundsPerRun: 100 };

/** Starts the compactor unless it runs already. */
export async function ensureCompactor(client: Client, config: Config): Promise<void> {
  await client.workflow.start('compactor', {
    taskQueue: config.temporal.taskQueue,
    workflowId: COMPACTOR_WORKFLOW_ID,
    workflowIdConflictPolicy: 'USE_EXISTING',
    args: [COMPACTOR_INPUT],
  });
}

/** The Schedule that sweeps for windows left uncompacted, every minute; created once. */
export async function ensureSweepSchedule(client: Client, config: Config): Promise<void> {
  try {
    await client.schedule.create({
      scheduleId: SWEEP_SCHEDULE_ID,
      spec: { intervals: [{ every: '1m' }] },
      action: {
        type: 'startWorkflow',
        workflowType: 'compactionSweep',
        taskQueue: config.temporal.taskQueue,
        workflowId: 'compaction-sweep',
      },
      policies: { overlap: 'SKIP' },
    });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
}
