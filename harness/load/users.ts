import type { LensResult } from '../../lib/lens/query';
import { lensDifferences } from '../verify/lens-check';

/**
 * Virtual users exploring lenses the way people do: open a preset interval
 * for a few sensors, then zoom in, pan and zoom out, re-querying at the new
 * range with about a screen width of points, with think time in between.
 * A sampled fraction of the answers is checked against the same lens
 * aggregated from raw (`source=raw`).
 */

export const USER_PRESETS_MS: Record<string, number> = {
  '10s': 10_000,
  '1min': 60_000,
  '1h': 3_600_000,
  '1d': 86_400_000,
  '30d': 30 * 86_400_000,
};
const SCREEN_WIDTHS = [800, 1280, 1600, 1920, 2560];
const MIN_SPAN_MS = 1000;
const REQUEST_TIMEOUT_MS = 30_000;

export type Action = 'open' | 'zoom_in' | 'pan' | 'zoom_out';

export interface UserLoadOptions {
  baseUrl: string;
  users: number;
  durationS: number;
  /** Mean think time between a user's requests (exponentially distributed). */
  thinkMs: number;
  /** Fraction of answers re-checked against `source=raw`, 0–1. */
  verifyFraction: number;
  token?: string;
  seed?: number;
  /** Hard cap on lens requests across all users (the loop is bounded in count as well as time). */
  maxRequests?: number;
  /** Called every second with what happened in that second (progress lines). */
  onSecond?: (s: SecondStats) => void;
}

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

interface Sensor {
  sensor: number;
  first: number;
  last: number;
  points: number;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    body: string,
  ) {
    super(`HTTP ${status}: ${body.slice(0, 200)}`);
  }
}

function rng(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 4294967296;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return Number(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!.toFixed(1));
}

function errorKind(err: unknown): string {
  if (err instanceof HttpError) return `http_${err.status}`;
  const e = err as Error & { cause?: { code?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return 'timeout';
  if (e.cause?.code) return `network_${e.cause.code}`;
  if (e instanceof SyntaxError) return 'bad_json';
  return 'network';
}

export async function fetchSensors(baseUrl: string, headers: Record<string, string>): Promise<Sensor[]> {
  const res = await fetch(`${baseUrl}/v1/sensors`, { headers, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  const body = await res.text();
  if (!res.ok) throw new HttpError(res.status, body);
  return (JSON.parse(body) as Sensor[]).filter((s) => s.points > 0);
}

async function getLens(url: string, headers: Record<string, string>): Promise<LensResult> {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  const body = await res.text();
  if (!res.ok) throw new HttpError(res.status, body);
  return JSON.parse(body) as LensResult;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runUserLoad(opts: UserLoadOptions): Promise<UserLoadReport> {
  const headers: Record<string, string> = opts.token ? { authorization: `Bearer ${opts.token}` } : {};
  const sensors = await fetchSensors(opts.baseUrl, headers);
  if (sensors.length === 0) throw new Error(`${opts.baseUrl}/v1/sensors lists no sensor with data; nothing to look at`);
  const maxRequests = opts.maxRequests ?? 10_000_000;
  const started = performance.now();
  const deadline = started + opts.durationS * 1000;

  const latencies: number[] = [];
  const errorsByKind: Record<string, number> = {};
  const errorExamples: string[] = [];
  const byAction: Record<string, number> = {};
  const byPreset = new Map<string, number[]>();
  const mismatchExamples: string[] = [];
  let issued = 0;
  let errors = 0;
  let rowsRead = 0;
  let points = 0;
  let verified = 0;
  let rechecked = 0;
  let unsettled = 0;
  let mismatches = 0;
  const timeline: SecondStats[] = [];
  let second: { requests: number; errors: number; lat: number[] } = { requests: 0, errors: 0, lat: [] };
  const ticker = setInterval(() => {
    const lat = second.lat.sort((a, b) => a - b);
    const s: SecondStats = {
      t_s: timeline.length + 1,
      requests: second.requests,
      errors: second.errors,
      p50_ms: percentile(lat, 0.5),
      p99_ms: percentile(lat, 0.99),
    };
    timeline.push(s);
    second = { requests: 0, errors: 0, lat: [] };
    opts.onSecond?.(s);
  }, 1000);

  const fail = (err: unknown, what: string) => {
    errors++;
    second.errors++;
    const kind = errorKind(err);
    errorsByKind[kind] = (errorsByKind[kind] ?? 0) + 1;
    if (errorExamples.length < 5) errorExamples.push(`${what}: ${(err as Error).message}`);
  };

  /** Lens vs raw; on a difference, raw–lens–raw until raw stands still, so arriving data is not mistaken for an inexact lens. */
  const verify = async (query: string, lens: LensResult) => {
    let raw = await getLens(`${opts.baseUrl}/v1/lens?${query}&source=raw`, headers);
    verified++;
    let diff = lensDifferences(lens, raw);
    if (diff.length === 0) return;
    for (let attempt = 0; attempt < 3; attempt++) {
      rechecked++;
      const before = await getLens(`${opts.baseUrl}/v1/lens?${query}&source=raw`, headers);
      const again = await getLens(`${opts.baseUrl}/v1/lens?${query}`, headers);
      raw = await getLens(`${opts.baseUrl}/v1/lens?${query}&source=raw`, headers);
      if (lensDifferences(before, raw).length > 0) continue; // data arrived meanwhile: try again
      diff = lensDifferences(again, raw);
      if (diff.length === 0) return;
      mismatches++;
      if (mismatchExamples.length < 10) mismatchExamples.push(`${query}: ${diff.length} buckets differ, e.g. ${diff[0]}`);
      return;
    }
    unsettled++;
  };

  const user = async (index: number) => {
    const next = rng((opts.seed ?? 1) * 7919 + index * 104_729);
    const think = () => sleep(Math.min(opts.thinkMs * 10, -Math.log(1 - next()) * opts.thinkMs));
    // Users do not all arrive in the same millisecond.
    await sleep(next() * Math.min(1000, opts.thinkMs));
    while (performance.now() < deadline && issued < maxRequests) {
      // A session: a preset over 1–10 sensors, then a few zooms and pans.
      const presetNames = Object.keys(USER_PRESETS_MS);
      const preset = presetNames[Math.floor(next() * presetNames.length)]!;
      const n = 1 + Math.floor(next() * Math.min(10, sensors.length));
      const chosen = [...sensors].sort(() => next() - 0.5).slice(0, n);
      const dataFrom = Math.min(...chosen.map((s) => s.first));
      const dataTo = Math.max(...chosen.map((s) => s.last)) + 1;
      const width = SCREEN_WIDTHS[Math.floor(next() * SCREEN_WIDTHS.length)]!;
      let span = USER_PRESETS_MS[preset]!;
      let to = dataFrom + Math.floor(next() * Math.max(1, dataTo - dataFrom + span));
      to = Math.max(to, dataFrom + Math.min(span, dataTo - dataFrom));
      let action: Action = 'open';
      const steps = 3 + Math.floor(next() * 8);
      for (let i = 0; i < steps && performance.now() < deadline && issued < maxRequests; i++) {
        const from = to - span;
        const query = `sensors=${chosen.map((s) => s.sensor).join(',')}&from=${from}&to=${to}&points=${width}`;
        issued++;
        const t0 = performance.now();
        let lens: LensResult | null = null;
        try {
          lens = await getLens(`${opts.baseUrl}/v1/lens?${query}`, headers);
          const ms = performance.now() - t0;
          latencies.push(ms);
          second.requests++;
          second.lat.push(ms);
          byAction[action] = (byAction[action] ?? 0) + 1;
          const p = byPreset.get(preset) ?? [];
          p.push(ms);
          byPreset.set(preset, p);
          rowsRead += lens.plan.rows_read;
          points += lens.sensors.length * (lens.sensors[0]?.t.length ?? 0);
        } catch (err) {
          fail(err, `lens ${query}`);
        }
        if (lens && next() < opts.verifyFraction) {
          try {
            await verify(query, lens);
          } catch (err) {
            fail(err, `verify ${query}`);
          }
        }
        await think();
        // The next gesture.
        const r = next();
        const centre = from + next() * span;
        if (r < 0.45 && span / 2 >= MIN_SPAN_MS) {
          action = 'zoom_in';
          span = Math.max(MIN_SPAN_MS, Math.round(span / (2 + next() * 3)));
          to = Math.round(centre + span / 2);
        } else if (r < 0.75) {
          action = 'pan';
          to += Math.round((next() - 0.5) * span);
        } else {
          action = 'zoom_out';
          span = Math.min(365 * 86_400_000, Math.round(span * (2 + next() * 3)));
          to = Math.round(centre + span / 2);
        }
      }
    }
  };

  try {
    await Promise.all(Array.from({ length: opts.users }, (_, i) => user(i)));
  } finally {
    clearInterval(ticker);
  }
  const elapsedS = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const presets: UserLoadReport['by_preset'] = {};
  for (const name of Object.keys(USER_PRESETS_MS)) {
    const l = (byPreset.get(name) ?? []).sort((a, b) => a - b);
    presets[name] = { requests: l.length, p50_ms: percentile(l, 0.5), p99_ms: percentile(l, 0.99) };
  }
  return {
    users: opts.users,
    duration_s: Number(elapsedS.toFixed(1)),
    think_ms: opts.thinkMs,
    sensors_available: sensors.length,
    requests: latencies.length,
    requests_per_s: Number((latencies.length / elapsedS).toFixed(1)),
    latency_ms: {
      p50: percentile(latencies, 0.5),
      p90: percentile(latencies, 0.9),
      p99: percentile(latencies, 0.99),
      max: Number((latencies.at(-1) ?? 0).toFixed(1)),
      mean: Number((latencies.reduce((a, b) => a + b, 0) / Math.max(1, latencies.length)).toFixed(1)),
    },
    errors,
    errors_by_kind: errorsByKind,
    error_examples: errorExamples,
    by_action: byAction,
    by_preset: presets,
    rows_read_per_point: Number((rowsRead / Math.max(1, points)).toFixed(3)),
    verify_fraction: opts.verifyFraction,
    verified,
    verify_rechecked: rechecked,
    verify_unsettled: unsettled,
    mismatches,
    mismatch_examples: mismatchExamples,
    timeline,
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
