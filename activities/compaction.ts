import { Context } from '@temporalio/activity';
import type { Shards } from '../lib/clickhouse/shards';
import {
  compactGroup,
  planCompaction,
  reopenWindows,
  settleDays,
  sweepLedger,
  type CompactionGroup,
  type CompactionPolicy,
  type CompactionStats,
  type SweepResult,
} from '../lib/rollup/compactor';
import type { Logger } from '../lib/log/logger';

export interface CompactionDeps {
  shards: Shards;
  policy: CompactionPolicy;
  /** Starts the compactor if it is not running (used by the sweep). */
  ensureCompactor(): Promise<void>;
  log: Logger;
}

export function createCompactionActivities(deps: CompactionDeps) {
  return {
    /** The next groups of complete dirty windows, oldest first. */
    async planCompaction(input: { maxGroups: number }): Promise<CompactionGroup[]> {
      return planCompaction(deps.shards, deps.policy, Date.now(), input.maxGroups);
    },

    async compactGroup(group: CompactionGroup): Promise<CompactionStats> {
      const ctx = Context.current();
      const heartbeat = setInterval(() => ctx.heartbeat(), 2000);
      try {
        const stats = await compactGroup(deps.shards, deps.policy, group, Date.now());
        deps.log.info({ from: new Date(group.from).toISOString(), ...stats }, 'windows compacted');
        return stats;
      } finally {
        clearInterval(heartbeat);
      }
    },

    async settleDays(): Promise<number> {
      return settleDays(deps.shards);
    },

    /**
     * Safety net: the windows waiting, counted on the ledger itself, marks
     * put back where a writer died before writing them, and the compactor
     * started if it was not running.
     */
    async sweep(): Promise<SweepResult> {
      const result = await sweepLedger(deps.shards);
      if (result.repaired.windows + result.repaired.days > 0)
        deps.log.warn(result, 'compaction sweep marked units the compactor had no mark of');
      await deps.ensureCompactor();
      return result;
    },

    async reopenWindows(input: { sensors: number[]; from: number; to: number; version: number }): Promise<number> {
      return reopenWindows(deps.shards, input.sensors, input.from, input.to, input.version, deps.policy.ladder.windowMs);
    },
  };
}

export type CompactionActivities = ReturnType<typeof createCompactionActivities>;
