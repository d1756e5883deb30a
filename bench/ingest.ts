/**
 * End-to-end ingest benchmark: generator → Kafka → Temporal ingest worker →
 * visible in ClickHouse, at stepped offered rates, with CPU and RSS of every
 * process of the stack.
 *
 * Each step publishes `sensors × 1 kHz` in realtime (the batch of second k is
 * published once second k has passed), so the offered rate is exact, for
 * --step-seconds of wall time, on a sensor-id range of its own. At the end of
 * the step's window the points visible in ClickHouse for that range (the
 * sensor-extent view, fed by raw's inserts) are counted: achieved = visible ÷
 * window, and what is not yet visible is the backlog, in seconds of offered
 * data. A step is sustained when that backlog is at most --max-backlog-s
 * (the pipeline's latency, not a growing queue); max_sustained_points_per_s
 * is the highest offered rate sustained. Then the bench waits until ingest
 * has caught up with Kafka (catch-up time) before the next step. Once a
 * second it samples /proc for CPU and RSS (per process, per thread of the
 * Herodotus process, and the machine, so that other work on a shared box
 * shows as other_cpu_cores) and /v1/ingest/status for the partitions'
 * checkpoints and inserted totals, which give the throughput-over-time series.
 *
 * At the end the stored points are checked against the generator's ledgers:
 * /v1/audit (a full scan of raw: every point once, checksums equal) for
 * small runs, the per-sensor counts of the sensor-extent view for large ones.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { parseOptions } from '../lib/config/args';
import { loadConfig, PROJECT_ROOT } from '../lib/config/config';
import { runGenerator } from '../generator/run';
import { createLogger } from '../lib/log/logger';
import { stopAllChildren } from '../harness/stack/child';
import { Harness } from '../harness/stack/harness';
import type { SensorAudit } from '../lib/clickhouse/raw';
import type { HerodotusApi } from '../harness/verify/api-client';
import { AUDIT_MAX_POINTS, checkExtents, checkStorage, type ExpectedSensor, type StorageCheck } from '../harness/verify/ledger-check';
import { summarizeProfile, type ProfileSummary } from './cpu-profile';
import {
  coresBetween,
  machineCoresBetween,
  machineInfo,
  readMachine,
  readProcess,
  readThreads,
  threadCoresBetween,
  type MachineReading,
  type ProcReading,
} from './process-stats';

const HELP = `usage: herodotus bench-ingest [--steps R1,R2,…] [--step-seconds S] [--json]

Starts a fresh embedded stack (Kafka, Temporal, Herodotus with chdb) under
<state dir>/bench-ingest and offers stepped loads of 1 kHz sensors in
realtime, each on its own sensor range for S seconds of wall time. Per step it
reports the points/s visible in ClickHouse at the end of the window, the
backlog left then, how long ingest took to catch up, CPU (cores) and RSS of
Kafka, Temporal, Herodotus and this process (which runs the generator), and a
per-second series. Finally it checks what is stored against the generator's
ledgers (no point lost, none stored twice).
Progress goes to stderr; the last line of stdout is the report as JSON.

  --steps R,…              offered points/s per step (multiples of 1000),
                           default 250000,500000,1000000,1500000
  --step-seconds S         wall time per step, default 60 (>= 60 for the record)
  --max-backlog-s B        a step is sustained if at most B s of data is
                           still invisible at the end of its window, default 3:
                           1 s is the generator's last second, published at
                           once as the window ends, 1 s the ingest chunk
                           interval, 1 s for reading and storing the chunk
  --catch-up-timeout-s T   give up waiting for catch-up after T s, default 300
  --verify MODE            how stored data is checked against the generator's
                           ledgers at the end: audit (/v1/audit, a full scan
                           of raw: points, distinct points and checksum per
                           sensor) | extents (points per sensor from the
                           sensor-extent view, which counts every row inserted
                           into raw: loss and duplicates, no checksums) | none
                           | auto (default: audit up to 50 M points, else extents)
  --wait-idle-s N          first wait up to N s for the machine to be idle
                           (other work skews the result), default 0
  --cpu-prof               profile the Herodotus process during each step's
                           window: V8 sampling profile of its main thread and
                           wall time of its embedded-ClickHouse queries by
                           kind (files in <state dir>/bench-ingest/profiles);
                           a summary goes into each step
  --json                   accepted for symmetry; the report is JSON anyway`;

const RATE_HZ = 1000;
const TARGET_POINTS_PER_S = 1_000_000;
const SAMPLE_MS = 1000;

const schema = z.object({
  json: z.boolean().default(true),
  steps: z
    .string()
    .default('250000,500000,1000000,1500000')
    .transform((s, ctx) => {
      const rates = s.split(',').map((x) => Number(x.trim()));
      if (rates.length === 0 || rates.some((r) => !Number.isSafeInteger(r) || r < RATE_HZ || r % RATE_HZ !== 0)) {
        ctx.addIssue({ code: 'custom', message: `expected a comma-separated list of positive multiples of ${RATE_HZ}` });
        return z.NEVER;
      }
      return rates;
    }),
  'step-seconds': z.coerce.number().int().min(5).max(3600).default(60),
  'max-backlog-s': z.coerce.number().min(0).default(3),
  'catch-up-timeout-s': z.coerce.number().int().min(10).default(300),
  verify: z.enum(['auto', 'audit', 'extents', 'none']).default('auto'),
  'wait-idle-s': z.coerce.number().int().min(0).default(0),
  'cpu-prof': z.boolean().default(false),
});

type ProcName = 'kafka' | 'temporal' | 'herodotus' | 'bench';
const PROCS: readonly ProcName[] = ['kafka', 'temporal', 'herodotus', 'bench'];

interface IngestStatusSample {
  /** Σ high watermarks: records published. */
  high: number;
  /** Σ checkpoints: records ingested. */
  checkpoint: number;
  /** Σ totals.inserted: points inserted into raw. */
  inserted: number;
}

interface Sample {
  /** ms since the bench started. */
  t: number;
  procs: Partial<Record<ProcName, ProcReading>>;
  machine: MachineReading;
  /** CPU seconds of the Herodotus process's threads, by thread name. */
  serviceThreads: Map<string, number> | undefined;
}

interface StatusSample extends IngestStatusSample {
  t: number;
}

interface StatusBody {
  caught_up: boolean;
  lag: number | null;
  partitions: { partition: number; high: number; checkpoint: number | null; totals: { inserted: number } | null }[];
}

const log = (line: string) => process.stderr.write(`bench: ${line}\n`);
const now = () => performance.now();
const round = (x: number, digits = 0) => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

/**
 * Once a second: /proc readings of every process (synchronous, on time) and,
 * without ever overlapping itself, /v1/ingest/status.
 */
class Sampler {
  readonly samples: Sample[] = [];
  readonly status: StatusSample[] = [];
  statusErrors = 0;
  private timer: NodeJS.Timeout | null = null;
  private statusBusy = false;

  constructor(
    private readonly pids: () => Partial<Record<ProcName, number>>,
    private readonly baseUrl: string,
    private readonly t0: number,
    private readonly headers: Record<string, string>,
  ) {}

  start(): void {
    this.tick();
    this.timer = setInterval(() => this.tick(), SAMPLE_MS);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** A reading now, outside the 1 s rhythm (step boundaries). */
  tick(): Sample {
    const procs: Sample['procs'] = {};
    for (const [name, pid] of Object.entries(this.pids()) as [ProcName, number | undefined][]) {
      if (pid === undefined) continue;
      // The bench's own children are the stack itself: count only this process.
      const r = readProcess(pid, name !== 'bench');
      if (r) procs[name] = r;
    }
    const service = this.pids().herodotus;
    const serviceThreads = service === undefined ? undefined : readThreads(service);
    const sample = { t: now() - this.t0, procs, machine: readMachine(), serviceThreads };
    this.samples.push(sample);
    if (!this.statusBusy) {
      this.statusBusy = true;
      void this.readStatus().finally(() => (this.statusBusy = false));
    }
    return sample;
  }

  private async readStatus(): Promise<void> {
    try {
      const res = await fetch(`${this.baseUrl}/v1/ingest/status`, { headers: this.headers, signal: AbortSignal.timeout(10_000) });
      if (!res.ok) throw new Error(`status ${res.status}`);
      const body = (await res.json()) as StatusBody;
      let high = 0;
      let checkpoint = 0;
      let inserted = 0;
      for (const p of body.partitions) {
        high += p.high;
        checkpoint += p.checkpoint ?? 0;
        inserted += p.totals?.inserted ?? 0;
      }
      this.status.push({ t: now() - this.t0, high, checkpoint, inserted });
    } catch {
      this.statusErrors++;
    }
  }
}

/** Points stored per sensor according to the sensor-extent view (cheap: one row per sensor). */
async function visiblePoints(api: HerodotusApi, first: number, count: number): Promise<number> {
  const sensors = await getJson<{ sensor: number; points: number }[]>(api, '/v1/sensors', 60_000);
  let points = 0;
  for (const s of sensors) if (s.sensor >= first && s.sensor < first + count) points += s.points;
  return points;
}

/** Waits until every partition's checkpoint is at its high watermark; seconds waited, or null on timeout. */
async function waitCaughtUp(harness: Harness, timeoutS: number): Promise<number | null> {
  const t = now();
  try {
    await harness.waitCaughtUp(timeoutS * 1000);
    return (now() - t) / 1000;
  } catch {
    return null;
  }
}

interface ProcessStats {
  cpu_cores: number | null;
  rss_mb_max: number | null;
}

/** Mean cores and max RSS per process, and machine cores, over the samples in [from, to]. */
function summarize(samples: Sample[], from: number, to: number, cores: number) {
  const inside = samples.filter((s) => s.t >= from && s.t <= to);
  const first = inside[0];
  const last = inside[inside.length - 1];
  const processes = {} as Record<ProcName, ProcessStats>;
  for (const name of PROCS) {
    const rss = inside.map((s) => s.procs[name]?.rssMb).filter((x): x is number => x !== undefined);
    const cpu = first && last ? coresBetween(first.procs[name], last.procs[name], (last.t - first.t) / 1000) : null;
    processes[name] = {
      cpu_cores: cpu === null ? null : round(cpu, 2),
      rss_mb_max: rss.length ? Math.round(Math.max(...rss)) : null,
    };
  }
  const machine = first && last ? machineCoresBetween(first.machine, last.machine, cores) : null;
  const ours = PROCS.reduce((n, p) => n + (processes[p].cpu_cores ?? 0), 0);
  return {
    processes,
    machine_cpu_cores: machine === null ? null : round(machine, 2),
    // Whatever else ran on the machine meanwhile (other work on a shared box distorts the result).
    other_cpu_cores: machine === null ? null : round(Math.max(0, machine - ours), 2),
    herodotus_threads: first && last ? threadCoresBetween(first.serviceThreads, last.serviceThreads, (last.t - first.t) / 1000) : {},
  };
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

/** One row per status sample in [from, to]: rates since the previous sample, CPU of each process over the same second. */
function timeline(samples: Sample[], status: StatusSample[], from: number, to: number, cores: number, rateHz: number) {
  const rows = [];
  const inside = status.filter((s) => s.t >= from && s.t <= to);
  let prev = [...status].reverse().find((s) => s.t < from);
  for (const s of inside) {
    const row: Record<string, number | null> = { t_s: round((s.t - from) / 1000, 1) };
    if (prev) {
      const dt = (s.t - prev.t) / 1000;
      row.inserted_points_per_s = Math.round((s.inserted - prev.inserted) / dt);
      // Inserts land a chunk at a time: the 5 s mean reads better than the spikes.
      const back = [...status].reverse().find((x) => x.t <= s.t - 5000);
      if (back) row.inserted_points_per_s_5s = Math.round(((s.inserted - back.inserted) / (s.t - back.t)) * 1000);
      row.published_points_per_s = Math.round(((s.high - prev.high) * rateHz) / dt);
    }
    // Every record the bench publishes is one sensor-second: rateHz points.
    row.backlog_points = (s.high - s.checkpoint) * rateHz;
    // CPU over the /proc samples bracketing this status sample (≈ the last second).
    const j = samples.findIndex((p) => p.t >= s.t);
    const a = samples[(j < 0 ? samples.length : j) - 2];
    const b = samples[(j < 0 ? samples.length : j) - 1];
    if (a && b) {
      const dt = (b.t - a.t) / 1000;
      for (const name of PROCS) {
        const c = coresBetween(a.procs[name], b.procs[name], dt);
        row[`${name}_cores`] = c === null ? null : round(c, 2);
      }
      const m = machineCoresBetween(a.machine, b.machine, cores);
      row.machine_cores = m === null ? null : round(m, 2);
      const ours = PROCS.reduce((n, p) => n + (row[`${p}_cores`] ?? 0), 0);
      row.other_cores = m === null ? null : round(Math.max(0, m - ours), 2);
    }
    rows.push(row);
    prev = s;
  }
  return rows;
}

/**
 * The ingest worker's 'chunk ingested' log lines in [fromMs, toMs] (epoch):
 * how big the chunks were, where their time went (readMs = Kafka read +
 * decode; insertMs = merge, dedup look-up, ledger and the ClickHouse insert)
 * and how often each partition completed one (the cycle also holds the
 * awaitRecords wait and the Temporal round trips between activities).
 */
function chunkStats(logFile: string | undefined, fromMs: number, toMs: number) {
  if (!logFile) return null;
  let text: string;
  try {
    text = fs.readFileSync(logFile, 'utf8');
  } catch {
    return null;
  }
  const chunks: { time: number; partition: number; records: number; points: number; readMs: number; insertMs: number }[] = [];
  for (const line of text.split('\n')) {
    if (!line.includes('"chunk ingested"')) continue;
    try {
      const c = JSON.parse(line) as (typeof chunks)[number];
      if (c.time >= fromMs && c.time <= toMs) chunks.push(c);
    } catch {
      // not a JSON line
    }
  }
  if (chunks.length === 0) return { count: 0 };
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
  const cycles: number[] = [];
  const last = new Map<number, number>();
  for (const c of chunks) {
    const prev = last.get(c.partition);
    if (prev !== undefined) cycles.push((c.time - prev) / 1000);
    last.set(c.partition, c.time);
  }
  const points = chunks.reduce((n, c) => n + c.points, 0);
  const insertS = chunks.reduce((n, c) => n + c.insertMs, 0) / 1000;
  const readS = chunks.reduce((n, c) => n + c.readMs, 0) / 1000;
  return {
    count: chunks.length,
    records_mean: Math.round(mean(chunks.map((c) => c.records))),
    records_max: Math.max(...chunks.map((c) => c.records)),
    read_ms_mean: Math.round(mean(chunks.map((c) => c.readMs))),
    insert_ms_mean: Math.round(mean(chunks.map((c) => c.insertMs))),
    insert_ms_max: Math.max(...chunks.map((c) => c.insertMs)),
    cycle_s_mean: round(mean(cycles), 2),
    /** Points per second of the store stage alone (summed over partitions, as if serial). */
    store_points_per_s: insertS > 0 ? Math.round(points / insertS) : null,
    read_points_per_s: readS > 0 ? Math.round(points / readS) : null,
  };
}

/** GET with a timeout of our choosing: fetch gives up on headers after 300 s, and an audit of raw can take longer. */
function getJson<T>(api: HerodotusApi, path: string, timeoutMs: number): Promise<T> {
  const url = `${api.baseUrl}${path}`;
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: api.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) reject(new Error(`GET ${url}: ${res.statusCode} ${body.slice(0, 500)}`));
        else resolve(JSON.parse(body) as T);
      });
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`GET ${url}: no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

async function verify(
  api: HerodotusApi,
  expected: Map<number, ExpectedSensor>,
  method: 'audit' | 'extents' | 'none',
): Promise<Record<string, unknown>> {
  if (method === 'none') return { method };
  if (method === 'audit') {
    log('verifying: full audit of raw against the generator ledgers…');
    try {
      const { sensors } = await getJson<{ sensors: SensorAudit[] }>(api, '/v1/audit', 30 * 60_000);
      return summary(method, checkStorage(expected, sensors));
    } catch (err) {
      log(`  audit failed (${(err as Error).message}); checking the sensor extents instead`);
    }
  }
  log('verifying: points per sensor (sensor extents) against the generator ledgers…');
  return summary('extents', checkExtents(expected, await getJson<{ sensor: number; points: number }[]>(api, '/v1/sensors', 5 * 60_000)));
}

function summary(method: 'audit' | 'extents', check: StorageCheck): Record<string, unknown> {
  return {
    method,
    ok: check.ok,
    generated: check.generated_points,
    stored: check.stored_points,
    lost: check.lost_points,
    duplicates: check.duplicate_points,
    unexpected: check.unexpected_points,
    mismatched_sensors: check.mismatched_sensors.length,
  };
}

/** Waits up to maxS for a 5 s stretch in which the machine is (nearly) idle; the busy cores last seen. */
async function waitIdle(maxS: number, cores: number): Promise<number | null> {
  const deadline = now() + maxS * 1000;
  let busy: number | null = null;
  while (now() < deadline) {
    const a = readMachine();
    await new Promise((r) => setTimeout(r, 5000));
    busy = machineCoresBetween(a, readMachine(), cores);
    if (busy !== null && busy < 0.25) return busy;
    log(`  machine busy (${busy?.toFixed(2)} cores); waiting for it to be idle…`);
  }
  return busy;
}

export async function benchIngest(argv: string[]): Promise<number> {
  const args = parseOptions(
    argv,
    {
      json: { type: 'boolean' },
      steps: { type: 'string' },
      'step-seconds': { type: 'string' },
      'max-backlog-s': { type: 'string' },
      'catch-up-timeout-s': { type: 'string' },
      verify: { type: 'string' },
      'wait-idle-s': { type: 'string' },
      'cpu-prof': { type: 'boolean' },
    },
    schema,
    HELP,
  );
  const stepSeconds = args['step-seconds'];
  const base = loadConfig();
  const logger = createLogger('bench', base.logLevel);
  const stateDir = path.join(base.stateDir, 'bench-ingest');
  const machine = machineInfo();
  const profileDir = path.join(stateDir, 'profiles');

  if (args['wait-idle-s'] > 0) {
    log(`waiting up to ${args['wait-idle-s']} s for an idle machine…`);
    await waitIdle(args['wait-idle-s'], machine.cores);
  }
  log(`starting Kafka, Temporal and Herodotus (fresh state in ${stateDir})…`);
  const tBoot = now();
  // The harness hands the service its configuration plus our own
  // environment, so the profiler hook travels through the latter (Node 20
  // refuses --cpu-prof in NODE_OPTIONS; --import is allowed).
  const saved = { NODE_OPTIONS: process.env.NODE_OPTIONS, HERODOTUS_BENCH_PROFILE_DIR: process.env.HERODOTUS_BENCH_PROFILE_DIR };
  if (args['cpu-prof']) {
    fs.rmSync(profileDir, { recursive: true, force: true });
    const hook = pathToFileURL(path.join(PROJECT_ROOT, 'bench', 'cpu-profile-hook.mjs')).href;
    process.env.NODE_OPTIONS = `${saved.NODE_OPTIONS ?? ''} --import ${hook}`.trim();
    process.env.HERODOTUS_BENCH_PROFILE_DIR = profileDir;
  }
  let harness: Harness;
  try {
    harness = await Harness.start({ stateDir, fresh: true, freePorts: true, log: logger });
  } catch (err) {
    await stopAllChildren(); // whatever did start (Kafka, Temporal) must not outlive us
    throw err;
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  let profiles = 0;
  /** Starts or stops (and then summarizes) the service's profiler: see cpu-profile-hook.mjs. */
  const toggleProfiler = async (): Promise<ProfileSummary | null> => {
    const pid = harness.service?.pid;
    if (!args['cpu-prof'] || pid === undefined) return null;
    process.kill(pid, 'SIGUSR2');
    if (profiles % 2 === 0) {
      profiles++;
      return null;
    }
    profiles++;
    const file = path.join(profileDir, `herodotus-${profiles / 2}.cpuprofile`);
    const deadline = now() + 30_000;
    while (!fs.existsSync(file) && now() < deadline) await new Promise((r) => setTimeout(r, 200));
    await new Promise((r) => setTimeout(r, 500)); // written synchronously, but let it finish
    try {
      const summary: ProfileSummary & { chdb?: unknown } = summarizeProfile(file);
      const chdbFile = file.replace(/\.cpuprofile$/, '.chdb.json');
      if (fs.existsSync(chdbFile)) {
        const chdb = JSON.parse(fs.readFileSync(chdbFile, 'utf8')) as { kinds: unknown[] };
        summary.chdb = { ...chdb, kinds: chdb.kinds.slice(0, 12) };
      }
      return summary;
    } catch (err) {
      log(`  no profile from the service (${(err as Error).message})`);
      return null;
    }
  };
  const t0 = now();
  const sampler = new Sampler(
    () => ({ kafka: harness.infra.kafka?.pid, temporal: harness.infra.temporal?.pid, herodotus: harness.service?.pid, bench: process.pid }),
    harness.api.baseUrl,
    t0,
    harness.api.headers,
  );
  try {
    log(
      `stack ready in ${((now() - tBoot) / 1000).toFixed(1)} s; API ${harness.api.baseUrl}; ${harness.config.kafka.partitions} partitions`,
    );
    sampler.start();
    // Let the start-up (workflow starts, migrations) settle before the first step,
    // and see what the idle stack and everything else on the machine cost.
    await waitCaughtUp(harness, 60);
    const idleFrom = sampler.tick().t;
    await new Promise((r) => setTimeout(r, 5000));
    const idle = summarize(sampler.samples, idleFrom, sampler.tick().t, machine.cores);
    log(`idle: machine ${idle.machine_cpu_cores} cores busy, of which ${idle.other_cpu_cores} outside the stack`);
    if ((idle.other_cpu_cores ?? 0) > 0.2) log('  warning: other work is using the machine; results will be lower than on an idle machine');

    const expected = new Map<number, ExpectedSensor>();
    const steps = [];
    let nextSensor = 1;
    for (const offered of args.steps) {
      const sensors = offered / RATE_HZ;
      const firstSensor = nextSensor;
      nextSensor += sensors;
      const startMs = Math.floor(Date.now() / 1000) * 1000;
      log(
        `step ${steps.length + 1}/${args.steps.length}: ${offered.toLocaleString('en')} points/s offered (${sensors} sensors ${firstSensor}–${firstSensor + sensors - 1} × ${RATE_HZ} Hz) for ${stepSeconds} s…`,
      );

      await toggleProfiler();
      const fromEpoch = Date.now();
      const from = sampler.tick().t;
      let lastReport = now();
      const gen = await runGenerator(harness.kafka, {
        topic: harness.config.kafka.topic,
        sensors,
        firstSensor,
        rateHz: RATE_HZ,
        durationS: stepSeconds,
        startMs,
        seed: 7,
        lateFraction: 0,
        maxLateMs: 0,
        dupFraction: 0,
        reorder: false,
        corruptFraction: 0,
        realtime: true,
        onProgress: (p) => {
          if (now() - lastReport < 9_500) return;
          lastReport = now();
          const st = sampler.status;
          const a = st[st.length - 6];
          const b = st[st.length - 1];
          const rate = a && b ? ((b.inserted - a.inserted) / (b.t - a.t)) * 1000 : NaN;
          const backlog = b ? ((b.high - b.checkpoint) * RATE_HZ) / offered : NaN;
          log(
            `  ${p.seconds}/${stepSeconds} s published; inserting ${Math.round(rate).toLocaleString('en')} points/s; backlog ${backlog.toFixed(1)} s of data`,
          );
        },
        onRetry: (err, attempt) => log(`  Kafka refused a request (attempt ${attempt}): ${err.message}`),
      });
      const genEnd = sampler.tick().t;
      const genEndEpoch = Date.now();
      const visible = await visiblePoints(harness.api, firstSensor, sensors);
      const visibleAt = now() - t0;
      const profile = await toggleProfiler();
      for (const [id, s] of Object.entries(gen.ledger.toJSON().sensors)) expected.set(Number(id), s);

      log(
        `  generation done; ${visible.toLocaleString('en')} of ${gen.ledger.totals.generated_points.toLocaleString('en')} points visible; waiting for catch-up…`,
      );
      const catchUp = await waitCaughtUp(harness, args['catch-up-timeout-s']);
      const caughtUp = sampler.tick().t;
      const caughtUpEpoch = Date.now();
      const visibleAfter = catchUp === null ? null : await visiblePoints(harness.api, firstSensor, sensors);

      const windowS = (genEnd - from) / 1000;
      const generated = gen.ledger.totals.generated_points;
      const backlogS = (generated - visible) / offered;
      // The generator itself must have kept pace, or the offered rate was not what it says.
      const generatorKeptPace = gen.elapsedMs / 1000 <= stepSeconds + 1.5;
      const sustained = generatorKeptPace && backlogS <= args['max-backlog-s'] && catchUp !== null;
      // Steady state: inserted rate over the second half of the window, free of the start-up ramp.
      const mid = from + (genEnd - from) / 2;
      const insMid = insertedAt(sampler.status, mid);
      const insEnd = insertedAt(sampler.status, genEnd);
      const steady = insMid !== null && insEnd !== null ? (insEnd - insMid) / ((genEnd - mid) / 1000) : null;
      const window = summarize(sampler.samples, from, genEnd, machine.cores);
      const inWindow = sampler.status.filter((x) => x.t >= from && x.t <= genEnd);
      const backlogs = inWindow.map((x) => ((x.high - x.checkpoint) * RATE_HZ) / offered);
      // Least-squares slope of the backlog over the window's second half: ~0 when
      // ingest keeps up (the backlog is latency), 1 - capacity/offered when not.
      const half = inWindow.filter((x) => x.t >= mid).map((x) => [x.t / 1000, ((x.high - x.checkpoint) * RATE_HZ) / offered] as const);
      const growth = slope(half);
      const catchUpStats = summarize(sampler.samples, genEnd, caughtUp, machine.cores);
      const step = {
        offered_points_per_s: offered,
        sensors,
        first_sensor: firstSensor,
        window_s: round(windowS, 2),
        generated_points: generated,
        published_points_per_s: Math.round(generated / (gen.elapsedMs / 1000)),
        generator_kept_pace: generatorKeptPace,
        visible_points_at_window_end: visible,
        visible_measured_after_s: round((visibleAt - genEnd) / 1000, 2),
        achieved_points_per_s: Math.round(visible / windowS),
        steady_state_points_per_s: steady === null ? null : Math.round(steady),
        backlog_s_at_window_end: round(backlogS, 2),
        /** Largest backlog seen during the window (Kafka records not yet checkpointed), in seconds of offered data. */
        backlog_s_max_in_window: backlogs.length ? round(Math.max(...backlogs), 1) : null,
        /** Seconds of backlog gained per second over the window's second half (0 = keeping up). */
        backlog_growth_s_per_s: growth === null ? null : round(growth, 3),
        sustained,
        catch_up_s: catchUp === null ? null : round(catchUp, 1),
        visible_points_after_catch_up: visibleAfter,
        machine_cpu_cores: window.machine_cpu_cores,
        other_cpu_cores: window.other_cpu_cores,
        processes: window.processes,
        herodotus_threads: window.herodotus_threads,
        chunks: chunkStats(harness.service?.logFile, fromEpoch, genEndEpoch),
        catch_up_chunks: chunkStats(harness.service?.logFile, genEndEpoch, caughtUpEpoch),
        catch_up: {
          machine_cpu_cores: catchUpStats.machine_cpu_cores,
          other_cpu_cores: catchUpStats.other_cpu_cores,
          processes: catchUpStats.processes,
        },
        ...(profile ? { profile } : {}),
        timeline: timeline(sampler.samples, sampler.status, from, caughtUp, machine.cores, RATE_HZ),
      };
      steps.push(step);
      const p = step.processes;
      log(
        `  → achieved ${step.achieved_points_per_s.toLocaleString('en')} points/s (steady ${step.steady_state_points_per_s?.toLocaleString('en')}), ` +
          `backlog ${step.backlog_s_at_window_end} s, catch-up ${step.catch_up_s ?? 'timed out'} s, ${sustained ? 'SUSTAINED' : 'NOT sustained'}; ` +
          `cores kafka ${p.kafka.cpu_cores} temporal ${p.temporal.cpu_cores} herodotus ${p.herodotus.cpu_cores} bench ${p.bench.cpu_cores} ` +
          `(machine ${step.machine_cpu_cores}, other ${step.other_cpu_cores}); herodotus threads ${JSON.stringify(step.herodotus_threads)}`,
      );
      if (catchUp === null) {
        log(`  ingest did not catch up within ${args['catch-up-timeout-s']} s; skipping the remaining steps`);
        break;
      }
      await new Promise((r) => setTimeout(r, 2000));
    }
    // Keep sampling through verification: its cost (a full scan of raw) is worth seeing too.
    const verifyFrom = sampler.tick().t;
    const generatedTotal = [...expected.values()].reduce((n, e) => n + e.points, 0);
    const method = args.verify === 'auto' ? (generatedTotal <= AUDIT_MAX_POINTS ? 'audit' : 'extents') : args.verify;
    const verified = await verify(harness.api, expected, method);
    const verifyTo = sampler.tick().t;
    sampler.stop();
    verified.seconds = round((verifyTo - verifyFrom) / 1000, 1);
    verified.herodotus_rss_mb_max = summarize(sampler.samples, verifyFrom, verifyTo, machine.cores).processes.herodotus.rss_mb_max;
    if (args.verify === 'auto' && method === 'extents') {
      verified.why = `${generatedTotal.toLocaleString('en')} points > ${AUDIT_MAX_POINTS.toLocaleString('en')}: a full audit of raw (GROUP BY sensor, ts) would take minutes; --verify audit forces it`;
    }

    const sustainedSteps = steps.filter((s) => s.sustained);
    const maxSustained = sustainedSteps.length ? Math.max(...sustainedSteps.map((s) => s.offered_points_per_s)) : 0;
    const report = {
      benchmark: 'ingest-end-to-end',
      machine,
      config: {
        step_seconds: stepSeconds,
        rate_hz: RATE_HZ,
        partitions: harness.config.kafka.partitions,
        chunk_max_records: harness.config.ingest.chunkMaxRecords,
        chunk_interval_ms: harness.config.ingest.chunkIntervalMs,
        max_backlog_s: args['max-backlog-s'],
        cpu_prof: args['cpu-prof'] ? profileDir : null,
      },
      idle: { machine_cpu_cores: idle.machine_cpu_cores, other_cpu_cores: idle.other_cpu_cores, processes: idle.processes },
      steps,
      /** Highest offered rate that ingest kept up with (backlog at the end of the window within max_backlog_s). */
      max_sustained_points_per_s: maxSustained,
      /** Points visible at the window's end ÷ window at that step: short of the offered rate by the pipeline's latency. */
      max_sustained_achieved_points_per_s: sustainedSteps.length ? Math.max(...sustainedSteps.map((s) => s.achieved_points_per_s)) : 0,
      target_points_per_s: TARGET_POINTS_PER_S,
      target_met: maxSustained >= TARGET_POINTS_PER_S,
      status_sample_errors: sampler.statusErrors,
      verified,
    };
    log(
      `max sustained ${maxSustained.toLocaleString('en')} points/s (target ${TARGET_POINTS_PER_S.toLocaleString('en')}): ${report.target_met ? 'met' : 'NOT met'}; ` +
        `verification ${JSON.stringify(verified)}`,
    );
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return verified.ok === false ? 1 : 0;
  } finally {
    sampler.stop();
    log('stopping…');
    await harness.stop();
    await stopAllChildren();
  }
}
