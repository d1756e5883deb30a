export { ingestPartition } from './ingest';
export { compactor, compactWindow, compactionSweep } from './compaction';
export { backfillWorkflow } from './backfill';
