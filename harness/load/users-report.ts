import { percentile } from '../verify/latency';
/**
 * The tally of a user load while it runs (per request, per second) and the
 * report made of it at the end.
 */

export interface SecondStats {
  t_s: number;
  requests: number;
  errors: number;
  p50_ms: number;
  p99_ms: number;
}

export interface UserLoadReport {
  users: number;
  duration_s: number;
  think_ms: number;
  sensors_available: number;
  requests: number;
  requests_per_s: number;
  latency_ms: { p50: number; p90: number; p99: number; max: number; mean: number };
  errors: number;
  errors_by_kind: Record<string, number>;
  error_examples: string[];
  by_action: Record<string, number>;
  by_preset: Record<string, { requests: number; p50_ms: number; p99_ms: number }>;
  rows_read_per_point: number;
  verify_fraction: number;
  verified: number;
  /** Verifications repeated because data changed between the lens and the raw query. */
  verify_rechecked: number;
  /** Still changing after every recheck: neither confirmed nor refuted (reported, not hidden). */
  verify_unsettled: number;
  mismatches: number;
  mismatch_examples: string[];
  timeline: SecondStats[];
}

/** What the users saw, accumulated while they run. */
export interface Tally {
  issued: number;
  latencies: number[];
  errors: number;
  errorsByKind: Record<string, number>;
  errorExamples: string[];
  byAction: Record<string, number>;
  byPreset: Map<string, number[]>;
  rowsRead: number;
  points: number;
  verified: number;
  rechecked: number;
  unsettled: number;
  mismatches: number;
  mismatchExamples: string[];
  timeline: SecondStats[];
  /** The second in progress; the ticker closes it into the timeline. */
  second: { requests: number; errors: number; lat: number[] };
}

export function newTally(): Tally {
  return {
    issued: 0,
    latencies: [],
    errors: 0,
    errorsByKind: {},
    errorExamples: [],
    byAction: {},
    byPreset: new Map(),
    rowsRead: 0,
    points: 0,
    verified: 0,
    rechecked: 0,
    unsettled: 0,
    mismatches: 0,
    mismatchExamples: [],
    timeline: [],
    second: { requests: 0, errors: 0, lat: [] },
  };
}

/** The ticker's work, once a second: the second in progress into the timeline (and onSecond). */
export function closeSecond(tally: Tally, onSecond?: (s: SecondStats) => void): void {
  const lat = tally.second.lat.sort((a, b) => a - b);
  const s: SecondStats = {
    t_s: tally.timeline.length + 1,
    requests: tally.second.requests,
    errors: tally.second.errors,
    p50_ms: percentile(lat, 0.5),
    p99_ms: percentile(lat, 0.99),
  };
  tally.timeline.push(s);
  tally.second = { requests: 0, errors: 0, lat: [] };
  onSecond?.(s);
}

/** A failed request or verification: counted by kind, the first few kept as examples. */
export function countFailure(tally: Tally, err: unknown, what: string): void {
  tally.errors++;
  tally.second.errors++;
  const kind = errorKind(err);
  tally.errorsByKind[kind] = (tally.errorsByKind[kind] ?? 0) + 1;
  if (tally.errorExamples.length < 5) tally.errorExamples.push(`${what}: ${(err as Error).message}`);
}

/** An answer other than 2xx: counted as `http_<status>`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    body: string,
  ) {
    super(`HTTP ${status}: ${body.slice(0, 200)}`);
  }
}

function errorKind(err: unknown): string {
  if (err instanceof HttpError) return `http_${err.status}`;
  const e = err as Error & { cause?: { code?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return 'timeout';
  if (e.cause?.code) return `network_${e.cause.code}`;
  if (e instanceof SyntaxError) return 'bad_json';
  return 'network';
}

/** How the load was set up, for the report's head. */
export interface LoadSetup {
  users: number;
  thinkMs: number;
  verifyFraction: number;
  sensorsAvailable: number;
  /** Preset names, in the order of `by_preset`. */
  presets: string[];
}

export function buildReport(tally: Tally, setup: LoadSetup, elapsedS: number): UserLoadReport {
  const latencies = tally.latencies.sort((a, b) => a - b);
  const presets: UserLoadReport['by_preset'] = {};
  for (const name of setup.presets) {
    const l = (tally.byPreset.get(name) ?? []).sort((a, b) => a - b);
    presets[name] = { requests: l.length, p50_ms: percentile(l, 0.5), p99_ms: percentile(l, 0.99) };
  }
  return {
    users: setup.users,
    duration_s: Number(elapsedS.toFixed(1)),
    think_ms: setup.thinkMs,
    sensors_available: setup.sensorsAvailable,
    requests: latencies.length,
    requests_per_s: Number((latencies.length / elapsedS).toFixed(1)),
    latency_ms: {
      p50: percentile(latencies, 0.5),
      p90: percentile(latencies, 0.9),
      p99: percentile(latencies, 0.99),
      max: Number((latencies.at(-1) ?? 0).toFixed(1)),
      mean: Number((latencies.reduce((a, b) => a + b, 0) / Math.max(1, latencies.length)).toFixed(1)),
    },
    errors: tally.errors,
    errors_by_kind: tally.errorsByKind,
    error_examples: tally.errorExamples,
    by_action: tally.byAction,
    by_preset: presets,
    rows_read_per_point: Number((tally.rowsRead / Math.max(1, tally.points)).toFixed(3)),
    verify_fraction: setup.verifyFraction,
    verified: tally.verified,
    verify_rechecked: tally.rechecked,
    verify_unsettled: tally.unsettled,
    mismatches: tally.mismatches,
    mismatch_examples: tally.mismatchExamples,
    timeline: tally.timeline,
  };
}

export function formatUserLoad(r: UserLoadReport): string {
  return [
    `  users       ${r.users} for ${r.duration_s} s (think ${r.think_ms} ms), ${r.sensors_available} sensors with data`,
    `  requests    ${r.requests} lenses, ${r.requests_per_s}/s; ${JSON.stringify(r.by_action)}`,
    `  latency     p50 ${r.latency_ms.p50} ms, p90 ${r.latency_ms.p90} ms, p99 ${r.latency_ms.p99} ms, max ${r.latency_ms.max} ms`,
    `  by preset   ${Object.entries(r.by_preset)
      .map(([k, v]) => `${k} ${v.requests}× p50 ${v.p50_ms}/p99 ${v.p99_ms}`)
      .join('; ')}`,
    `  errors      ${r.errors} ${JSON.stringify(r.errors_by_kind)}`,
    ...r.error_examples.map((e) => `              ${e}`),
    `  exactness   ${r.verified} verified against raw (${r.verify_rechecked} rechecked, ${r.verify_unsettled} unsettled), ${r.mismatches} mismatches; ${r.rows_read_per_point} rows read per point`,
    ...r.mismatch_examples.map((e) => `              ${e}`),
  ].join('\n');
}
