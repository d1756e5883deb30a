import { rm } from 'node:fs/promises';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { BatchLimits } from '../lib/batch/types';
import { windowLedger } from '../lib/clickhouse/ledger';
import { bySensorShard, onEveryPart, type Shards } from '../lib/clickhouse/shards';
import { generateSpan, type GenerateSpan } from '../lib/backfill/generate';
import { importChunk, planImport, type ImportChunk, type ImportChunkResult, type ImportPlan } from '../lib/backfill/import';
import { ImportFileError, type ImportFormat } from '../lib/backfill/import-formats';
import { checkImportPath } from '../lib/backfill/import-path';
import type { CsvMapping } from '../lib/backfill/csv-mapping';
import type { StoreCounts } from '../lib/ingest/store-points';

export interface BackfillDeps {
  shards: Shards;
  limits: BatchLimits;
  windowMs: number;
  /** Server-side imports read only below these: the import directory and the upload directory. */
  importDirs: string[];
  /** Where uploads are written; removeUpload deletes only there. */
  uploadDir: string;
}

/**
 * A file that cannot be imported fails its backfill at once with the reason
 * (a non-retryable failure); anything else (ClickHouse down) is retried.
 */
async function failingFast<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof ImportFileError) throw ApplicationFailure.nonRetryable(err.message, err.name);
    throw err;
  }
}

export function createBackfillActivities(deps: BackfillDeps) {
  return {
    async generateSpan(span: Omit<GenerateSpan, 'windowMs'>): Promise<StoreCounts> {
      const ctx = Context.current();
      return generateSpan(deps.shards, { ...span, windowMs: deps.windowMs }, () => ctx.heartbeat());
    },

    async planImport(input: { path: string; format: ImportFormat; mapping?: CsvMapping }): Promise<ImportPlan> {
      return failingFast(async () => {
        await checkImportPath(deps.importDirs, input.path);
        return planImport(input.path, input.format, input.mapping);
      });
    },

    async importChunk(chunk: Omit<ImportChunk, 'windowMs'>): Promise<ImportChunkResult> {
      const ctx = Context.current();
      const heartbeat = setInterval(() => ctx.heartbeat(), 2000);
      try {
        return await failingFast(async () => {
          await checkImportPath(deps.importDirs, chunk.path);
          return importChunk(deps.shards, { ...chunk, windowMs: deps.windowMs }, deps.limits);
        });
      } finally {
        clearInterval(heartbeat);
      }
    },

    /** Deletes an uploaded file once its backfill has ended; a path outside the upload directory is left alone. */
    async removeUpload(input: { path: string }): Promise<boolean> {
      const inUploads = await checkImportPath([deps.uploadDir], input.path).then(
        () => true,
        () => false,
      );
      if (inUploads) await rm(input.path, { force: true });
      return inUploads;
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
