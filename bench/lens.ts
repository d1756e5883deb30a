import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { parseOptions } from '../lib/config/args';
import { loadConfig } from '../lib/config/config';
import { stopAllChildren } from '../harness/stack/child';
import { Harness } from '../harness/stack/harness';
import { drainCompaction } from '../harness/scenario/common';
import { LENS_BINARY_TYPE, readLensBinaryHeader } from '../lib/lens/lens-binary';
import type { LensResult } from '../lib/lens/query';
import { percentile } from '../harness/verify/latency';
import { backfillGenerated } from './backfill-generated';
import { coresBetween, readProcess } from './process-stats';

const HELP = `usage: herodotus bench-lens [--sensors 2] [--days 30] [--rate 1000] [--seconds 10] [--reuse] [--state DIR] [--accept binary|json] [--skip-naive]

Back-fills --days of --sensors at --rate Hz (server-side generation through a
backfill workflow), waits for compaction, then measures lens latency per preset
(10 s, 1 min, 1 h, 1 day, 30 days; all sensors, 2500 points) at 1, 10 and 100
concurrent clients for --seconds each, and the same lenses computed by a plain
GROUP BY over raw. The last line of stdout is one JSON object.
--reuse keeps the state dir of an earlier run (skips the backfill when its data is there).
--skip-naive leaves out the GROUP BY over raw.
--accept: lenses as the compact binary form (default; the client reads only its
header) or as JSON (the client parses every answer). Every run reports the
cores each process kept busy; the floors (GET /v1/health latency, idle CPU of
the service) are measured once compaction is done.`;

const schema = z.object({
  // 2 sensors × 30 days at 1 kHz is 5.2 G points: about an hour of back-fill on 2 cores.
  sensors: z.coerce.number().int().min(1).max(10).default(2),
  days: z.coerce.number().int().min(1).max(400).default(30),
  rate: z.coerce.number().int().min(1).max(1000).default(1000),
  seconds: z.coerce.number().min(1).max(600).default(10),
  reuse: z.boolean().default(false),
  state: z.string().optional(),
  accept: z.enum(['binary', 'json']).default('binary'),
  'skip-naive': z.boolean().default(false),
});

type LensOptions = z.infer<typeof schema>;

const PRESETS: Record<string, number> = { '10s': 10_000, '1min': 60_000, '1h': 3_600_000, '1d': 86_400_000, '30d': 30 * 86_400_000 };
const CONCURRENCY = [1, 10, 100];
const DAY = 86_400_000;
const NAIVE_TIMEOUT_MS = 600_000;

const log = (line: string) => process.stderr.write(`bench-lens: ${line}\n`);

/** What the load client reads of a lens: its plan only (the binary form's header; JSON is parsed whole). */
type LensPlanOnly = Pick<LensResult, 'plan'>;

async function getLens(url: string, accept: 'binary' | 'json' = 'json'): Promise<LensPlanOnly> {
  const res = await fetch(url, accept === 'binary' ? { headers: { accept: LENS_BINARY_TYPE } } : {});
  if (!res.ok) throw new Error(`${res.status} ${await res.text()}`);
  if (accept === 'json') return (await res.json()) as LensResult;
  return readLensBinaryHeader(new Uint8Array(await res.arrayBuffer())).header;
}

type Procs = () => Record<string, number | undefined>;

/** Cores each process kept busy while `work` ran (the service, Kafka, Temporal with their children; this client alone). */
async function withCpu<T>(procs: Procs, work: () => Promise<T>): Promise<T & { cpu_cores: Record<string, number | null> }> {
  const read = () => Object.fromEntries(Object.entries(procs()).map(([n, pid]) => [n, pid ? readProcess(pid, n !== 'bench') : undefined]));
  const before = read();
  const t0 = performance.now();
  const result = await work();
  const seconds = (performance.now() - t0) / 1000;
  const after = read();
  const cpu = Object.fromEntries(Object.keys(before).map((n) => [n, coresBetween(before[n], after[n], seconds)]));
  return { ...result, cpu_cores: cpu };
}

/** `clients` loops issuing random lenses of one preset for `seconds`; latencies in ms. */
async function load(base: string, query: (rand: number) => string, clients: number, seconds: number, accept: 'binary' | 'json') {
  const latencies: number[] = [];
  let errors = 0;
  let rowsRead = 0;
  const deadline = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        try {
          const l = await getLens(`${base}/v1/lens?${query(Math.random())}`, accept);
          rowsRead += l.plan.rows_read;
          latencies.push(performance.now() - t0);
        } catch {
          errors++;
        }
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  return {
    clients,
    requests: latencies.length,
    errors,
    requests_per_s: Number((latencies.length / seconds).toFixed(1)),
    p50_ms: percentile(latencies, 0.5),
    p99_ms: percentile(latencies, 0.99),
    rows_read_per_lens: Math.round(rowsRead / Math.max(1, latencies.length)),
  };
}

export async function benchLens(argv: string[]): Promise<number> {
  const args = parseOptions(
    argv,
    {
      sensors: { type: 'string' },
      days: { type: 'string' },
      rate: { type: 'string' },
      seconds: { type: 'string' },
      reuse: { type: 'boolean' },
      state: { type: 'string' },
      accept: { type: 'string' },
      'skip-naive': { type: 'boolean' },
    },
    schema,
    HELP,
  );
  const stateDir = args.state ?? path.join(loadConfig().stateDir, 'bench-lens');
  const sensors = Array.from({ length: args.sensors }, (_, i) => i + 1);
  const to = Date.UTC(2026, 0, 1);
  const from = to - args.days * DAY;
  log(`starting the stack in ${stateDir}${args.reuse ? ' (reusing its data)' : ''}…`);
  // The naive baseline scans raw: give it time the API's lens timeout would not.
  const harness = await Harness.start({
    stateDir,
    fresh: !args.reuse,
    freePorts: true,
    env: { HERODOTUS_LENS_TIMEOUT_MS: String(NAIVE_TIMEOUT_MS) },
  });
  const base = harness.api.baseUrl;
  try {
    const backfill = await ensureData(base, args, sensors, from, to);
    log('waiting for compaction…');
    const compactionSeconds = await drainCompaction(harness, 4 * 3_600_000);

    const procs: Procs = () => ({
      herodotus: harness.service?.pid,
      kafka: harness.infra.kafka?.pid,
      temporal: harness.infra.temporal?.pid,
      bench: process.pid,
    });
    const floors = await measureFloors(base, procs);
    log(`floors: ${JSON.stringify(floors)}`);
    const presets: Record<string, unknown> = {};
    for (const [name, span] of Object.entries(PRESETS)) {
      presets[name] = await measurePreset(base, name, span, {
        sensors,
        from,
        to,
        seconds: args.seconds,
        accept: args.accept,
        procs,
        skipNaive: args['skip-naive'],
      });
      log(`  ${name}: ${JSON.stringify(presets[name])}`);
    }
    const result = {
      machine: { cores: os.cpus().length, mem_gb: Math.round(os.totalmem() / 2 ** 30), node: process.version },
      data: { sensors: args.sensors, days: args.days, rate_hz: args.rate, points: backfill.points },
      backfill,
      compaction_wait_s: compactionSeconds,
      floors,
      // `rows_read`: what rows_read_per_lens counts (the engine's own statistics of rows scanned).
      lens: { points: 2500, sensors: args.sensors, seconds_per_run: args.seconds, rows_read: 'scanned', accept: args.accept, presets },
      target: 'p99 <= 50 ms for 10 sensors x 2500 points at 100 concurrent clients, flat across presets',
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return 0;
  } finally {
    await harness.stop();
    await stopAllChildren();
  }
}

/** The data of --days × --sensors × --rate: back-filled, or kept when an earlier run (--reuse) left all of it. */
async function ensureData(base: string, args: LensOptions, sensors: number[], from: number, to: number) {
  const have = (await (await fetch(`${base}/v1/sensors`)).json()) as { sensor: number; points: number }[];
  const expected = args.days * 86_400 * args.rate;
  const backfill = { points: expected * sensors.length, seconds: 0, points_per_s: 0, reused: false };
  if (sensors.every((s) => have.find((h) => h.sensor === s)?.points === expected)) {
    backfill.reused = true;
    log('data already there; skipping the backfill');
    return backfill;
  }
  log(`back-filling ${args.days} days × ${args.sensors} sensors × ${args.rate} Hz = ${(backfill.points / 1e9).toFixed(2)} G points…`);
  const t0 = performance.now();
  await backfillGenerated(base, { sensors, from, to, rate_hz: args.rate }, log);
  backfill.seconds = Number(((performance.now() - t0) / 1000).toFixed(1));
  backfill.points_per_s = Math.round(backfill.points / backfill.seconds);
  return backfill;
}

/** One preset: random lenses of its span at every concurrency, then the naive GROUP BY over raw. */
async function measurePreset(
  base: string,
  name: string,
  span: number,
  o: { sensors: number[]; from: number; to: number; seconds: number; accept: 'binary' | 'json'; procs: Procs; skipNaive: boolean },
) {
  const query = (r: number) => {
    const end = o.from + span + Math.floor(r * Math.max(0, o.to - o.from - span));
    return `sensors=${o.sensors.join(',')}&from=${end - span}&to=${end}&points=2500`;
  };
  const runs = [];
  for (const clients of CONCURRENCY) {
    log(`preset ${name}, ${clients} clients…`);
    runs.push(await withCpu(o.procs, () => load(base, query, clients, o.seconds, o.accept)));
  }
  const { naive, naiveError } = o.skipNaive ? { naive: [], naiveError: 'skipped (--skip-naive)' } : await naiveGroupBy(base, query, span);
  const lensP50 = runs[0]!.p50_ms;
  return {
    runs,
    raw_group_by_p50_ms: naive.length > 0 ? percentile(naive, 0.5) : null,
    raw_over_lens_p50: naive.length > 0 ? Number((percentile(naive, 0.5) / Math.max(0.1, lensP50)).toFixed(1)) : null,
    ...(naiveError ? { raw_group_by_error: naiveError } : {}),
  };
}

/** Latencies (ascending, ms) of the same lenses computed from raw, and the first error, which ends the sampling. */
async function naiveGroupBy(base: string, query: (rand: number) => string, span: number) {
  // The naive way: the same buckets by a GROUP BY over raw, one client; one
  // sample where that scans days of raw, three otherwise.
  const naive: number[] = [];
  let naiveError: string | null = null;
  for (let i = 0; i < (span >= DAY ? 1 : 3) && naiveError === null; i++) {
    const t0 = performance.now();
    try {
      await getLens(`${base}/v1/lens?${query(i / 3)}&source=raw`);
      naive.push(performance.now() - t0);
    } catch (err) {
      naiveError = (err as Error).message.slice(0, 200);
    }
  }
  naive.sort((a, b) => a - b);
  return { naive, naiveError };
}

/** GET /v1/health one request at a time (p50 over 500), then the service's CPU over 10 s with nothing arriving. */
async function measureFloors(base: string, procs: Procs) {
  const health: number[] = [];
  for (let i = 0; i < 500; i++) {
    const t0 = performance.now();
    await (await fetch(`${base}/v1/health`)).arrayBuffer();
    health.push(performance.now() - t0);
  }
  health.sort((a, b) => a - b);
  const idle = await withCpu(procs, async () => {
    await new Promise((r) => setTimeout(r, 10_000));
    return {};
  });
  return { health_p50_ms: percentile(health, 0.5), health_p99_ms: percentile(health, 0.99), idle_cpu_cores: idle.cpu_cores };
}
