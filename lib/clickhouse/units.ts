import { int } from './sql';

/** A ledger unit (a sensor's window or day) at a version. */
export interface UnitVersion {
  sensor: number;
  /** Window or day start, epoch ms. */
  start: number;
  version: number;
}

/** Evenly spaced units of one sensor at one version: start = first + k × step for k < count. */
export interface UnitRun {
  sensor: number;
  first: number;
  step: number;
  count: number;
  version: number;
}

/**
 * Consecutive units of one sensor and version, evenly spaced, as one run, in
 * the order given (nothing is sorted). A day of windows is one run instead
 * of 1440 literals: ClickHouse parses a literal in microseconds, so the
 * statement text, not the rows, was the cost of a large ledger write.
 */
export function unitRuns(units: readonly UnitVersion[]): UnitRun[] {
  const runs: UnitRun[] = [];
  for (const u of units) {
    const last = runs[runs.length - 1];
    if (last && last.sensor === u.sensor && last.version === u.version) {
      const next = last.first + last.step * last.count;
      if (last.count === 1 && u.start > last.first) {
        last.step = u.start - last.first;
        last.count = 2;
        continue;
      }
      if (last.count > 1 && u.start === next) {
        last.count++;
        continue;
      }
    }
    runs.push({ sensor: u.sensor, first: u.start, step: 0, count: 1, version: u.version });
  }
  return runs;
}

/**
 * Runs per statement, each statement at most `maxRuns` literals long and
 * `maxUnits` units when expanded (the GROUP BY of a ledger write holds them
 * all); a longer run is cut.
 */
export function runSlices(runs: readonly UnitRun[], maxRuns: number, maxUnits: number): UnitRun[][] {
  const out: UnitRun[][] = [];
  let slice: UnitRun[] = [];
  let units = 0;
  const push = (r: UnitRun) => {
    if (slice.length >= maxRuns || units + r.count > maxUnits) {
      out.push(slice);
      slice = [];
      units = 0;
    }
    slice.push(r);
    units += r.count;
  };
  for (const r of runs) {
    for (let k = 0; k < r.count; k += maxUnits) {
      push({ ...r, first: r.first + k * r.step, count: Math.min(maxUnits, r.count - k) });
    }
  }
  if (slice.length > 0) out.push(slice);
  return out;
}

/**
 * `SELECT sensor, start, version` over runs given as literal columns, one
 * row per unit (`arrayJoin` expands each run). The same text on every server
 * version.
 */
export function runsSelect(runs: readonly UnitRun[]): string {
  const col = (f: (r: UnitRun) => number) => `[${runs.map((r) => int(f(r))).join(', ')}]`;
  return `SELECT toUInt32(s) AS sensor, toInt64(f) + toInt64(d) * toInt64(arrayJoin(range(toUInt64(n)))) AS start, toUInt64(v) AS version
     FROM system.one ARRAY JOIN ${col((r) => r.sensor)} AS s, ${col((r) => r.first)} AS f, ${col((r) => r.step)} AS d,
       ${col((r) => r.count)} AS n, ${col((r) => r.version)} AS v`;
}

/** (sensor, [from, to)) ranges covering units `step` apart: a sensor's contiguous units share one range. */
export function unitRanges(
  units: readonly { sensor: number; start: number }[],
  step: number,
): { sensor: number; from: number; to: number }[] {
  const sorted = [...units].sort((a, b) => a.sensor - b.sensor || a.start - b.start);
  const out: { sensor: number; from: number; to: number }[] = [];
  for (const u of sorted) {
    const last = out[out.length - 1];
    if (last && last.sensor === u.sensor && u.start <= last.to) last.to = Math.max(last.to, u.start + step);
    else out.push({ sensor: u.sensor, from: u.start, to: u.start + step });
  }
  return out;
}
