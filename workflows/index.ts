export { ingestPartition } from './ingest';
