import { setTimeout as sleep } from 'node:timers/promises';
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
 * At the end the stored points are checked against the generator's manifests:
 * /v1/audit (a full scan of raw: every point once, checksums equal) for
 * small runs, the per-sensor counts of the sensor-extent view for large ones.
 *
 * Here: the run from start to finish. The parts: ingest-options (command
 * line), ingest-steps (driving the stepped load), ingest-sampler and
 * ingest-cpu (/proc and status sampling, CPU and RSS over a stretch),
 * ingest-backlog (visible points, backlog, catch-up), ingest-timeline and
 * ingest-chunks (per-second series, the service's chunk log), ingest-verify,
 * ingest-profiler (--cpu-prof), ingest-result (the JSON document),
 * ingest-log (progress on stderr) and ingest-print (the outcome on stderr and
 * the report as the last line of stdout).
 */
import path from 'node:path';
import { loadConfig } from '../lib/config/config';
import { createLogger, type Logger } from '../lib/log/logger';
import { stopAllChildren } from '../harness/stack/child';
import { Harness } from '../harness/stack/harness';
import { waitCaughtUp } from './ingest-backlog';
import { summarize, waitIdle, type CpuSummary } from './ingest-cpu';
import { parseIngestOptions, RATE_HZ, type IngestOptions } from './ingest-options';
import { log } from './ingest-log';
import { printReport } from './ingest-print';
import { createProfiler, withProfilerHook } from './ingest-profiler';
import { ingestReport } from './ingest-result';
import { stackSampler, type Sampler } from './ingest-sampler';
import { runSteps } from './ingest-steps';
import { verifyStored } from './ingest-verify';
import { machineInfo } from './process-stats';

export async function benchIngest(argv: string[]): Promise<number> {
  const args = parseIngestOptions(argv);
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
  const tBoot = performance.now();
  const harness = await startStack(args, stateDir, profileDir, logger);
  const toggleProfiler = createProfiler(args['cpu-prof'], profileDir, () => harness.service?.pid);
  const t0 = performance.now();
  const sampler = stackSampler(harness, t0);
  try {
    log(
      `stack ready in ${((performance.now() - tBoot) / 1000).toFixed(1)} s; API ${harness.api.baseUrl}; ${harness.config.kafka.partitions} partitions`,
    );
    sampler.start();
    const idle = await measureIdle(harness, sampler, machine.cores);
    const { steps, expected } = await runSteps({ harness, sampler, toggleProfiler, args, rateHz: RATE_HZ, cores: machine.cores, t0 });
    const verified = await verifyStored(harness.api, sampler, expected, args.verify, machine.cores);
    const report = ingestReport({
      machine,
      args,
      config: harness.config,
      profileDir,
      idle,
      steps,
      statusErrors: sampler.statusErrors,
      verified,
    });
    printReport(report);
    return verified.ok === false ? 1 : 0;
  } finally {
    sampler.stop();
    log('stopping…');
    await harness.stop();
    await stopAllChildren();
  }
}

/** A fresh stack under stateDir, the service with the profiler hook when --cpu-prof. */
function startStack(args: IngestOptions, stateDir: string, profileDir: string, logger: Logger): Promise<Harness> {
  return withProfilerHook(args['cpu-prof'], profileDir, async () => {
    try {
      return await Harness.start({ stateDir, fresh: true, freePorts: true, log: logger });
    } catch (err) {
      await stopAllChildren(); // whatever did start (Kafka, Temporal) must not outlive us
      throw err;
    }
  });
}

/** What the idle stack and everything else on the machine cost, once start-up has settled. */
async function measureIdle(harness: Harness, sampler: Sampler, cores: number): Promise<CpuSummary> {
  // Let the start-up (workflow starts, migrations) settle before the first step,
  // and see what the idle stack and everything else on the machine cost.
  await waitCaughtUp(harness, 60);
  const idleFrom = sampler.tick().t;
  await sleep(5000);
  const idle = summarize(sampler.samples, idleFrom, sampler.tick().t, cores);
  log(`idle: machine ${idle.machine_cpu_cores} cores busy, of which ${idle.other_cpu_cores} outside the stack`);
  if ((idle.other_cpu_cores ?? 0) > 0.2) log('  warning: other work is using the machine; results will be lower than on an idle machine');
  return idle;
}
