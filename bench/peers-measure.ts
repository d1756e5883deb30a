/**
 * The one way every peer is measured (peers-peer.ts): ingest through a write
 * pool until queryable, with the CPU its processes spent; bytes on disk once
 * settled; lens latency per preset at 1, 10 and 100 clients; and the answer
 * to each preset's first lens compared bucket by bucket with the raw points.
 */
import { readProcess } from './process-stats';
import { compareBuckets, expectedBuckets, type Exactness } from './peers-exact';
import type { Peer } from './peers-peer';
import { lateWindow, measureLate, onTimeChunks, type LateResult } from './peers-late';
import { pool, type Latency, type PeerRun } from './peers-workload';
import { percentile } from '../harness/verify/latency';

export const CLIENTS = [1, 10, 100] as const;

export interface PeerResult {
  version: string;
  ingest_path: string;
  lens_path: string;
  ingest_seconds: number;
  ingest_points_per_s: number;
  /** CPU-seconds its processes spent per million points ingested (until queryable). */
  ingest_cpu_s_per_million: number;
  cpu_measured: string;
  bytes_on_disk: number;
  bytes_per_point: number;
  /** Preset → clients → latency. */
  lens: Record<string, Record<string, Latency>>;
  /** Preset → the first lens's answer against the raw points (after the late window was written and answered exactly, or timed out). */
  exactness: Record<string, Exactness>;
  /** The late window: written after settling, asked until exact. */
  late: LateResult;
}

/** CPU-seconds of the peer's processes (with their descendants), or of this process for an embedded engine. */
function cpuSeconds(peer: Peer): number {
  const pids = peer.pids();
  if (pids.length === 0) {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  }
  return pids.reduce((s, pid) => s + (readProcess(pid, true)?.cpuS ?? 0), 0);
}

export async function measurePeer(peer: Peer, run: PeerRun): Promise<PeerResult> {
  const { log } = run;
  try {
    const version = await peer.start();
    const late = lateWindow(run.data);
    const points = run.points - ((late.to - late.from) / 1000) * run.data.rate * run.data.sensors;
    log(`${peer.name} ${version}: writing ${points.toLocaleString('en')} points, 1 % held back (${peer.ingestPath})…`);
    const cpu0 = cpuSeconds(peer);
    const t0 = performance.now();
    await pool(onTimeChunks(run.data), run.writers, (batches) => peer.write(batches));
    await peer.flush();
    const ingestS = (performance.now() - t0) / 1000;
    const cpuS = cpuSeconds(peer) - cpu0;
    log(`${peer.name}: ${Math.round(points / ingestS).toLocaleString('en')} points/s, ${cpuS.toFixed(1)} CPU-s; settling…`);
    await peer.settle();
    const bytes = peer.bytes();
    log(`${peer.name}: lens latency at ${CLIENTS.join(', ')} clients…`);
    const lens = await lensLatency(peer, run);
    log(`${peer.name}: late window…`);
    const lateResult = await measureLate(peer, run);
    const exactness: Record<string, Exactness> = {};
    for (const p of run.workload) {
      const lens = p.lenses[0]!;
      exactness[p.name] = compareBuckets(expectedBuckets(run.data, lens), await peer.query(lens));
    }
    log(
      `${peer.name}: late ${JSON.stringify(lateResult.presets, (k, v) => (k === 'last' ? undefined : v))}; exactness ${JSON.stringify(Object.fromEntries(Object.entries(exactness).map(([k, e]) => [k, e.wrong])))}`,
    );
    return {
      version,
      ingest_path: peer.ingestPath,
      lens_path: peer.lensPath,
      ingest_seconds: round(ingestS),
      ingest_points_per_s: Math.round(points / ingestS),
      ingest_cpu_s_per_million: round(cpuS / (points / 1e6)),
      cpu_measured: peer.pids().length === 0 ? 'this process (embedded engine; includes generating the points)' : 'its server processes',
      bytes_on_disk: bytes,
      bytes_per_point: round(bytes / points),
      lens,
      exactness,
      late: lateResult,
    };
  } finally {
    await peer.stop();
  }
}

/** Each preset's lenses at each client count (at least one request per client): p50/p99 of the round trips. */
async function lensLatency(peer: Peer, run: PeerRun): Promise<PeerResult['lens']> {
  const lens: PeerResult['lens'] = {};
  for (const p of run.workload) {
    lens[p.name] = {};
    for (const c of CLIENTS) {
      const l: number[] = [];
      const n = Math.max(p.lenses.length, c);
      await pool(
        Array.from({ length: n }, (_, i) => p.lenses[i % p.lenses.length]!),
        c,
        async (q) => {
          const t = performance.now();
          await peer.query(q);
          l.push(performance.now() - t);
        },
      );
      l.sort((a, b) => a - b);
      lens[p.name]![String(c)] = { p50_ms: round(percentile(l, 0.5)), p99_ms: round(percentile(l, 0.99)) };
    }
  }
  return lens;
}

const round = (x: number) => Number(x.toFixed(2));
