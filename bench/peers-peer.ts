/**
 * One system under bench-peers, as the driver in peers-measure.ts sees it:
 * started on loopback with its own data directory, fed the run's batches at
 * its fastest native path, asked the workload's lenses, stopped by PID.
 */
import type { SensorBatch } from '../lib/batch/types';
import type { Lens } from './peers-workload';

/** One bucket of one sensor in a system's answer: the lens aggregates of the points in [t, t + step). */
export interface BucketRow {
  sensor: number;
  t: number;
  count: number;
  avg: number | null;
  min: number | null;
  max: number | null;
  first: number | null;
  last: number | null;
}

export interface Peer {
  /** Key in the result JSON (`questdb`, `influxdb`, …). */
  readonly name: string;
  /** How points get in: reported beside the ingest rate. */
  readonly ingestPath: string;
  /** How the lens is asked: reported beside its latency. */
  readonly lensPath: string;
  /** Starts the system on loopback with a fresh data directory; resolves to its version. */
  start(): Promise<string>;
  write(batches: SensorBatch[]): Promise<void>;
  /** Resolves once every written point is queryable (part of the ingest time). */
  flush(): Promise<void>;
  /** Resolves once background compaction or merges are done (before bytes on disk are read). */
  settle(): Promise<void>;
  /** Bytes of its data on disk now. */
  bytes(): number;
  /** The processes doing its work, for CPU; empty means this process (an embedded engine). */
  pids(): number[];
  /** The lens's buckets; `signal` aborts a request that outlived its latency cell's deadline. */
  query(lens: Lens, signal?: AbortSignal): Promise<BucketRow[]>;
  /** Stops it by PID; safe to call when not started. */
  stop(): Promise<void>;
}
