import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { parseOptions } from '../lib/config/args';
import { loadConfig } from '../lib/config/config';
import { JSON_BATCH_VERSION } from '../lib/batch/json';
import { stopAllChildren } from '../harness/stack/child';
import { Harness } from '../harness/stack/harness';
import { drainCompaction } from '../harness/scenario/common';
import { createProfiler, withProfilerHook } from './ingest-profiler';
import { coresBetween, readProcess, readThreads, threadCoresBetween } from './process-stats';

const HELP = `usage: herodotus bench-floors [--seconds 60] [--health 2000] [--visibility 5] [--cpu-prof] [--state DIR]

The floors of issue 13 on a small store with nothing arriving: writes a minute
of one sensor, waits for compaction, then measures GET /v1/health one request
at a time over a kept-alive connection (--health requests, p50/p99), the
cores each process keeps busy over --seconds of idle, and how long a point
written after an idle pause takes to show in GET /v1/raw (--visibility
samples, each after 15 s of nothing arriving). --cpu-prof adds a V8 profile
of the idle service. The last line of stdout is one JSON object.`;

const schema = z.object({
  seconds: z.coerce.number().min(5).max(600).default(60),
  health: z.coerce.number().int().min(10).max(100_000).default(2000),
  visibility: z.coerce.number().int().min(0).max(50).default(5),
  'cpu-prof': z.boolean().default(false),
  state: z.string().optional(),
});

const SENSOR = 1;
/** The idle pause before each visibility sample: long enough for any idle back-off to reach its cap. */
const IDLE_BEFORE_WRITE_MS = 15_000;

const log = (line: string) => process.stderr.write(`bench-floors: ${line}\n`);

async function post(base: string, batch: object): Promise<void> {
  const res = await fetch(`${base}/v1/ingest`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(batch),
  });
  if (res.status !== 202) throw new Error(`ingest answered ${res.status}: ${await res.text()}`);
}

/** Points of SENSOR in [from, to) as GET /v1/raw counts them. */
async function rawCount(base: string, from: number, to: number): Promise<number> {
  const res = await fetch(`${base}/v1/raw?sensor=${SENSOR}&from=${from}&to=${to}&limit=10000`);
  // Before its first point is stored the sensor is unknown.
  if (res.status === 404) return 0;
  if (!res.ok) throw new Error(`raw answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { points: unknown[] }).points.length;
}

/** One point written after an idle pause: ms from its 202 until GET /v1/raw shows it. */
async function visibility(base: string, ts: number): Promise<number> {
  await post(base, { v: JSON_BATCH_VERSION, sensor: SENSOR, ts: [ts], values: [ts % 1000] });
  const t0 = performance.now();
  while ((await rawCount(base, ts, ts + 1)) === 0) {
    if (performance.now() - t0 > 60_000) throw new Error(`point ${ts} not visible within 60 s`);
    await sleep(20);
  }
  return Math.round(performance.now() - t0);
}

/** The p-th of sorted ms to the µs: the health floor is a fraction of a ms. */
const at = (sorted: number[], p: number) => Number((sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0).toFixed(3));

async function healthLatencies(base: string, n: number): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const res = await fetch(`${base}/v1/health`);
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`health answered ${res.status}`);
    ms.push(performance.now() - t0);
  }
  return ms.sort((a, b) => a - b);
}

export async function benchFloors(argv: string[]): Promise<number> {
  const args = parseOptions(
    argv,
    {
      seconds: { type: 'string' },
      health: { type: 'string' },
      visibility: { type: 'string' },
      'cpu-prof': { type: 'boolean' },
      state: { type: 'string' },
    },
    schema,
    HELP,
  );
  const stateDir = args.state ?? path.join(loadConfig().stateDir, 'bench-floors');
  const profileDir = path.join(stateDir, 'profile');
  log(`starting the stack in ${stateDir}…`);
  const harness = await withProfilerHook(args['cpu-prof'], profileDir, () => Harness.start({ stateDir, fresh: true, freePorts: true }));
  const base = harness.api.baseUrl;
  const profile = createProfiler(args['cpu-prof'], profileDir, () => harness.service?.pid);
  try {
    // A minute of one sensor at 10 Hz, a minute ago: something to compact, then nothing arriving.
    const start = Math.floor(Date.now() / 1000) * 1000 - 120_000;
    await post(base, {
      v: JSON_BATCH_VERSION,
      sensor: SENSOR,
      start,
      period_ms: 100,
      values: Array.from({ length: 600 }, (_, i) => i % 7),
    });
    while ((await rawCount(base, start, start + 60_000)) < 600) await sleep(200);
    const compactionS = await drainCompaction(harness, 600_000);
    log(`data stored, compaction drained in ${compactionS} s`);
    const health = await healthLatencies(base, args.health);
    const pids: Record<string, number | undefined> = {
      herodotus: harness.service?.pid,
      kafka: harness.infra.kafka?.pid,
      temporal: harness.infra.temporal?.pid,
    };
    const before = Object.entries(pids).map(([n, pid]) => [n, pid ? readProcess(pid, true) : undefined] as const);
    const bench0 = process.cpuUsage();
    const threads0 = pids.herodotus ? readThreads(pids.herodotus) : undefined;
    await profile();
    const t0 = performance.now();
    await sleep(args.seconds * 1000);
    const seconds = (performance.now() - t0) / 1000;
    const threads = threadCoresBetween(threads0, pids.herodotus ? readThreads(pids.herodotus) : undefined, (performance.now() - t0) / 1000);
    const idleProfile = await profile();
    const idle: Record<string, number | null> = Object.fromEntries(
      before.map(([n, r]) => [n, coresBetween(r, pids[n] ? readProcess(pids[n], true) : undefined, seconds)]),
    );
    const benchCpu = process.cpuUsage(bench0);
    idle.bench = Number(((benchCpu.user + benchCpu.system) / 1e6 / seconds).toFixed(4));
    log(`idle cores: ${JSON.stringify(idle)}`);
    const visible: number[] = [];
    for (let i = 0; i < args.visibility; i++) {
      await sleep(IDLE_BEFORE_WRITE_MS);
      visible.push(await visibility(base, start + 60_000 + i));
      log(`  point visible ${visible.at(-1)} ms after its 202`);
    }
    visible.sort((a, b) => a - b);
    const result = {
      bench: 'floors',
      machine: { cores: os.cpus().length, mem_gb: Math.round(os.totalmem() / 2 ** 30), node: process.version, load_1m: os.loadavg()[0] },
      compaction_wait_s: compactionS,
      health: { requests: health.length, p50_ms: at(health, 0.5), p99_ms: at(health, 0.99) },
      idle: { seconds: Math.round(seconds), cpu_cores: idle, herodotus_threads: threads },
      visibility_after_idle_ms: { samples: visible, max: visible.at(-1) ?? null },
      profile: idleProfile,
      target: 'GET /v1/health p50 <= 0.5 ms; idle service <= 0.03 cores; a point written after idle visible in raw within ~2 s',
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return 0;
  } finally {
    await harness.stop();
    await stopAllChildren();
  }
}
