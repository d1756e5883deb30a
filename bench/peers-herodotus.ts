/**
 * Herodotus in bench-peers: a fresh stack, the data through POST /v1/ingest
 * (Kafka → ingest workflows → ClickHouse) until caught up and compacted, the
 * workload's lenses from GET /v1/lens, bytes as the growth of the embedded
 * ClickHouse directory.
 */
import path from 'node:path';
import { encodeFrames } from '../lib/batch/encode';
import type { LensResult } from '../lib/lens/query';
import { stopAllChildren } from '../harness/stack/child';
import { Harness } from '../harness/stack/harness';
import { drainCompaction } from '../harness/scenario/common';
import { chunks, duBytes, lensLatency, pool, type PeerMeasurement, type PeerRun } from './peers-workload';

export interface HerodotusMeasurement extends PeerMeasurement {
  ingest_path: string;
}

/** Ingest, lens latency and bytes on disk of Herodotus for the run; the point counts of each preset's first lens. */
export async function measureHerodotus(stateDir: string, run: PeerRun): Promise<{ result: HerodotusMeasurement; counts: number[] }> {
  const { log, points } = run;
  log('starting Herodotus (Kafka, Temporal, embedded ClickHouse)…');
  const harness = await Harness.start({ stateDir, fresh: true, freePorts: true });
  try {
    const base = harness.api.baseUrl;
    const chBefore = duBytes(path.join(harness.config.stateDir, 'clickhouse'));
    log('ingesting through POST /v1/ingest (Kafka → ingest workflows → ClickHouse)…');
    const t0 = performance.now();
    await pool(chunks(run.data), 2, async (batches) => {
      const res = await fetch(`${base}/v1/ingest`, {
        method: 'POST',
        headers: { ...harness.api.headers, 'content-type': 'application/octet-stream' },
        body: encodeFrames(batches),
      });
      if (res.status !== 202) throw new Error(`POST /v1/ingest: ${res.status} ${await res.text()}`);
    });
    await harness.waitCaughtUp(3_600_000);
    const ingestS = (performance.now() - t0) / 1000;
    log(`herodotus: ${Math.round(points / ingestS).toLocaleString('en')} points/s stored; waiting for compaction…`);
    await drainCompaction(harness, 3_600_000);
    const { latency, counts } = await lensLatency(
      run.workload,
      async (q) => {
        const res = await fetch(`${base}/v1/lens?sensors=${q.sensors.join(',')}&from=${q.from}&to=${q.to}&step=${q.step}`, {
          headers: harness.api.headers,
        });
        if (!res.ok) throw new Error(`lens ${res.status} ${await res.text()}`);
        return (await res.json()) as LensResult;
      },
      (body) => body.sensors.reduce((n, s) => n + s.count.reduce((a, b) => a + b, 0), 0),
    );
    const bytes = duBytes(path.join(harness.config.stateDir, 'clickhouse')) - chBefore;
    const result = {
      ingest_path: 'POST /v1/ingest → Kafka → Temporal ingest workflows → ClickHouse (chdb), until caught up',
      ingest_seconds: Number(ingestS.toFixed(1)),
      ingest_points_per_s: Math.round(points / ingestS),
      bytes_on_disk: bytes,
      bytes_per_point: Number((bytes / points).toFixed(2)),
      lens: latency,
    };
    return { result, counts };
  } finally {
    await harness.stop();
    await stopAllChildren();
  }
}
