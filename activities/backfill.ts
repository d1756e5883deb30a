import { Context } from '@temporalio/activity';
import type { BatchLimits } from '../lib/batch/types';
import { windowLedger } from '../lib/clickhouse/ledger';
import { bySensorShard, onEveryPart, type Shards } from '../lib/clickhouse/shards';
import { generateSpan, type GenerateSpan } from '../lib/backfill/generate';
import { importChunk, planImport, type ImportChunk, type ImportChunkResult, type ImportPlan } from '../lib/backfill/import';
import type { ImportFormat } from '../lib/backfill/import-formats';
import type { StoreResult } from '../lib/ingest/store-points';

export interface BackfillDeps {
  shards: Shards;
  limits: BatchLimits;
  windowMs: number;
}

export function createBackfillActivities(deps: BackfillDeps) {
  return {
    async generateSpan(span: Omit<GenerateSpan, 'windowMs'>): Promise<StoreResult> {
      const ctx = Context.current();
      return generateSpan(deps.shards, { ...span, windowMs: deps.windowMs }, () => ctx.heartbeat());
    },

    async planImport(input: { path: string; format: ImportFormat }): Promise<ImportPlan> {
      return planImport(input.path, input.format);
    },

    async importChunk(chunk: Omit<ImportChunk, 'windowMs'>): Promise<ImportChunkResult> {
      const ctx = Context.current();
      const heartbeat = setInterval(() => ctx.heartbeat(), 2000);
      try {
        return await importChunk(deps.shards, { ...chunk, windowMs: deps.windowMs }, deps.limits);
      } finally {
        clearInterval(heartbeat);
      }
    },

    /** How many windows with data in the range are not yet clean. */
    async uncleanWindowsIn(input: { sensors: number[]; from: number; to: number }): Promise<number> {
      const parts = bySensorShard(deps.shards, input.sensors, (sensor) => sensor);
      const rows = await onEveryPart(parts, (p) =>
        windowLedger(
          p.store,
          p.items.map((sensor) => ({ sensor, from: input.from, to: input.to })),
        ),
      );
      return rows.flat().filter((w) => w.compacted < w.pending).length;
    },
  };
}

export type BackfillActivities = ReturnType<typeof createBackfillActivities>;
