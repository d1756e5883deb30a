import { continueAsNew, executeChild, patched, proxyActivities, sleep } from '@temporalio/workflow';
import type { CompactionActivities } from '../activities/compaction';
import type { CompactionGroup, SweepResult } from '../lib/rollup/compactor';

const retry = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s' } as const;

const { planCompaction, settleDays } = proxyActivities<CompactionActivities>({ startToCloseTimeout: '2 minutes', retry });
const { compactGroup } = proxyActivities<CompactionActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '30s',
  retry,
});
const { sweep } = proxyActivities<CompactionActivities>({ startToCloseTimeout: '2 minutes', retry });

export const COMPACTOR_WORKFLOW_ID = 'compactor';

export interface CompactorInput {
  /** Pause after a round that found nothing to do; doubles with each further idle round… */
  idleMs: number;
  /** …up to this (absent in compactors started before it: IDLE_MAX_MS). */
  idleMaxMs?: number;
  maxGroupsPerRound: number;
  roundsPerRun: number;
}

/**
 * The only writer of rollups: one round plans the complete dirty windows,
 * compacts them window by window (each a child workflow named after its
 * window), then marks days whose windows are all clean. One compactor means
 * no two compactions of a sensor race each other.
 */
/**
 * An idle compactor rests at most this long between rounds: each round is two
 * activities and a ledger read, so a store with nothing arriving should not
 * run one a second. Lenses read dirty windows from raw, so a later compaction
 * costs lens time, never exactness.
 */
const IDLE_MAX_MS = 5000;

export async function compactor(input: CompactorInput): Promise<void> {
  let pause = input.idleMs;
  for (let round = 0; round < input.roundsPerRun; round++) {
    const groups = await planCompaction({ maxGroups: input.maxGroupsPerRound });
    let compacted = 0;
    for (const group of groups) {
      compacted += (await executeChild(compactGroupWorkflow, { workflowId: compactGroupId(group), args: [group] })).windows;
    }
    await settleDays();
    // Planning is a superset (the marks); a round whose groups all turned out
    // clean on the ledger rests too, instead of planning them again at once.
    if (groups.length === 0 || (compacted === 0 && patched('rest-when-nothing-compacted'))) {
      const backOff = patched('idle-back-off');
      await sleep(backOff ? pause : input.idleMs);
      if (backOff) pause = Math.min(input.idleMaxMs ?? IDLE_MAX_MS, pause * 2);
    } else pause = input.idleMs;
  }
  await continueAsNew<typeof compactor>(input);
}

/** Rewrites the rollups of one group (an hour of windows) for the listed sensors. */
export async function compactGroupWorkflow(group: CompactionGroup) {
  return compactGroup(group);
}

export function compactGroupId(group: CompactionGroup): string {
  const span = (group.to - group.from) / 1000;
  return `compact:${new Date(group.from).toISOString()}+${span}s:${group.sensors.length}-sensors`;
}

/** Run by the `compaction-sweep` Schedule: reports the backlog, repairs lost marks, restarts the compactor if it is gone. */
export async function compactionSweep(): Promise<SweepResult> {
  return sweep();
}
