/**
 * bench-serve's load client, on a thread of its own: the virtual users run
 * here, away from the generator on the main thread, whose synchronous batch
 * encoding (hundreds of ms a second at 1 M points/s) would otherwise hold up
 * every answer the users time. The thread measures its own event loop, how
 * busy it was and how late it ran timers: a client that is the limit shows
 * there, not as slower lenses.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { runUserLoad, type UserLoadOptions } from '../harness/load/users';
import type { SecondStats, UserLoadReport } from '../harness/load/users-report';
import { round } from './round';

export type ThreadOptions = Omit<UserLoadOptions, 'onSecond'>;

export interface LoopStats {
  /** Share of the users' time the thread's event loop was busy (0–1). */
  utilization: number;
  /** How late it ran timers, ms. */
  delay_ms: { p50: number; p99: number; max: number };
}

export type ThreadMessage = { kind: 'second'; stats: SecondStats } | { kind: 'done'; report: UserLoadReport; loop: LoopStats };

/** The histogram holds a timer's whole interval: less this resolution is the delay. */
const RESOLUTION_MS = 10;

const post = (m: ThreadMessage) => parentPort!.postMessage(m);
const delay = (ns: number) => round(Math.max(0, ns / 1e6 - RESOLUTION_MS), 1);

const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
histogram.enable();
const elu0 = performance.eventLoopUtilization();
const report = await runUserLoad({ ...(workerData as ThreadOptions), onSecond: (stats) => post({ kind: 'second', stats }) });
const elu = performance.eventLoopUtilization(elu0);
histogram.disable();
post({
  kind: 'done',
  report,
  loop: {
    utilization: round(elu.utilization, 3),
    delay_ms: { p50: delay(histogram.percentile(50)), p99: delay(histogram.percentile(99)), max: delay(histogram.max) },
  },
});
