/**
 * Herodotus's storage path alone in bench-peers: the embedded store (chdb)
 * in this process, each write stored by storeWritesOnShards as the ingest
 * activity stores a coalesced write (write claim, duplicate look-up, pending
 * ledger, raw insert, ingested ledger), without Kafka or Temporal; settled
 * by the compactor's own rounds (planCompaction, compactGroup, settleDays)
 * run here until nothing is dirty; lenses from runLens, the planner and
 * query the API serves.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { SensorBatch } from '../lib/batch/types';
import { migrate } from '../lib/clickhouse/migrate';
import { singleShard, type Shards } from '../lib/clickhouse/shards';
import type { Store } from '../lib/clickhouse/store';
import { openStore } from '../lib/clickhouse/store-open';
import { loadConfig } from '../lib/config/config';
import { mergeBatches } from '../lib/ingest/merge';
import { storeWritesOnShards } from '../lib/ingest/store-points';
import { runLens } from '../lib/lens/query';
import { makeLadder } from '../lib/model/ladder';
import { compactGroup, planCompaction, settleDays, type CompactionPolicy } from '../lib/rollup/compactor';
import { lensRows } from './peers-herodotus';
import { duBytes, type Lens } from './peers-workload';
import type { BucketRow, Peer } from './peers-peer';

/** Every window counts as complete at once (nothing arrives after the load), as the service's would after its idle time. */
const POLICY: CompactionPolicy = { ladder: makeLadder(), graceMs: 2000, idleMs: 0 };
const GROUPS_PER_ROUND = 50;

export class HerodotusStoragePeer implements Peer {
  readonly name = 'herodotus-storage';
  readonly ingestPath = 'storeWritesOnShards in this process (claim, duplicate look-up, ledger, raw insert), chdb; no Kafka, no Temporal';
  readonly lensPath = 'runLens in this process (the planner and query behind GET /v1/lens)';
  private store: Store | null = null;
  private shards: Shards | null = null;
  private writes = 0;
  private baseline = 0;

  constructor(readonly dir: string) {}

  async start(): Promise<string> {
    fs.rmSync(this.dir, { recursive: true, force: true });
    const config = loadConfig({ HERODOTUS_STATE_DIR: this.dir, HERODOTUS_TOOLS_DIR: path.join(this.dir, 'tools') });
    this.store = await openStore(config, { name: 'bench-peers-storage' });
    this.shards = singleShard(this.store);
    await migrate(this.shards);
    this.baseline = duBytes(this.dir);
    return 'this checkout (chdb)';
  }

  async write(batches: SensorBatch[]): Promise<void> {
    const { points } = mergeBatches(batches.map((batch, offset) => ({ offset, batch })));
    const name = `bench-peers-${this.writes++}`;
    await storeWritesOnShards(this.shards!, [{ points, version: 1, windowMs: POLICY.ladder.windowMs, name }]);
  }

  /** A write is queryable once it returns. */
  async flush(): Promise<void> {}

  /** Compaction rounds until no complete window is dirty. */
  async settle(): Promise<void> {
    for (;;) {
      const groups = await planCompaction(this.shards!, POLICY, Date.now(), GROUPS_PER_ROUND);
      let compacted = 0;
      for (const g of groups) compacted += (await compactGroup(this.shards!, POLICY, g, Date.now())).windows;
      await settleDays(this.shards!);
      if (compacted === 0) return;
    }
  }

  bytes(): number {
    return duBytes(this.dir) - this.baseline;
  }

  pids(): number[] {
    return [];
  }

  async query(q: Lens): Promise<BucketRow[]> {
    return lensRows(await runLens(this.shards!, POLICY.ladder, { sensors: q.sensors, from: q.from, to: q.to, stepMs: q.step }));
  }

  async stop(): Promise<void> {
    await this.store?.close();
    this.store = null;
    this.shards = null;
  }
}
