import { setTimeout as sleep } from 'node:timers/promises';
/**
 * The stepped load of bench-ingest. Each step publishes `sensors × 1 kHz` in
 * realtime on a sensor range of its own for --step-seconds of wall time,
 * counts what is visible at the end of the window, waits for ingest to catch
 * up with Kafka, and becomes one entry of the report. A step that does not
 * catch up ends the run. bench-serve runs one such step (at its own rate, on
 * sensors that may hold earlier data) while its users query.
 */
import type { ExpectedSensor } from '../harness/verify/manifest-check';
import type { Harness } from '../harness/stack/harness';
import { runGenerator, type GenerateReport } from '../generator/run';
import type { ProfileSummary } from './cpu-profile';
import { backlogSeconds, visiblePoints, waitCaughtUp } from './ingest-backlog';
import type { IngestOptions } from './ingest-options';
import { log } from './ingest-log';
import { readParts } from './ingest-parts';
import { logStep } from './ingest-print';
import { stepResult, type StepResult } from './ingest-result';
import type { Sampler } from './ingest-sampler';

/** What driving the steps needs: the running stack, its sampler, the profiler's toggle, the options. */
export interface StepDriver {
  harness: Harness;
  sampler: Sampler;
  toggleProfiler: () => Promise<ProfileSummary | null>;
  args: Pick<IngestOptions, 'steps' | 'step-seconds' | 'max-backlog-s' | 'catch-up-timeout-s'>;
  /** Points per second of every sensor. */
  rateHz: number;
  cores: number;
  /** performance.now() at which the sampler's clock starts. */
  t0: number;
}

/** Every step of --steps in turn; the steps run and what the generator's manifests say was published. */
export async function runSteps(d: StepDriver): Promise<{ steps: StepResult[]; expected: Map<number, ExpectedSensor> }> {
  const expected = new Map<number, ExpectedSensor>();
  const steps: StepResult[] = [];
  let nextSensor = 1;
  for (const offered of d.args.steps) {
    const firstSensor = nextSensor;
    nextSensor += offered / d.rateHz;
    const step = await runStep(d, offered, firstSensor, steps.length + 1, expected);
    steps.push(step);
    logStep(step);
    if (step.catch_up_s === null) {
      log(`  ingest did not catch up within ${d.args['catch-up-timeout-s']} s; skipping the remaining steps`);
      break;
    }
    await sleep(2000);
  }
  return { steps, expected };
}

/** One step: `offered` points/s on sensors from firstSensor, published, counted at the window's end, caught up; its manifest into `expected`. */
export async function runStep(
  d: StepDriver,
  offered: number,
  firstSensor: number,
  index: number,
  expected: Map<number, ExpectedSensor>,
): Promise<StepResult> {
  const { harness, sampler, args } = d;
  const stepSeconds = args['step-seconds'];
  const sensors = offered / d.rateHz;
  const startMs = Math.floor(Date.now() / 1000) * 1000;
  log(
    `step ${index}/${args.steps.length}: ${offered.toLocaleString('en')} points/s offered (${sensors} sensors ${firstSensor}–${firstSensor + sensors - 1} × ${d.rateHz} Hz) for ${stepSeconds} s…`,
  );

  await d.toggleProfiler();
  const fromEpoch = Date.now();
  const from = sampler.tick().t;
  const partsBefore = await readParts(harness.api);
  // What the range held before (bench-serve's history and earlier runs) is not this step's.
  const earlier = await visiblePoints(harness.api, firstSensor, sensors);
  const gen = await publish(d, { offered, sensors, firstSensor, startMs });
  const genEnd = sampler.tick().t;
  const genEndEpoch = Date.now();
  const [visibleNow, partsAfter] = await Promise.all([visiblePoints(harness.api, firstSensor, sensors), readParts(harness.api)]);
  const visible = visibleNow - earlier;
  const visibleAt = performance.now() - d.t0;
  const profile = await d.toggleProfiler();
  for (const [id, s] of Object.entries(gen.manifest.toJSON().sensors)) expected.set(Number(id), s);

  log(
    `  generation done; ${visible.toLocaleString('en')} of ${gen.manifest.totals.generated_points.toLocaleString('en')} points visible; waiting for catch-up…`,
  );
  const catchUp = await waitCaughtUp(harness, args['catch-up-timeout-s']);
  const caughtUp = sampler.tick().t;
  const caughtUpEpoch = Date.now();
  const visibleAfter = catchUp === null ? null : (await visiblePoints(harness.api, firstSensor, sensors)) - earlier;
  return stepResult(
    {
      offered,
      sensors,
      rateHz: d.rateHz,
      firstSensor,
      generated: gen.manifest.totals.generated_points,
      generatorMs: gen.elapsedMs,
      from,
      genEnd,
      visibleAt,
      caughtUp,
      fromEpoch,
      genEndEpoch,
      caughtUpEpoch,
      visible,
      visibleAfter,
      catchUp,
      profile,
      parts: { before: partsBefore, after: partsAfter },
    },
    { sampler, cores: d.cores, stepSeconds, maxBacklogS: args['max-backlog-s'], logFile: harness.service?.logFile },
  );
}

/** The step's load, published in realtime (the batch of second k once second k has passed), with progress every ~10 s. */
function publish(d: StepDriver, step: { offered: number; sensors: number; firstSensor: number; startMs: number }): Promise<GenerateReport> {
  const { harness, sampler } = d;
  const stepSeconds = d.args['step-seconds'];
  let lastReport = performance.now();
  return runGenerator(harness.kafka, {
    topic: harness.config.kafka.topic,
    sensors: step.sensors,
    firstSensor: step.firstSensor,
    rateHz: d.rateHz,
    durationS: stepSeconds,
    startMs: step.startMs,
    seed: 7,
    lateFraction: 0,
    maxLateMs: 0,
    dupFraction: 0,
    reorder: false,
    corruptFraction: 0,
    realtime: true,
    onProgress: (p) => {
      if (performance.now() - lastReport < 9_500) return;
      lastReport = performance.now();
      const st = sampler.status;
      const a = st[st.length - 6];
      const b = st[st.length - 1];
      const rate = a && b ? ((b.inserted - a.inserted) / (b.t - a.t)) * 1000 : NaN;
      const backlog = b ? backlogSeconds(b, step.sensors) : NaN;
      log(
        `  ${p.seconds}/${stepSeconds} s published; inserting ${Math.round(rate).toLocaleString('en')} points/s; backlog ${backlog.toFixed(1)} s of data`,
      );
    },
    onRetry: (err, attempt) => log(`  Kafka refused a request (attempt ${attempt}): ${err.message}`),
  });
}
