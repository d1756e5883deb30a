/**
 * bench-serve's history: sensors × days × rate back-filled once into the
 * state dir and reused by later runs. A marker file in the state dir records
 * what was back-filled; written before the backfill starts (complete: false)
 * and again when it and its compaction are done, so that an interrupted
 * backfill is started over, a state holding other history is refused, and a
 * directory that is not bench-serve's is never wiped.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../lib/config/args';
import { drainCompaction } from '../harness/scenario/common';
import type { Harness } from '../harness/stack/harness';
import { backfillGenerated } from './backfill-generated';
import { round } from './round';

const MARKER = 'bench-serve-history.json';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** What the history is made of: the options that must match for a state to be reused. */
export interface HistoryParams {
  sensors: number;
  days: number;
  rate_hz: number;
}

interface Marker extends HistoryParams {
  complete: boolean;
  from: number;
  to: number;
  points_per_sensor: number;
}

export interface HistoryResult extends HistoryParams {
  reused: boolean;
  from: string;
  to: string;
  points: number;
  /** Null when reused. */
  backfill_s: number | null;
  backfill_points_per_s: number | null;
  compaction_wait_s: number;
}

/** How the stack starts: on a fresh state (wiped first), or on the state whose complete history `marker` describes. */
export type StatePlan = { fresh: true } | { fresh: false; marker: Marker };

const describe = (p: HistoryParams) => `${p.sensors} sensors × ${p.days} day${p.days === 1 ? '' : 's'} × ${p.rate_hz} Hz`;

function readMarker(stateDir: string): Marker | null {
  const file = path.join(stateDir, MARKER);
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as Marker) : null;
}

const writeMarker = (stateDir: string, m: Marker) => fs.writeFileSync(path.join(stateDir, MARKER), `${JSON.stringify(m, null, 2)}\n`);

/** Whether the state dir's history can be reused; refuses (UsageError) a state of other history or not bench-serve's. */
export function planState(stateDir: string, want: HistoryParams): StatePlan {
  const marker = readMarker(stateDir);
  if (marker?.complete) {
    if (marker.sensors === want.sensors && marker.days === want.days && marker.rate_hz === want.rate_hz) return { fresh: false, marker };
    throw new UsageError(
      `${stateDir} holds history of ${describe(marker)}, not ${describe(want)}: run with --history-sensors ${marker.sensors} --history-days ${marker.days} --history-rate ${marker.rate_hz}, choose another --state, or remove ${stateDir}`,
    );
  }
  // A marker that is not complete is a backfill of ours that was interrupted: start over.
  if (marker) return { fresh: true };
  if (fs.existsSync(stateDir) && fs.readdirSync(stateDir).length > 0) {
    throw new UsageError(`${stateDir} is not empty and holds no bench-serve history (no ${MARKER}): remove it or choose another --state`);
  }
  return { fresh: true };
}

/** The history the plan names: checked when reused, else back-filled over whole hours ending at the current hour and compacted. */
export async function ensureHistory(
  harness: Harness,
  stateDir: string,
  plan: StatePlan,
  want: HistoryParams,
  log: (line: string) => void,
): Promise<HistoryResult> {
  const base = harness.api.baseUrl;
  if (!plan.fresh) {
    await checkStored(harness, plan.marker, 'at least');
    log(`history of ${describe(plan.marker)} found in ${stateDir}; reusing it`);
    const compactionS = await drainCompaction(harness, 3_600_000);
    return result(plan.marker, true, null, compactionS);
  }
  // Ends before the realtime data begins (now), on an hour so that every sensor gets the same whole number of points.
  const to = Math.floor(Date.now() / HOUR) * HOUR;
  const marker: Marker = { ...want, complete: false, from: to - want.days * DAY, to, points_per_sensor: want.days * 86_400 * want.rate_hz };
  writeMarker(stateDir, marker);
  const points = marker.points_per_sensor * want.sensors;
  log(`back-filling history: ${describe(want)} = ${(points / 1e6).toFixed(1)} M points…`);
  const t0 = performance.now();
  await backfillGenerated(base, { sensors: sensorIds(want.sensors), from: marker.from, to, rate_hz: want.rate_hz }, log);
  const backfillS = (performance.now() - t0) / 1000;
  log(`  back-filled in ${backfillS.toFixed(0)} s; waiting for compaction…`);
  const compactionS = await drainCompaction(harness, 4 * 3_600_000);
  await checkStored(harness, marker, 'exactly');
  writeMarker(stateDir, { ...marker, complete: true });
  log(`  compaction drained in ${compactionS} s`);
  return result(marker, false, backfillS, compactionS);
}

const sensorIds = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

/** Every history sensor begins at the history's start with its points (more once realtime runs added theirs). */
async function checkStored(harness: Harness, m: Marker, how: 'exactly' | 'at least'): Promise<void> {
  const stored = new Map((await harness.api.sensors()).map((s) => [s.sensor, s]));
  for (const id of sensorIds(m.sensors)) {
    const s = stored.get(id);
    const ok = s && s.first === m.from && (how === 'exactly' ? s.points === m.points_per_sensor : s.points >= m.points_per_sensor);
    if (!ok) {
      throw new Error(
        `sensor ${id} of the history holds ${s ? `${s.points} points from ${new Date(s.first).toISOString()}` : 'nothing'}, not ${how} ${m.points_per_sensor} from ${new Date(m.from).toISOString()}`,
      );
    }
  }
}

function result(m: Marker, reused: boolean, backfillS: number | null, compactionS: number): HistoryResult {
  const points = m.points_per_sensor * m.sensors;
  return {
    sensors: m.sensors,
    days: m.days,
    rate_hz: m.rate_hz,
    reused,
    from: new Date(m.from).toISOString(),
    to: new Date(m.to).toISOString(),
    points,
    backfill_s: backfillS === null ? null : round(backfillS, 1),
    backfill_points_per_s: backfillS === null ? null : Math.round(points / backfillS),
    compaction_wait_s: compactionS,
  };
}
