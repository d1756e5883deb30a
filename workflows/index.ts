export { ingestPartition } from './ingest';
export { compactor, compactGroupWorkflow, compactionSweep } from './compaction';
export { backfillWorkflow } from './backfill';
