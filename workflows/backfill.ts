import { defineQuery, proxyActivities, setHandler, sleep } from '@temporalio/workflow';
import type { BackfillActivities } from '../activities/backfill';
import type { CompactionActivities } from '../activities/compaction';
import type { ImportFormat, InfluxPrecision } from '../lib/backfill/import-formats';

export type BackfillRequest =
  | { kind: 'generate'; sensors: number[]; from: number; to: number; rateHz: number; seed: number }
  | { kind: 'import'; format: ImportFormat; path: string; precision: InfluxPrecision }
  | { kind: 'recompact'; sensors: number[]; from: number; to: number };

export interface BackfillProgress {
  kind: BackfillRequest['kind'];
  stage: string;
  done: number;
  total: number;
  unit: string;
  inserted: number;
  alreadyStored: number;
  rejected: number;
  examples: string[];
}

export const backfillProgressQuery = defineQuery<BackfillProgress>('progress');

const retry = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s' } as const;
const backfill = proxyActivities<BackfillActivities>({ startToCloseTimeout: '30 minutes', heartbeatTimeout: '60s', retry });
const compaction = proxyActivities<CompactionActivities>({ startToCloseTimeout: '2 minutes', retry });

const HOUR = 3_600_000;

/** Versions above every earlier write: workflow time in microseconds, never repeating. */
function versions() {
  let last = 0;
  return () => (last = Math.max(Date.now() * 1000, last + 1));
}

/**
 * A backfill started from the API: generate synthetic history hour by hour,
 * import a file chunk by chunk, or recompact a range. Everything it writes
 * goes through the ledger, so the compactor folds it into rollups.
 */
export async function backfillWorkflow(id: string, req: BackfillRequest): Promise<BackfillProgress> {
  const progress: BackfillProgress = {
    kind: req.kind,
    stage: 'planning',
    done: 0,
    total: 0,
    unit: '',
    inserted: 0,
    alreadyStored: 0,
    rejected: 0,
    examples: [],
  };
  setHandler(backfillProgressQuery, () => progress);
  const version = versions();

  if (req.kind === 'generate') {
    progress.unit = 'hours';
    progress.total = Math.ceil((req.to - req.from) / HOUR);
    progress.stage = 'generating';
    for (let from = req.from; from < req.to; from += HOUR) {
      const to = Math.min(from + HOUR, req.to);
      const r = await backfill.generateSpan({
        sensors: req.sensors,
        from,
        to,
        rateHz: req.rateHz,
        seed: req.seed,
        version: version(),
        name: `backfill-${id}-${from}`,
      });
      progress.inserted += r.inserted;
      progress.alreadyStored += r.alreadyStored;
      progress.done++;
    }
  } else if (req.kind === 'import') {
    const plan = await backfill.planImport({ path: req.path, format: req.format });
    progress.unit = 'chunks';
    progress.total = plan.chunks.length;
    progress.stage = 'importing';
    for (const [i, c] of plan.chunks.entries()) {
      const r = await backfill.importChunk({
        ...c,
        path: req.path,
        format: req.format,
        precision: req.precision,
        header: plan.header,
        version: version(),
        name: `backfill-${id}-${i}`,
      });
      progress.inserted += r.inserted;
      progress.alreadyStored += r.alreadyStored;
      progress.rejected += r.rejected;
      progress.examples.push(...r.examples.slice(0, Math.max(0, 10 - progress.examples.length)));
      progress.done++;
    }
  } else {
    progress.unit = 'windows';
    progress.stage = 'reopening';
    progress.total = await compaction.reopenWindows({ sensors: req.sensors, from: req.from, to: req.to, version: version() });
    progress.stage = 'recompacting';
    for (;;) {
      const left = await backfill.uncleanWindowsIn({ sensors: req.sensors, from: req.from, to: req.to });
      progress.done = progress.total - left;
      if (left === 0) break;
      await sleep('1s');
    }
  }
  progress.stage = 'done';
  return progress;
}

export function backfillWorkflowId(id: string): string {
  return `backfill:${id}`;
}
