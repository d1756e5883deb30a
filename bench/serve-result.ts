/**
 * The JSON document bench-serve prints on its last line (and bench/report.ts
 * reads back from bench/results/serve-*.json): history, the window's ingest,
 * the users' report, CPU per process, the load client's own cost, the
 * stored points' check, and every target of issue 13's mixed benchmark with
 * whether it was met.
 */
import type { HistoryResult } from './serve-history';
import { MAX_BACKLOG_S, type WindowResult } from './serve-window';
import type { machineInfo } from './process-stats';
import { round } from './round';

export const TARGETS = {
  ingestPointsPerS: 1_000_000,
  lensP50Ms: 20,
  lensP99Ms: 100,
  verifiedShare: 0.02,
  /** The load client's event loop busier than this risks answers waiting on it. */
  clientLoopUtilization: 0.8,
  /** A tenth of the lens p99 target: a late event loop adds itself to every latency the client measures. */
  clientLoopDelayP99Ms: 10,
};

export interface Target {
  target: string;
  value: string;
  met: boolean;
}

const n = (x: number | null) => (x === null ? 'n/a' : x.toLocaleString('en'));

/** Every target with what was measured against it. */
export function serveTargets(w: WindowResult): Record<string, Target> {
  const { step: s, users: u, loadClient: c, verified: v } = w;
  const confirmed = u.verified - u.verify_unsettled;
  const share = u.requests > 0 ? confirmed / u.requests : 0;
  return {
    ingest: {
      target: `>= ${n(TARGETS.ingestPointsPerS)} points/s offered and sustained (backlog <= ${MAX_BACKLOG_S} s at the window's end)`,
      value: `${n(s.offered_points_per_s)} offered, ${n(s.achieved_points_per_s)} achieved, backlog ${s.backlog_s_at_window_end} s${s.sustained ? '' : ', not sustained'}`,
      met: s.offered_points_per_s >= TARGETS.ingestPointsPerS && s.sustained,
    },
    lens_p50: {
      target: `<= ${TARGETS.lensP50Ms} ms`,
      value: `${u.latency_ms.p50} ms`,
      met: u.requests > 0 && u.latency_ms.p50 <= TARGETS.lensP50Ms,
    },
    lens_p99: {
      target: `<= ${TARGETS.lensP99Ms} ms`,
      value: `${u.latency_ms.p99} ms`,
      met: u.requests > 0 && u.latency_ms.p99 <= TARGETS.lensP99Ms,
    },
    errors: { target: '0', value: `${u.errors}${u.errors > 0 ? ` ${JSON.stringify(u.errors_by_kind)}` : ''}`, met: u.errors === 0 },
    verified: {
      target: `>= ${TARGETS.verifiedShare * 100} % of answers verified against raw, 0 mismatches`,
      value: `${confirmed} of ${u.requests} (${round(share * 100, 2)} %), ${u.mismatches} mismatches${u.verify_unsettled > 0 ? `, ${u.verify_unsettled} unsettled (not counted)` : ''}`,
      met: share >= TARGETS.verifiedShare && u.mismatches === 0,
    },
    load_client: {
      target: `never the limit: the generator kept pace, the users' event loop busy <= ${TARGETS.clientLoopUtilization * 100} % and late <= ${TARGETS.clientLoopDelayP99Ms} ms (p99)`,
      value: `generator ${s.generator_kept_pace ? 'kept pace' : 'fell behind'}, users' event loop ${round(c.event_loop_utilization * 100, 1)} % busy, late ${c.event_loop_delay_ms.p99} ms (p99)`,
      met:
        s.generator_kept_pace &&
        c.event_loop_utilization <= TARGETS.clientLoopUtilization &&
        c.event_loop_delay_ms.p99 <= TARGETS.clientLoopDelayP99Ms,
    },
    stored: {
      target: "every point of the window stored once (each sensor's points against the manifest)",
      value: `${n(v.lost_points)} lost, ${n(v.duplicate_points)} duplicates, ${n(v.unexpected_points)} unexpected`,
      met: v.ok,
    },
  };
}

export interface ServeRun {
  machine: ReturnType<typeof machineInfo>;
  options: Record<string, unknown>;
  stateDir: string;
  history: HistoryResult;
  window: WindowResult;
}

const cores = (procs: Record<string, { cpu_cores: number | null }>) =>
  Object.fromEntries(Object.entries(procs).map(([name, p]) => [name, p.cpu_cores]));

export function serveResult(run: ServeRun) {
  const { step: s, users, loadClient, verified, pointsBefore } = run.window;
  const targets = serveTargets(run.window);
  const confirmed = users.verified - users.verify_unsettled;
  return {
    bench: 'serve',
    machine: run.machine,
    options: run.options,
    state_dir: run.stateDir,
    history: run.history,
    ingest: {
      offered_points_per_s: s.offered_points_per_s,
      sensors: s.sensors,
      rate_hz: s.rate_hz,
      window_s: s.window_s,
      generated_points: s.generated_points,
      generator_kept_pace: s.generator_kept_pace,
      achieved_points_per_s: s.achieved_points_per_s,
      steady_state_points_per_s: s.steady_state_points_per_s,
      backlog_s_at_window_end: s.backlog_s_at_window_end,
      backlog_s_max: s.backlog_s_max_in_window,
      backlog_growth_s_per_s: s.backlog_growth_s_per_s,
      sustained: s.sustained,
      catch_up_s: s.catch_up_s,
      /** Points the realtime sensors held before the window: the history's and earlier runs'. */
      points_before_window: pointsBefore,
      parts: s.parts,
      chunks: s.chunks,
      timeline: s.timeline,
    },
    users: { ...users, verified_share: users.requests > 0 ? round(confirmed / users.requests, 4) : 0 },
    /** Over the window: the service, Kafka, Temporal (each with its children) and this process (generator and load client). */
    cpu_cores: cores(s.processes),
    rss_mb_max: Object.fromEntries(Object.entries(s.processes).map(([name, p]) => [name, p.rss_mb_max])),
    machine_cpu_cores: s.machine_cpu_cores,
    other_cpu_cores: s.other_cpu_cores,
    herodotus_threads: s.herodotus_threads,
    catch_up_cpu_cores: cores(s.catch_up.processes),
    load_client: { ...loadClient, process_cpu_cores: s.processes.bench.cpu_cores, generator_kept_pace: s.generator_kept_pace },
    verified,
    targets,
    targets_met: Object.values(targets).every((t) => t.met),
  };
}

export type ServeResult = ReturnType<typeof serveResult>;
