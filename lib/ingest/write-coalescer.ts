import type { Shards } from '../clickhouse/shards';
import type { Logger } from '../log/logger';
import { PointsRefusedError, storeOnShards, storeWritesOnShards, type StoreRequest, type StoreResult } from './store-points';

/** What the partition activities hand their points to. */
export interface PointWriter {
  store(req: StoreRequest): Promise<StoreResult>;
  /** Epoch ms of the next write: a chunk read shortly before it joins it. */
  nextWriteAt(): number;
}

export interface WriteCoalescerDeps {
  shards: Shards;
  /** At most one write per this many ms (while writes keep up), on a clock-aligned grid. */
  intervalMs: number;
  /** Points one write may hold; a single request larger than that is written alone. */
  maxPoints: number;
  log: Logger;
}

interface Queued {
  req: StoreRequest;
  sensors: number[];
  resolve(result: StoreResult): void;
  reject(err: unknown): void;
}

/**
 * One write per interval for all partitions of the process: every table
 * gets one insert per interval and shard (raw, and each ledger and marks
 * table per stage), whatever the number of partitions, instead of one per
 * chunk. Each request still follows the ledger protocol (pending → raw →
 * ingested, see storeWrites) and resolves only once its `ingested` stage is
 * written, so a chunk's activity returns, and its checkpoint moves, only
 * after its points are stored; a failed write fails every request in it and
 * each chunk is retried on its own. Requests sharing a sensor never go into
 * the same write (a retried chunk whose first attempt still waits): the
 * later waits for the next one.
 */
export class WriteCoalescer implements PointWriter {
  private queue: Queued[] = [];
  private timer: NodeJS.Timeout | null = null;
  private writing = false;
  private lastWriteAt = 0;

  constructor(private readonly deps: WriteCoalescerDeps) {}

  store(req: StoreRequest): Promise<StoreResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ req, sensors: distinctSensors(req), resolve, reject });
      this.schedule();
    });
  }

  /**
   * The next instant of the grid (multiples of the interval) that is at
   * least half an interval after the last write started: writes stay on the
   * grid, so the partitions can read just before it (see awaitRecords).
   */
  nextWriteAt(): number {
    const t = this.deps.intervalMs;
    return Math.max(Math.ceil(Date.now() / t), Math.ceil((this.lastWriteAt + t / 2) / t)) * t;
  }

  private schedule(): void {
    if (this.timer || this.writing || this.queue.length === 0) return;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        void this.write();
      },
      Math.max(0, this.nextWriteAt() - Date.now()),
    );
  }

  private async write(): Promise<void> {
    this.writing = true;
    this.lastWriteAt = Date.now();
    const batch = this.take();
    try {
      await this.storeBatch(batch);
    } finally {
      this.writing = false;
      this.schedule();
    }
  }

  /** Queued requests in arrival order with disjoint sensors, up to maxPoints (at least one). */
  private take(): Queued[] {
    const taken: Queued[] = [];
    const left: Queued[] = [];
    const sensors = new Set<number>();
    let points = 0;
    for (const q of this.queue) {
      const fits = taken.length === 0 || points + q.req.points.length <= this.deps.maxPoints;
      if (!fits || q.sensors.some((s) => sensors.has(s))) {
        left.push(q);
        continue;
      }
      taken.push(q);
      points += q.req.points.length;
      for (const s of q.sensors) sensors.add(s);
    }
    this.queue = left;
    return taken;
  }

  private async storeBatch(batch: Queued[]): Promise<void> {
    const t0 = performance.now();
    try {
      const results = await storeWritesOnShards(
        this.deps.shards,
        batch.map((q) => q.req),
      );
      for (const [k, q] of batch.entries()) q.resolve(results[k]!);
      this.deps.log.debug(
        { requests: batch.length, points: batch.reduce((n, q) => n + q.req.points.length, 0), ms: Math.round(performance.now() - t0) },
        'coalesced write stored',
      );
    } catch (err) {
      if (!(err instanceof PointsRefusedError) || batch.length === 1) {
        for (const q of batch) q.reject(err);
        return;
      }
      // ClickHouse refused what one of them holds: each is stored alone, so
      // that only the chunk holding it falls back to record-by-record writes.
      for (const q of batch) await storeOnShards(this.deps.shards, q.req).then(q.resolve, q.reject);
    }
  }
}

/** The request's sensors once each (its points are sorted by sensor). */
function distinctSensors(req: StoreRequest): number[] {
  const out: number[] = [];
  const { sensor, length } = req.points;
  for (let i = 0; i < length; i++) if (i === 0 || sensor[i] !== sensor[i - 1]) out.push(sensor[i]!);
  return out;
}
