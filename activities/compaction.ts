import { Context } from '@temporalio/activity';
import type { Shards } from '../lib/clickhouse/shards';
import {
  compactGroup,
  compactionBacklog,
  planCompaction,
  reopenWindows,
  settleDays,
  type CompactionGroup,
  type CompactionPolicy,
  type CompactionStats,
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

    /** Safety net: the number of windows waiting, and the compactor started if it was not running. */
    async sweep(): Promise<{ backlog: number }> {
      const backlog = await compactionBacklog(deps.shards);
      await deps.ensureCompactor();
      return { backlog };
    },

    async reopenWindows(input: { sensors: number[]; from: number; to: number; version: number }): Promise<number> {
      return reopenWindows(deps.shards, input.sensors, input.from, input.to, input.version, deps.policy.ladder.windowMs);
    },
  };
}

export type CompactionActivities = ReturnType<typeof createCompactionActivities>;
