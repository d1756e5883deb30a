/**
 * Late data in bench-peers: a contiguous 1 % of the time range (whole
 * seconds, every sensor) is held back from the first ingest and written
 * once the system has settled (its rollups, caches or merged parts exist);
 * then each preset's lens over that window is asked until it is exact.
 */
import { compareBuckets, expectedBuckets, isExact, type Exactness } from './peers-exact';
import type { Peer } from './peers-peer';
import { centredLens, chunks, pool, type Lens, type PeerData, type PeerRun } from './peers-workload';

/** [from, to) of the held-back window: 1 % of the range, at least a second, starting at its middle. */
export function lateWindow(d: PeerData): { from: number; to: number } {
  const len = Math.max(1000, Math.round((d.to - d.from) / 100_000) * 1000);
  const from = d.from + Math.floor((d.to - d.from) / 2000) * 1000;
  return { from, to: Math.min(d.to, from + len) };
}

/** The data without the late window: what the first ingest writes. */
export function* onTimeChunks(d: PeerData) {
  const w = lateWindow(d);
  yield* chunks({ ...d, to: w.from });
  yield* chunks({ ...d, from: w.to });
}

export interface LateResult {
  points: number;
  window_ms: [number, number];
  /** Preset → whether the first answer after the late write was exact, and after how long every answer was. */
  presets: Record<string, { first_answer_exact: boolean; exact_after_ms: number | null; last: Exactness }>;
}

/** One lens per preset centred on the late window, about 2500 buckets each. */
function lateLenses(run: PeerRun, w: { from: number; to: number }): { name: string; lens: Lens }[] {
  const mid = (w.from + w.to) / 2;
  return run.workload.map((p) => ({ name: p.name, lens: centredLens(mid, p.span, p.lenses[0]!.sensors, 2500) }));
}

/** Writes the late window, then asks each preset's lens over it every 250 ms (up to timeoutMs) until exact. */
export async function measureLate(peer: Peer, run: PeerRun, timeoutMs = 120_000): Promise<LateResult> {
  const w = lateWindow(run.data);
  const lenses = lateLenses(run, w);
  const want = lenses.map((l) => expectedBuckets(run.data, l.lens));
  await pool(chunks({ ...run.data, from: w.from, to: w.to }), 1, (b) => peer.write(b));
  // From the moment the late write was acknowledged.
  const t0 = performance.now();
  const presets: LateResult['presets'] = {};
  const pending = new Set(lenses.map((l) => l.name));
  while (pending.size > 0 && performance.now() - t0 < timeoutMs) {
    for (const [i, l] of lenses.entries()) {
      if (!pending.has(l.name)) continue;
      const e = compareBuckets(want[i]!, await peer.query(l.lens));
      const exact = isExact(e) && e.avg_max_rel_err < 1e-9;
      const prev = presets[l.name];
      presets[l.name] = {
        first_answer_exact: prev ? prev.first_answer_exact : exact,
        exact_after_ms: exact ? Math.round(performance.now() - t0) : null,
        last: e,
      };
      if (exact) pending.delete(l.name);
    }
    if (pending.size > 0) await new Promise((r) => setTimeout(r, 250));
  }
  const points = ((w.to - w.from) / 1000) * run.data.rate * run.data.sensors;
  return { points, window_ms: [w.from, w.to], presets };
}
