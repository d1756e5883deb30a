/**
 * Herodotus in bench-peers: a fresh stack (harness/stack/harness.ts), the data
 * through POST /v1/ingest (Kafka → ingest workflows → ClickHouse) until caught
 * up, settled once compaction has drained, the lenses from GET /v1/lens, bytes
 * as the growth of the embedded ClickHouse directory, CPU of the service,
 * Kafka and Temporal processes.
 */
import path from 'node:path';
import { encodeFrames } from '../lib/batch/encode';
import type { SensorBatch } from '../lib/batch/types';
import type { LensResult } from '../lib/lens/query';
import { stopAllChildren } from '../harness/stack/child';
import { Harness } from '../harness/stack/harness';
import { drainCompaction } from '../harness/scenario/common';
import { duBytes, type Lens } from './peers-workload';
import type { BucketRow, Peer } from './peers-peer';

export class HerodotusPeer implements Peer {
  readonly name = 'herodotus';
  readonly ingestPath = 'POST /v1/ingest → Kafka → Temporal ingest workflows → ClickHouse (chdb), until caught up';
  readonly lensPath = 'GET /v1/lens (planned over the rollup pyramid and raw points)';
  private harness: Harness | null = null;
  private baseline = 0;

  constructor(readonly dir: string) {}

  async start(): Promise<string> {
    this.harness = await Harness.start({ stateDir: this.dir, fresh: true, freePorts: true });
    this.baseline = this.bytes();
    return 'this checkout';
  }

  async write(batches: SensorBatch[]): Promise<void> {
    const h = this.harness!;
    const res = await fetch(`${h.api.baseUrl}/v1/ingest`, {
      method: 'POST',
      headers: { ...h.api.headers, 'content-type': 'application/octet-stream' },
      body: encodeFrames(batches),
    });
    if (res.status !== 202) throw new Error(`POST /v1/ingest: ${res.status} ${await res.text()}`);
  }

  async flush(): Promise<void> {
    await this.harness!.waitCaughtUp(3_600_000);
  }

  async settle(): Promise<void> {
    await drainCompaction(this.harness!, 3_600_000);
  }

  bytes(): number {
    return duBytes(path.join(this.harness!.config.stateDir, 'clickhouse')) - this.baseline;
  }

  pids(): number[] {
    const h = this.harness;
    return [h?.service?.pid, h?.infra.kafka?.pid, h?.infra.temporal?.pid].filter((p): p is number => p !== undefined);
  }

  async query(q: Lens, signal?: AbortSignal): Promise<BucketRow[]> {
    const h = this.harness!;
    const res = await fetch(`${h.api.baseUrl}/v1/lens?sensors=${q.sensors.join(',')}&from=${q.from}&to=${q.to}&step=${q.step}`, {
      headers: h.api.headers,
      signal,
    });
    if (!res.ok) throw new Error(`lens ${res.status} ${await res.text()}`);
    return lensRows((await res.json()) as LensResult);
  }

  async stop(): Promise<void> {
    await this.harness?.stop();
    this.harness = null;
    await stopAllChildren();
  }
}

/** A lens answer as bucket rows, sensor by sensor. */
export function lensRows(body: LensResult): BucketRow[] {
  return body.sensors.flatMap((s) =>
    s.t.map((t, i) => ({
      sensor: s.sensor,
      t,
      count: s.count[i]!,
      avg: s.avg[i]!,
      min: s.min[i]!,
      max: s.max[i]!,
      first: s.first[i]!,
      last: s.last[i]!,
    })),
  );
}
