/**
 * How far ingest is behind what a step offered: points visible in ClickHouse
 * for the step's sensor range, the backlog of Kafka records not yet
 * checkpointed (in seconds of offered data), its growth, the steady inserted
 * rate, and the wait until ingest has caught up with Kafka.
 */
import type { Harness } from '../harness/stack/harness';
import type { HerodotusApi } from '../harness/verify/api-client';
import { getJson } from './ingest-http';
import type { StatusSample } from './ingest-sampler';

/** Points stored per sensor according to the sensor-extent view (cheap: one row per sensor). */
export async function visiblePoints(api: HerodotusApi, first: number, count: number): Promise<number> {
  const sensors = await getJson<{ sensor: number; points: number }[]>(api, '/v1/sensors', 60_000);
  let points = 0;
  for (const s of sensors) if (s.sensor >= first && s.sensor < first + count) points += s.points;
  return points;
}

/** Waits until every partition's checkpoint is at its high watermark; seconds waited, or null on timeout. */
export async function waitCaughtUp(harness: Harness, timeoutS: number): Promise<number | null> {
  const t = performance.now();
  try {
    await harness.waitCaughtUp(timeoutS * 1000);
    return (performance.now() - t) / 1000;
  } catch {
    return null;
  }
}

/** Records published but not yet checkpointed, in seconds of data offered by `sensors` sensors (every record is one sensor-second). */
export function backlogSeconds(s: StatusSample, sensors: number): number {
  return (s.high - s.checkpoint) / sensors;
}

/** Least-squares slope of y over x; null with fewer than 3 points. */
function slope(points: readonly (readonly [number, number])[]): number | null {
  if (points.length < 3) return null;
  const mx = points.reduce((n, p) => n + p[0], 0) / points.length;
  const my = points.reduce((n, p) => n + p[1], 0) / points.length;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den > 0 ? num / den : null;
}

/** Linear interpolation of the inserted total at time t (ms), from the status samples. */
function insertedAt(status: StatusSample[], t: number): number | null {
  let before: StatusSample | undefined;
  let after: StatusSample | undefined;
  for (const s of status) {
    if (s.t <= t) before = s;
    else {
      after = s;
      break;
    }
  }
  if (!before || !after) return before?.inserted ?? null;
  return before.inserted + ((after.inserted - before.inserted) * (t - before.t)) / (after.t - before.t);
}

/** The backlog over a step's window [from, to] (ms) of `sensors` sensors, and the inserted rate in its second half. */
export function windowBacklog(status: StatusSample[], from: number, to: number, sensors: number) {
  // Steady state: inserted rate over the second half of the window, free of the start-up ramp.
  const mid = from + (to - from) / 2;
  const insMid = insertedAt(status, mid);
  const insEnd = insertedAt(status, to);
  const steady = insMid !== null && insEnd !== null ? (insEnd - insMid) / ((to - mid) / 1000) : null;
  const inWindow = status.filter((x) => x.t >= from && x.t <= to);
  const backlogs = inWindow.map((x) => backlogSeconds(x, sensors));
  // Least-squares slope of the backlog over the window's second half: ~0 when
  // ingest keeps up (the backlog is latency), 1 - capacity/offered when not.
  const half = inWindow.filter((x) => x.t >= mid).map((x) => [x.t / 1000, backlogSeconds(x, sensors)] as const);
  return { steady, max: backlogs.length ? Math.max(...backlogs) : null, growth: slope(half) };
}
