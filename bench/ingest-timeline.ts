/**
 * The per-second series of a step: inserted and published rates, backlog,
 * and the CPU of every process over the same second.
 */
import type { Sample, StatusSample } from './ingest-sampler';
import { PROCS } from './ingest-sampler';
import { coresBetween, machineCoresBetween } from './process-stats';
import { round } from './round';

/** One row per status sample in [from, to]: rates since the previous sample, CPU of each process over the same second. */
export function timeline(samples: Sample[], status: StatusSample[], from: number, to: number, cores: number, rateHz: number) {
  const rows = [];
  const inside = status.filter((s) => s.t >= from && s.t <= to);
  let prev = [...status].reverse().find((s) => s.t < from);
  for (const s of inside) {
    const row: Record<string, number | null> = { t_s: round((s.t - from) / 1000, 1) };
    if (prev) {
      const dt = (s.t - prev.t) / 1000;
      row.inserted_points_per_s = Math.round((s.inserted - prev.inserted) / dt);
      // Inserts land a chunk at a time: the 5 s mean reads better than the spikes.
      const back = [...status].reverse().find((x) => x.t <= s.t - 5000);
      if (back) row.inserted_points_per_s_5s = Math.round(((s.inserted - back.inserted) / (s.t - back.t)) * 1000);
      row.published_points_per_s = Math.round(((s.high - prev.high) * rateHz) / dt);
    }
    // Every record the bench publishes is one sensor-second: rateHz points.
    row.backlog_points = (s.high - s.checkpoint) * rateHz;
    cpuOverSecond(row, samples, s.t, cores);
    rows.push(row);
    prev = s;
  }
  return rows;
}

/** CPU over the /proc samples bracketing the status sample at t (≈ the last second), into row. */
function cpuOverSecond(row: Record<string, number | null>, samples: Sample[], t: number, cores: number): void {
  const j = samples.findIndex((p) => p.t >= t);
  const a = samples[(j < 0 ? samples.length : j) - 2];
  const b = samples[(j < 0 ? samples.length : j) - 1];
  if (!a || !b) return;
  const dt = (b.t - a.t) / 1000;
  for (const name of PROCS) {
    const c = coresBetween(a.procs[name], b.procs[name], dt);
    row[`${name}_cores`] = c === null ? null : round(c, 2);
  }
  const m = machineCoresBetween(a.machine, b.machine, cores);
  row.machine_cores = m === null ? null : round(m, 2);
  const ours = PROCS.reduce((n, p) => n + (row[`${p}_cores`] ?? 0), 0);
  row.other_cores = m === null ? null : round(Math.max(0, m - ours), 2);
}
