/**
 * The one way every peer is measured (peers-peer.ts): ingest (the generated
 * sensors and the ECG) through a write pool until queryable, with the CPU its
 * processes spent; bytes on disk once settled; lens latency per preset at 1,
 * 10 and 100 clients, each cell cut at a deadline; and the answer to each
 * preset's first lens, and to its ECG lens, compared bucket by bucket with
 * the raw points.
 */
import type { SensorBatch } from '../lib/batch/types';
import { readProcess } from './process-stats';
import { ecgBatches, ecgBuckets, ecgLenses } from './peers-ecg';
import { compareBuckets, expectedBuckets, type Exactness } from './peers-exact';
import type { Peer } from './peers-peer';
import { lateWindow, measureLate, onTimeChunks, type LateResult } from './peers-late';
import { pool, type Latency, type PeerRun } from './peers-workload';

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
  /** Preset → the answer over the ECG sensor against the recording (empty when the run has no ECG). */
  ecg: Record<string, Exactness>;
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
    const ecgPoints = run.ecg?.values.length ?? 0;
    const points = run.points - ((late.to - late.from) / 1000) * run.data.rate * run.data.sensors + ecgPoints;
    log(
      `${peer.name} ${version}: writing ${points.toLocaleString('en')} points (${ecgPoints} of them the ECG), 1 % held back (${peer.ingestPath})…`,
    );
    const cpu0 = cpuSeconds(peer);
    const t0 = performance.now();
    await pool(withEcg(onTimeChunks(run.data), run), run.writers, (batches) => peer.write(batches));
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
    const ecg: Record<string, Exactness> = {};
    if (run.ecg)
      for (const { name, lens } of ecgLenses(run.ecg, run.workload))
        ecg[name] = compareBuckets(ecgBuckets(run.ecg, lens), await peer.query(lens));
    log(
      `${peer.name}: late ${JSON.stringify(lateResult.presets, (k, v) => (k === 'last' ? undefined : v))}; exactness ${JSON.stringify(Object.fromEntries(Object.entries(exactness).map(([k, e]) => [k, e.wrong])))}; ECG ${JSON.stringify(Object.fromEntries(Object.entries(ecg).map(([k, e]) => [k, e.wrong])))}`,
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
      ecg,
      late: lateResult,
    };
  } finally {
    await peer.stop();
  }
}

/** The on-time chunks, then the ECG in one write. */
function* withEcg(chunks: Iterable<SensorBatch[]>, run: PeerRun): Generator<SensorBatch[]> {
  yield* chunks;
  if (run.ecg) yield ecgBatches(run.ecg);
}

/**
 * Each preset's lenses at each client count (at least one request per
 * client): p50/p99 of the round trips. No request is sent once a cell has
 * run run.cellDeadlineMs, and one still unanswered after run.requestTimeoutMs
 * is aborted: a system slower than that costs the run the timeout, not its
 * own time. An aborted request took longer than every answered one, so it
 * ranks last; a percentile that falls among them is null (> the timeout).
 */
async function lensLatency(peer: Peer, run: PeerRun): Promise<PeerResult['lens']> {
  const lens: PeerResult['lens'] = {};
  for (const p of run.workload) {
    lens[p.name] = {};
    for (const c of CLIENTS) {
      const l: number[] = [];
      let sent = 0;
      const deadline = performance.now() + run.cellDeadlineMs;
      await pool(
        Array.from({ length: Math.max(p.lenses.length, c) }, (_, i) => p.lenses[i % p.lenses.length]!),
        c,
        async (q) => {
          if (performance.now() > deadline) return;
          sent++;
          const signal = AbortSignal.timeout(run.requestTimeoutMs);
          const t = performance.now();
          try {
            await peer.query(q, signal);
            l.push(performance.now() - t);
          } catch (err) {
            if (!signal.aborted) throw err;
          }
        },
      );
      l.sort((a, b) => a - b);
      const at = (q: number) => {
        const i = Math.min(sent - 1, Math.floor(q * sent));
        return i < l.length ? round(l[i]!) : null;
      };
      lens[p.name]![String(c)] = { p50_ms: at(0.5), p99_ms: at(0.99), sent, timed_out: sent - l.length };
    }
  }
  return lens;
}

const round = (x: number) => Number(x.toFixed(2));
