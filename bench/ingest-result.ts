/**
 * The JSON document bench-ingest prints on its last line (and that
 * bench/report.ts reads back from bench/results/): one entry per step, the
 * run's configuration, the idle stack, the highest sustained rate and the
 * verification.
 */
import type { Config } from '../lib/config/config';
import type { ProfileSummary } from './cpu-profile';
import { chunkStats } from './ingest-chunks';
import { summarize, type CpuSummary } from './ingest-cpu';
import { windowBacklog } from './ingest-backlog';
import { RATE_HZ, TARGET_POINTS_PER_S, type IngestOptions } from './ingest-options';
import { partsPerSecond, type PartsReading } from './ingest-parts';
import type { Sampler } from './ingest-sampler';
import { timeline } from './ingest-timeline';
import type { machineInfo } from './process-stats';
import { round } from './round';

/** What one step measured: t-like fields in ms since the bench started, *Epoch fields for the service's log. */
export interface StepMeasurement {
  offered: number;
  sensors: number;
  /** Points per second of each sensor: one record is one sensor-second of that many points. */
  rateHz: number;
  firstSensor: number;
  /** Points the generator published, and the wall time it took. */
  generated: number;
  generatorMs: number;
  from: number;
  genEnd: number;
  visibleAt: number;
  caughtUp: number;
  fromEpoch: number;
  genEndEpoch: number;
  caughtUpEpoch: number;
  /** Points visible at the end of the window, and after catch-up (null when it timed out). */
  visible: number;
  visibleAfter: number | null;
  /** Seconds ingest took to catch up after the window, null on timeout. */
  catchUp: number | null;
  profile: ProfileSummary | null;
  /** Parts of every table at the window's start and end. */
  parts: { before: PartsReading[]; after: PartsReading[] };
}

/** What every step is judged and summarized with. */
export interface StepContext {
  sampler: Sampler;
  cores: number;
  stepSeconds: number;
  maxBacklogS: number;
  /** The Herodotus process's log, for its 'chunk ingested' lines. */
  logFile: string | undefined;
}

export function stepResult(m: StepMeasurement, ctx: StepContext) {
  const { sampler, cores } = ctx;
  const windowS = (m.genEnd - m.from) / 1000;
  const backlogS = (m.generated - m.visible) / m.offered;
  // The generator itself must have kept pace, or the offered rate was not what it says.
  const generatorKeptPace = m.generatorMs / 1000 <= ctx.stepSeconds + 1.5;
  const sustained = generatorKeptPace && backlogS <= ctx.maxBacklogS && m.catchUp !== null;
  const backlog = windowBacklog(sampler.status, m.from, m.genEnd, m.sensors);
  const window = summarize(sampler.samples, m.from, m.genEnd, cores);
  const catchUpStats = summarize(sampler.samples, m.genEnd, m.caughtUp, cores);
  return {
    offered_points_per_s: m.offered,
    sensors: m.sensors,
    rate_hz: m.rateHz,
    first_sensor: m.firstSensor,
    window_s: round(windowS, 2),
    generated_points: m.generated,
    published_points_per_s: Math.round(m.generated / (m.generatorMs / 1000)),
    generator_kept_pace: generatorKeptPace,
    visible_points_at_window_end: m.visible,
    visible_measured_after_s: round((m.visibleAt - m.genEnd) / 1000, 2),
    achieved_points_per_s: Math.round(m.visible / windowS),
    steady_state_points_per_s: backlog.steady === null ? null : Math.round(backlog.steady),
    backlog_s_at_window_end: round(backlogS, 2),
    /** Largest backlog seen during the window (Kafka records not yet checkpointed), in seconds of offered data. */
    backlog_s_max_in_window: backlog.max === null ? null : round(backlog.max, 1),
    /** Seconds of backlog gained per second over the window's second half (0 = keeping up). */
    backlog_growth_s_per_s: backlog.growth === null ? null : round(backlog.growth, 3),
    sustained,
    catch_up_s: m.catchUp === null ? null : round(m.catchUp, 1),
    visible_points_after_catch_up: m.visibleAfter,
    machine_cpu_cores: window.machine_cpu_cores,
    other_cpu_cores: window.other_cpu_cores,
    processes: window.processes,
    herodotus_threads: window.herodotus_threads,
    /** New parts per second per table (and shard) over the window, from ClickHouse's block numbers. */
    parts: partsPerSecond(m.parts.before, m.parts.after, windowS),
    chunks: chunkStats(ctx.logFile, m.fromEpoch, m.genEndEpoch),
    catch_up_chunks: chunkStats(ctx.logFile, m.genEndEpoch, m.caughtUpEpoch),
    catch_up: {
      machine_cpu_cores: catchUpStats.machine_cpu_cores,
      other_cpu_cores: catchUpStats.other_cpu_cores,
      processes: catchUpStats.processes,
    },
    ...(m.profile ? { profile: m.profile } : {}),
    timeline: timeline(sampler.samples, sampler.status, m.from, m.caughtUp, cores, m.rateHz),
  };
}

export type StepResult = ReturnType<typeof stepResult>;

export interface RunSummary {
  machine: ReturnType<typeof machineInfo>;
  args: IngestOptions;
  config: Config;
  profileDir: string;
  idle: CpuSummary;
  steps: StepResult[];
  statusErrors: number;
  verified: Record<string, unknown>;
}

export function ingestReport(run: RunSummary) {
  const { args, config, idle, steps } = run;
  const sustainedSteps = steps.filter((s) => s.sustained);
  const maxSustained = sustainedSteps.length ? Math.max(...sustainedSteps.map((s) => s.offered_points_per_s)) : 0;
  return {
    benchmark: 'ingest-end-to-end',
    machine: run.machine,
    config: {
      step_seconds: args['step-seconds'],
      rate_hz: RATE_HZ,
      partitions: config.kafka.partitions,
      chunk_max_records: config.ingest.chunkMaxRecords,
      chunk_interval_ms: config.ingest.chunkIntervalMs,
      max_backlog_s: args['max-backlog-s'],
      cpu_prof: args['cpu-prof'] ? run.profileDir : null,
    },
    idle: { machine_cpu_cores: idle.machine_cpu_cores, other_cpu_cores: idle.other_cpu_cores, processes: idle.processes },
    steps,
    /** Highest offered rate that ingest kept up with (backlog at the end of the window within max_backlog_s). */
    max_sustained_points_per_s: maxSustained,
    /** Points visible at the window's end ÷ window at that step: short of the offered rate by the pipeline's latency. */
    max_sustained_achieved_points_per_s: sustainedSteps.length ? Math.max(...sustainedSteps.map((s) => s.achieved_points_per_s)) : 0,
    target_points_per_s: TARGET_POINTS_PER_S,
    target_met: maxSustained >= TARGET_POINTS_PER_S,
    status_sample_errors: run.statusErrors,
    verified: run.verified,
  };
}

export type IngestReport = ReturnType<typeof ingestReport>;
