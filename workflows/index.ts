export { ingestPartition } from './partition-ingest';
export { compactor, compactGroupWorkflow, compactionSweep } from './compaction';
export { backfillWorkflow } from './backfill';
