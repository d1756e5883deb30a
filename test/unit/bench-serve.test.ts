import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../lib/config/args';
import { buildReport, newTally, type UserLoadReport } from '../../harness/load/users-report';
import type { StepResult } from '../../bench/ingest-result';
import { serveSection } from '../../bench/report-serve';
import { planState } from '../../bench/serve-history';
import { serveResult } from '../../bench/serve-result';
import type { WindowResult } from '../../bench/serve-window';

const procs = { kafka: 0.2, temporal: 0.1, herodotus: 1.1, bench: 0.4 };
const processes = Object.fromEntries(Object.entries(procs).map(([k, c]) => [k, { cpu_cores: c, rss_mb_max: 200 }]));

/** A window that meets every target; each test spoils what it checks. */
function window(over: { step?: Partial<StepResult>; users?: Partial<UserLoadReport>; loop?: number } = {}): WindowResult {
  const step = {
    offered_points_per_s: 1_000_000,
    sensors: 1000,
    rate_hz: 1000,
    window_s: 300,
    generated_points: 300_000_000,
    generator_kept_pace: true,
    achieved_points_per_s: 990_000,
    steady_state_points_per_s: 1_000_000,
    backlog_s_at_window_end: 2.5,
    backlog_s_max_in_window: 3.1,
    backlog_growth_s_per_s: 0,
    sustained: true,
    catch_up_s: 2,
    parts: { max_new_parts_per_s: 1, tables: {} },
    chunks: null,
    timeline: [],
    processes,
    machine_cpu_cores: 1.9,
    other_cpu_cores: 0.1,
    herodotus_threads: { main: 0.5 },
    catch_up: { machine_cpu_cores: 1, other_cpu_cores: 0, processes },
    ...over.step,
  } as unknown as StepResult;
  const base = buildReport(
    newTally(),
    { users: 100, thinkMs: 1000, verifyFraction: 0.025, sensorsAvailable: 1000, presets: ['10s', '30d'] },
    300,
  );
  const users: UserLoadReport = {
    ...base,
    requests: 25_000,
    requests_per_s: 83.3,
    latency_ms: { p50: 12, p90: 40, p99: 90, max: 300, mean: 20 },
    verified: 620,
    ...over.users,
  };
  return {
    step,
    users,
    loadClient: {
      event_loop_utilization: over.loop ?? 0.3,
      event_loop_delay_ms: { p50: 0.1, p99: 4, max: 30 },
      generator_main_thread_cores: 0.35,
      users_started_after_s: 3,
    },
    pointsBefore: 60_480_000,
    verified: {
      method: 'extents',
      ok: true,
      generated_points: 300_000_000,
      stored_points: 300_000_000,
      lost_points: 0,
      duplicate_points: 0,
      unexpected_points: 0,
      mismatched_sensors: 0,
    },
  };
}

const history = {
  sensors: 10,
  days: 7,
  rate_hz: 10,
  reused: true,
  from: '2026-01-01T00:00:00.000Z',
  to: '2026-01-08T00:00:00.000Z',
  points: 60_480_000,
  backfill_s: null,
  backfill_points_per_s: null,
  compaction_wait_s: 0.1,
};

const result = (w: WindowResult) =>
  serveResult({
    machine: { cores: 2, mem_gb: 23.5, node: 'v20', cpu_model: 'test' },
    options: { accept: 'binary', verify: 0.025 },
    stateDir: '/tmp/x',
    history,
    window: w,
  });

describe('bench-serve result', () => {
  it('meets every target at the issue numbers, and says so', () => {
    const r = result(window());
    expect(Object.entries(r.targets).filter(([, t]) => !t.met)).toEqual([]);
    expect(r.targets_met).toBe(true);
    expect(r.cpu_cores).toEqual(procs);
    expect(r.users.verified_share).toBe(0.0248);
    const md = serveSection(JSON.parse(JSON.stringify(r)), 'serve-test.json');
    expect(md).not.toMatch(/not reached/i);
    expect(md).toContain('| lens p99 | <= 100 ms | 90 ms | met |');
  });

  it('states plainly every target missed', () => {
    const r = result(
      window({
        step: { offered_points_per_s: 500_000, generator_kept_pace: false },
        users: { latency_ms: { p50: 25, p90: 80, p99: 150, max: 900, mean: 30 }, verify_unsettled: 200 },
      }),
    );
    const missed = Object.entries(r.targets)
      .filter(([, t]) => !t.met)
      .map(([k]) => k);
    expect(missed).toEqual(['ingest', 'lens_p50', 'lens_p99', 'verified', 'load_client']);
    // Unsettled verifications are neither confirmed nor refuted: they do not count towards the share.
    expect(r.targets.verified!.value).toContain('420 of 25000 (1.68 %)');
    const md = serveSection(JSON.parse(JSON.stringify(r)), 'serve-test.json');
    expect(md).toContain('Not reached: lens p99 (150 ms; wanted <= 100 ms).');
    expect(md).toContain('Not reached: ingest sustained (500,000 offered');
    expect(md.match(/\*\*not reached\*\*/g)).toHaveLength(5);
  });

  it('counts a busy or late load client as the limit', () => {
    expect(result(window({ loop: 0.95 })).targets.load_client!.met).toBe(false);
  });
});

describe('bench-serve state', () => {
  const dirs: string[] = [];
  const tmp = () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-serve-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });
  const want = { sensors: 10, days: 7, rate_hz: 10 };
  const marker = (dir: string, m: object) => fs.writeFileSync(path.join(dir, 'bench-serve-history.json'), JSON.stringify(m));

  it('starts fresh in a missing or empty dir', () => {
    expect(planState(path.join(tmp(), 'new'), want)).toEqual({ fresh: true });
    expect(planState(tmp(), want)).toEqual({ fresh: true });
  });

  it('reuses complete history of the same options and refuses other history', () => {
    const dir = tmp();
    const m = { ...want, complete: true, from: 0, to: 7 * 86_400_000, points_per_sensor: 6_048_000 };
    marker(dir, m);
    expect(planState(dir, want)).toEqual({ fresh: false, marker: m });
    expect(() => planState(dir, { ...want, days: 30 })).toThrow(UsageError);
    expect(() => planState(dir, { ...want, days: 30 })).toThrow(/--history-sensors 10 --history-days 7 --history-rate 10/);
  });

  it('starts over after an interrupted backfill, and never wipes a dir that is not its own', () => {
    const dir = tmp();
    marker(dir, { ...want, complete: false });
    expect(planState(dir, { ...want, sensors: 3 })).toEqual({ fresh: true });
    const other = tmp();
    fs.writeFileSync(path.join(other, 'precious'), 'x');
    expect(() => planState(other, want)).toThrow(/holds no bench-serve history/);
  });
});
