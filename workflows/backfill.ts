import {
  ApplicationFailure,
  CancellationScope,
  defineQuery,
  isCancellation,
  proxyActivities,
  setHandler,
  sleep,
} from '@temporalio/workflow';
import type { BackfillActivities } from '../activities/backfill';
import type { CompactionActivities } from '../activities/compaction';
import type { CsvMapping } from '../lib/backfill/csv-mapping';
import type { ImportFormat, InfluxPrecision } from '../lib/backfill/import-formats';

/** `onConflict`: `replace` applies points whose (sensor, ts) is stored with another value as corrections; absent: the stored value stays. */
export type BackfillRequest =
  | { kind: 'generate'; sensors: number[]; from: number; to: number; rateHz: number; seed: number; onConflict?: 'replace' }
  /** `upload`: the file was posted to the API and is deleted when the backfill ends. */
  /** `mapping`: CSV columns by header name (absent in histories from before it: sensor, ts, value). */
  | {
      kind: 'import';
      format: ImportFormat;
      path: string;
      precision: InfluxPrecision;
      upload: boolean;
      mapping?: CsvMapping;
      onConflict?: 'replace';
    }
  | { kind: 'recompact'; sensors: number[]; from: number; to: number };

export interface BackfillProgress {
  kind: BackfillRequest['kind'];
  stage: string;
  done: number;
  total: number;
  unit: string;
  inserted: number;
  alreadyStored: number;
  /** Points whose (sensor, ts) held another value: not stored, the first value stays (issue 12). */
  conflicting: number;
  /** Points whose (sensor, ts) held another value, replacing it (onConflict `replace`). */
  replaced: number;
  rejected: number;
  examples: string[];
  /** The first few conflicting points (sensor, ts, stored and offered value). */
  conflicts: string[];
  /** Why the backfill failed (a file that cannot be imported), null while it has not. */
  error: string | null;
}

type ImportRequest = Extract<BackfillRequest, { kind: 'import' }>;

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
    conflicting: 0,
    replaced: 0,
    rejected: 0,
    examples: [],
    conflicts: [],
    error: null,
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
        ...(req.onConflict ? { onConflict: req.onConflict } : {}),
        version: version(),
        name: `backfill-${id}-${from}`,
      });
      progress.inserted += r.inserted;
      progress.alreadyStored += r.alreadyStored;
      progress.conflicting += r.conflicting;
      progress.replaced += r.replaced;
      progress.done++;
    }
  } else if (req.kind === 'import') {
    await importFile(id, req, progress, version);
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

/**
 * Imports a file chunk by chunk. A file that cannot be imported fails the
 * backfill with the reason in its progress; an upload is deleted once the
 * import ends, whichever way.
 */
async function importFile(id: string, req: ImportRequest, progress: BackfillProgress, version: () => number): Promise<void> {
  try {
    const mapping = req.mapping ? { mapping: req.mapping } : {};
    const plan = await backfill.planImport({ path: req.path, format: req.format, ...mapping });
    progress.unit = 'chunks';
    progress.total = plan.chunks.length;
    progress.stage = 'importing';
    let line = plan.firstLine;
    for (const [i, c] of plan.chunks.entries()) {
      const r = await backfill.importChunk({
        ...c,
        path: req.path,
        format: req.format,
        precision: req.precision,
        ...mapping,
        ...(req.onConflict ? { onConflict: req.onConflict } : {}),
        header: plan.header,
        firstLine: line,
        version: version(),
        name: `backfill-${id}-${i}`,
      });
      line += r.newlines;
      progress.inserted += r.inserted;
      progress.alreadyStored += r.alreadyStored;
      progress.conflicting += r.conflicting;
      progress.replaced += r.replaced;
      progress.rejected += r.rejected;
      progress.examples.push(...r.examples.slice(0, Math.max(0, 10 - progress.examples.length)));
      progress.conflicts.push(...r.conflicts.slice(0, Math.max(0, 10 - progress.conflicts.length)));
      progress.done++;
    }
    if (progress.rejected > 0 && progress.inserted + progress.alreadyStored + progress.conflicting === 0)
      throw ApplicationFailure.nonRetryable(`no line of the file could be imported (${progress.rejected} rejected)`, 'ImportFileError');
  } catch (err) {
    if (isCancellation(err)) throw err;
    progress.stage = 'failed';
    progress.error = failureMessage(err);
    throw ApplicationFailure.nonRetryable(`import failed: ${progress.error}`, 'ImportFileError');
  } finally {
    if (req.upload) await CancellationScope.nonCancellable(() => backfill.removeUpload({ path: req.path }));
  }
}

/** The innermost message of a failure chain (an activity's failure carries the activity's error as its cause). */
function failureMessage(err: unknown): string {
  let e = err as { message?: string; cause?: unknown } | undefined;
  while (e?.cause) e = e.cause as typeof e;
  return e?.message ?? String(err);
}

export function backfillWorkflowId(id: string): string {
  return `backfill:${id}`;
}
