import { setTimeout as sleep } from 'node:timers/promises';
import { decodeLensBinary, LENS_BINARY_TYPE, readLensBinaryHeader } from '../../lib/lens/lens-binary';
import type { LensResult } from '../../lib/lens/query';
import { lensDifferences } from '../verify/lens-check';
import { Rng } from '../../generator/rng';
import {
  buildReport,
  closeSecond,
  countFailure,
  HttpError,
  newTally,
  type SecondStats,
  type Tally,
  type UserLoadReport,
} from './users-report';

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
  /**
   * How lenses are asked for: JSON (default; every answer parsed whole) or the
   * compact binary form the viewer uses, of which the load client reads the
   * header and decodes the buckets only of answers it verifies, so that it
   * costs as little as a real client and never becomes the limit.
   */
  accept?: 'json' | 'binary';
}

interface Sensor {
  sensor: number;
  first: number;
  last: number;
  points: number;
}

export async function fetchSensors(baseUrl: string, headers: Record<string, string>): Promise<Sensor[]> {
  const res = await fetch(`${baseUrl}/v1/sensors`, { headers, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  const body = await res.text();
  if (!res.ok) throw new HttpError(res.status, body);
  return (JSON.parse(body) as Sensor[]).filter((s) => s.points > 0);
}

/** A lens answer: its plan and points at once, the whole lens only when asked for. */
interface Answer {
  plan: LensResult['plan'];
  points: number;
  lens: () => LensResult;
}

async function getLens(url: string, headers: Record<string, string>, accept: 'json' | 'binary'): Promise<Answer> {
  const res = await fetch(url, {
    headers: accept === 'binary' ? { ...headers, accept: LENS_BINARY_TYPE } : headers,
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  if (!res.ok) throw new HttpError(res.status, await res.text());
  if (accept === 'binary') {
    const body = new Uint8Array(await res.arrayBuffer());
    const { header } = readLensBinaryHeader(body);
    return { plan: header.plan, points: header.sensors.length * header.buckets, lens: () => decodeLensBinary(body) };
  }
  const lens = JSON.parse(await res.text()) as LensResult;
  return { plan: lens.plan, points: lens.sensors.length * (lens.sensors[0]?.t.length ?? 0), lens: () => lens };
}

/** What every user shares: where to ask, the sensors to look at, when to stop, and the tally. */
interface Run {
  opts: UserLoadOptions;
  headers: Record<string, string>;
  sensors: Sensor[];
  deadline: number;
  maxRequests: number;
  tally: Tally;
}

export async function runUserLoad(opts: UserLoadOptions): Promise<UserLoadReport> {
  const headers: Record<string, string> = opts.token ? { authorization: `Bearer ${opts.token}` } : {};
  const sensors = await fetchSensors(opts.baseUrl, headers);
  if (sensors.length === 0) throw new Error(`${opts.baseUrl}/v1/sensors lists no sensor with data; nothing to look at`);
  const started = performance.now();
  const run: Run = {
    opts,
    headers,
    sensors,
    deadline: started + opts.durationS * 1000,
    maxRequests: opts.maxRequests ?? 10_000_000,
    tally: newTally(),
  };
  const ticker = setInterval(() => closeSecond(run.tally, opts.onSecond), 1000);
  try {
    await Promise.all(Array.from({ length: opts.users }, (_, i) => user(run, i)));
  } finally {
    clearInterval(ticker);
  }
  const setup = {
    users: opts.users,
    thinkMs: opts.thinkMs,
    verifyFraction: opts.verifyFraction,
    sensorsAvailable: sensors.length,
    presets: Object.keys(USER_PRESETS_MS),
  };
  return buildReport(run.tally, setup, (performance.now() - started) / 1000);
}

/** Lens vs raw; on a difference, raw–lens–raw until raw stands still, so arriving data is not mistaken for an inexact lens. */
async function verify(run: Run, query: string, lens: LensResult): Promise<void> {
  const { tally } = run;
  const get = async (source: string) =>
    (await getLens(`${run.opts.baseUrl}/v1/lens?${query}${source}`, run.headers, run.opts.accept ?? 'json')).lens();
  let raw = await get('&source=raw');
  tally.verified++;
  let diff = lensDifferences(lens, raw);
  if (diff.length === 0) return;
  for (let attempt = 0; attempt < 3; attempt++) {
    tally.rechecked++;
    const before = await get('&source=raw');
    const again = await get('');
    raw = await get('&source=raw');
    if (lensDifferences(before, raw).length > 0) continue; // data arrived meanwhile: try again
    diff = lensDifferences(again, raw);
    if (diff.length === 0) return;
    tally.mismatches++;
    if (tally.mismatchExamples.length < 10) tally.mismatchExamples.push(`${query}: ${diff.length} buckets differ, e.g. ${diff[0]}`);
    return;
  }
  tally.unsettled++;
}

/** Where a user looks: the sensors, the preset it opened, the screen width, and the current [to - span, to). */
interface View {
  preset: string;
  chosen: Sensor[];
  width: number;
  span: number;
  to: number;
  action: Action;
}

const more = (run: Run) => performance.now() < run.deadline && run.tally.issued < run.maxRequests;

async function user(run: Run, index: number): Promise<void> {
  const { opts } = run;
  const random = new Rng((opts.seed ?? 1) * 7919 + index * 104_729);
  const next = () => random.next();
  const think = () => sleep(Math.min(opts.thinkMs * 10, -Math.log(1 - next()) * opts.thinkMs));
  // Users do not all arrive in the same millisecond.
  await sleep(next() * Math.min(1000, opts.thinkMs));
  while (more(run)) {
    // A session: a preset over 1–10 sensors, then a few zooms and pans.
    const view = openView(run.sensors, next);
    const steps = 3 + Math.floor(next() * 8);
    for (let i = 0; i < steps && more(run); i++) {
      const from = view.to - view.span;
      const query = `sensors=${view.chosen.map((s) => s.sensor).join(',')}&from=${from}&to=${view.to}&points=${view.width}`;
      const answer = await look(run, query, view);
      if (answer && next() < opts.verifyFraction) {
        try {
          await verify(run, query, answer.lens());
        } catch (err) {
          countFailure(run.tally, err, `verify ${query}`);
        }
      }
      await think();
      gesture(view, from, next);
    }
  }
}

function openView(sensors: Sensor[], next: () => number): View {
  const presetNames = Object.keys(USER_PRESETS_MS);
  const preset = presetNames[Math.floor(next() * presetNames.length)]!;
  const n = 1 + Math.floor(next() * Math.min(10, sensors.length));
  const chosen = [...sensors].sort(() => next() - 0.5).slice(0, n);
  const dataFrom = Math.min(...chosen.map((s) => s.first));
  const dataTo = Math.max(...chosen.map((s) => s.last)) + 1;
  const width = SCREEN_WIDTHS[Math.floor(next() * SCREEN_WIDTHS.length)]!;
  const span = USER_PRESETS_MS[preset]!;
  let to = dataFrom + Math.floor(next() * Math.max(1, dataTo - dataFrom + span));
  to = Math.max(to, dataFrom + Math.min(span, dataTo - dataFrom));
  return { preset, chosen, width, span, to, action: 'open' };
}

/** One lens request, tallied; null if no answer came. */
async function look(run: Run, query: string, view: View): Promise<Answer | null> {
  const { tally } = run;
  tally.issued++;
  const t0 = performance.now();
  let answer: Answer | null = null;
  try {
    answer = await getLens(`${run.opts.baseUrl}/v1/lens?${query}`, run.headers, run.opts.accept ?? 'json');
    const ms = performance.now() - t0;
    tally.latencies.push(ms);
    tally.second.requests++;
    tally.second.lat.push(ms);
    tally.byAction[view.action] = (tally.byAction[view.action] ?? 0) + 1;
    const p = tally.byPreset.get(view.preset) ?? [];
    p.push(ms);
    tally.byPreset.set(view.preset, p);
    tally.rowsRead += answer.plan.rows_read;
    tally.points += answer.points;
  } catch (err) {
    countFailure(tally, err, `lens ${query}`);
  }
  return answer;
}

/** The next gesture on the view that showed [from, from + span). */
function gesture(view: View, from: number, next: () => number): void {
  const r = next();
  const centre = from + next() * view.span;
  if (r < 0.45 && view.span / 2 >= MIN_SPAN_MS) {
    view.action = 'zoom_in';
    view.span = Math.max(MIN_SPAN_MS, Math.round(view.span / (2 + next() * 3)));
    view.to = Math.round(centre + view.span / 2);
  } else if (r < 0.75) {
    view.action = 'pan';
    view.to += Math.round((next() - 0.5) * view.span);
  } else {
    view.action = 'zoom_out';
    view.span = Math.min(365 * 86_400_000, Math.round(view.span * (2 + next() * 3)));
    view.to = Math.round(centre + view.span / 2);
  }
}
