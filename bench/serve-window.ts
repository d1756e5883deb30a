/**
 * bench-serve's realtime window: one bench-ingest step (sensors × rate
 * published in realtime for the window, counted at its end, caught up) while
 * the virtual users explore lenses over history and live data alike; then
 * the stored points of the window against the generator's manifest. It
 * publishes as bench-ingest does, in order and without re-sends, so that the
 * backlog at the window's end is judged as bench-ingest's 3 s bound is (the
 * scenarios cover a reordering, re-sending upstream). The users run on a
 * thread of their own (serve-users-thread.ts), so that the generator's work
 * on the main thread does not delay the answers they time.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import type { SecondStats, UserLoadReport } from '../harness/load/users-report';
import type { Harness } from '../harness/stack/harness';
import { checkExtents, type ExpectedSensor } from '../harness/verify/manifest-check';
import { summarizeStorage, type StorageSummary } from '../harness/verify/summary';
import type { Sampler } from './ingest-sampler';
import { runStep } from './ingest-steps';
import type { StepResult } from './ingest-result';
import { readThreads, threadCoresBetween } from './process-stats';
import { round } from './round';
import type { LoopStats, ThreadMessage, ThreadOptions } from './serve-users-thread';

/** The bound on the backlog at the window's end: the generator's last second, the chunk interval, reading and storing it. */
export const MAX_BACKLOG_S = 3;
const CATCH_UP_TIMEOUT_S = 900;
/** How long the users wait for every realtime sensor to show its first live points. */
const LIVE_TIMEOUT_MS = 60_000;

export interface WindowOptions {
  sensors: number;
  rate: number;
  windowS: number;
  users: number;
  thinkMs: number;
  verify: number;
  accept: 'json' | 'binary';
}

export interface LoadClient {
  /** Share of the users' time the load client's event loop was busy (0–1): near 1 it was the limit. */
  event_loop_utilization: number;
  /** How late the load client's event loop ran timers, ms: what it adds to every latency it measures. */
  event_loop_delay_ms: LoopStats['delay_ms'];
  /** Cores of this process's main thread (the generator, the sampler) while the users ran. */
  generator_main_thread_cores: number | null;
  /** Seconds after the window's start at which the users began (once every realtime sensor was live). */
  users_started_after_s: number;
}

export interface WindowResult {
  step: StepResult;
  users: UserLoadReport;
  loadClient: LoadClient;
  /** Points the realtime sensors held before the window (history, earlier runs). */
  pointsBefore: number;
  verified: StorageSummary & { method: 'extents'; ok: boolean };
}

export async function realtimeWindow(
  harness: Harness,
  sampler: Sampler,
  o: WindowOptions & { cores: number; t0: number },
  log: (line: string) => void,
): Promise<WindowResult> {
  const before = await harness.api.sensors();
  const isLive = (id: number) => id >= 1 && id <= o.sensors;
  const pointsBefore = before.filter((s) => isLive(s.sensor)).reduce((n, s) => n + s.points, 0);
  const manifest = new Map<number, ExpectedSensor>();
  const driver = {
    harness,
    sampler,
    toggleProfiler: async () => null,
    args: {
      steps: [o.sensors * o.rate],
      'step-seconds': o.windowS,
      'max-backlog-s': MAX_BACKLOG_S,
      'catch-up-timeout-s': CATCH_UP_TIMEOUT_S,
    },
    rateHz: o.rate,
    cores: o.cores,
    t0: o.t0,
  };
  const since = Date.now();
  const stepP = runStep(driver, o.sensors * o.rate, 1, 1, manifest);
  // Marked handled now: a failing step surfaces where it is awaited, after the users.
  stepP.catch(() => undefined);
  const { users, loadClient } = await usersDuring(harness, o, since, log);
  const step = await stepP;
  // Expected: what each sensor held before plus what the generator published for it (extents compare points, not checksums).
  const expected = new Map<number, ExpectedSensor>(before.map((s) => [s.sensor, { points: s.points, checksum: 0 }]));
  for (const [id, e] of manifest) expected.set(id, { points: (expected.get(id)?.points ?? 0) + e.points, checksum: 0 });
  const check = checkExtents(expected, await harness.api.sensors());
  // The window's own points: what the state held before is on both sides of the check.
  const verified = {
    method: 'extents' as const,
    ok: check.ok,
    ...summarizeStorage(check),
    generated_points: [...manifest.values()].reduce((n, e) => n + e.points, 0),
    stored_points: check.stored_points - before.reduce((n, s) => n + s.points, 0),
  };
  return { step, users, loadClient, pointsBefore, verified };
}

/** The users, from when every realtime sensor is live until the window ends, and what running them cost. */
async function usersDuring(harness: Harness, o: WindowOptions, since: number, log: (line: string) => void) {
  await waitLive(harness, o.sensors, since, log);
  const startedAfterS = round((Date.now() - since) / 1000, 1);
  const durationS = Math.max(5, o.windowS - startedAfterS);
  log(`${o.users} users exploring lenses for ${durationS} s (think ${o.thinkMs} ms, ${o.verify * 100} % verified against raw)…`);
  const threads0 = readThreads(process.pid);
  const t0 = performance.now();
  const { report, loop } = await usersInThread(
    {
      baseUrl: harness.api.baseUrl,
      token: harness.api.token,
      users: o.users,
      durationS,
      thinkMs: o.thinkMs,
      verifyFraction: o.verify,
      accept: o.accept,
      seed: 5,
    },
    (s) => {
      if (s.t_s % 10 === 0) log(`  users ${s.t_s} s: ${s.requests} lenses/s, p50 ${s.p50_ms} ms, p99 ${s.p99_ms} ms, ${s.errors} errors`);
    },
  );
  const threads = threadCoresBetween(threads0, readThreads(process.pid), (performance.now() - t0) / 1000);
  const loadClient: LoadClient = {
    event_loop_utilization: loop.utilization,
    event_loop_delay_ms: loop.delay_ms,
    // A thread group below 0.005 cores is left out of the readings: an idle main thread reads as 0.
    generator_main_thread_cores: threads0 ? (threads.main ?? 0) : null,
    users_started_after_s: startedAfterS,
  };
  return { users: report, loadClient };
}

/** runUserLoad on the load client's thread (serve-users-thread.ts); its report and event-loop figures. */
function usersInThread(opts: ThreadOptions, onSecond: (s: SecondStats) => void): Promise<{ report: UserLoadReport; loop: LoopStats }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./serve-users-thread.mjs', import.meta.url), { workerData: opts });
    worker.on('message', (m: ThreadMessage) => {
      if (m.kind === 'second') return onSecond(m.stats);
      resolve(m);
      // Idle keep-alive connections would hold the finished thread open.
      void worker.terminate();
    });
    worker.on('error', reject);
    // After the report this changes nothing (a settled promise stays settled).
    worker.on('exit', (code) => reject(new Error(`the load client's thread exited (code ${code}) without its report`)));
  });
}

/** Until /v1/sensors shows a point since `since` for every realtime sensor: users list the sensors once, when they start. */
async function waitLive(harness: Harness, sensors: number, since: number, log: (line: string) => void): Promise<void> {
  const deadline = performance.now() + LIVE_TIMEOUT_MS;
  for (;;) {
    const live = (await harness.api.sensors()).filter((s) => s.sensor >= 1 && s.sensor <= sensors && s.last >= since).length;
    if (live === sensors) return;
    if (performance.now() > deadline) {
      log(`  only ${live} of ${sensors} realtime sensors live after ${LIVE_TIMEOUT_MS / 1000} s; the users start anyway`);
      return;
    }
    await sleep(500);
  }
}
