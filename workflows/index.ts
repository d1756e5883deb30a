export { ingestPartition } from './ingest';
export { compactor, compactWindow, compactionSweep } from './compaction';
