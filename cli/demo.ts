import path from 'node:path';
import { z } from 'zod';
import { loadConfig } from '../lib/config/config';
import { runGenerator, type GenerateReport } from '../generator/run';
import { createLogger, type Logger } from '../lib/log/logger';
import { stopAllChildren } from '../harness/stack/child';
import { Harness } from '../harness/stack/harness';
import { checkRandomLenses, type LensCheckReport } from '../harness/verify/lens-check';
import { verifyAgainstManifest, type VerificationReport } from '../harness/verify/report';
import { summarizeLenses, summarizeStorage, type LensSummary, type StorageSummary } from '../harness/verify/summary';
import { parseOptions } from '../lib/config/args';

const HELP = `usage: herodotus demo [--json] [--sensors N] [--duration S]

Starts a fresh embedded stack (Kafka, Temporal, Herodotus with chdb) under
<state dir>/demo, generates a minute of 100 sensors at 1 kHz through an
unreliable upstream (1% late batches up to 10 min, 1% re-sent, 0.1% garbage),
waits for ingestion, verifies storage against the generator's manifest and the
dead-letter topic, and prints a report. Exit code 1 if anything is lost or
duplicated.

  --json         last line of stdout is the report as one JSON object
  --sensors N    default 100
  --duration S   seconds of data, default 60`;

const schema = z.object({
  json: z.boolean().default(false),
  sensors: z.coerce.number().int().min(1).max(10_000).default(100),
  duration: z.coerce.number().int().min(1).max(3600).default(60),
});

type DemoArgs = z.infer<typeof schema>;

const step = (line: string) => process.stderr.write(`demo: ${line}\n`);

export async function demo(argv: string[]): Promise<number> {
  const args = parseOptions(argv, { json: { type: 'boolean' }, sensors: { type: 'string' }, duration: { type: 'string' } }, schema, HELP);
  const base = loadConfig();
  const log = createLogger('demo', base.logLevel);
  const stateDir = path.join(base.stateDir, 'demo');
  step(`starting Kafka, Temporal and Herodotus (fresh state in ${stateDir})…`);
  const t0 = performance.now();
  const harness = await Harness.start({ stateDir, fresh: true, freePorts: true, log });
  try {
    step(`stack ready in ${((performance.now() - t0) / 1000).toFixed(1)} s; API ${harness.api.baseUrl}`);
    const run = await ingestAndCheck(harness, args, log);
    const report = demoReport(run);
    process.stdout.write(formatDemo(report, run, args));
    if (args.json) process.stdout.write(`${JSON.stringify(report)}\n`);
    return report.ok ? 0 : 1;
  } finally {
    step('stopping…');
    await harness.stop();
    await stopAllChildren();
  }
}

interface DemoRun {
  gen: GenerateReport;
  check: VerificationReport;
  lenses: LensCheckReport;
  /** From the first publish until ingestion caught up. */
  ingestSeconds: number;
}

/** Publishes the unreliable upstream, waits for ingestion, then checks storage and random lenses. */
async function ingestAndCheck(harness: Harness, args: DemoArgs, log: Logger): Promise<DemoRun> {
  const startMs = Math.floor(Date.now() / 1000) * 1000 - args.duration * 1000;
  step(`generating ${args.duration} s × ${args.sensors} sensors × 1 kHz with late, re-sent, reordered and garbage batches…`);
  const genStart = performance.now();
  const gen = await runGenerator(harness.kafka, {
    topic: harness.config.kafka.topic,
    sensors: args.sensors,
    rateHz: 1000,
    durationS: args.duration,
    startMs,
    seed: 42,
    lateFraction: 0.01,
    maxLateMs: 600_000,
    dupFraction: 0.01,
    reorder: true,
    corruptFraction: 0.001,
    realtime: false,
    onProgress: (p) => step(`  published ${p.seconds}/${args.duration} s of data (${(p.bytes / 1e6).toFixed(0)} MB)`),
  });
  step('waiting for ingestion to catch up with Kafka…');
  await harness.waitCaughtUp();
  const ingestSeconds = (performance.now() - genStart) / 1000;
  step('verifying storage against the manifest…');
  const check = await verifyAgainstManifest(harness.api, harness.kafka, harness.config.kafka.dlqTopic, gen.manifest, log);
  step('checking 200 random lenses (10 s, 1 min, 1 h, 1 day) against raw aggregates…');
  const sensorIds = Array.from({ length: args.sensors }, (_, i) => i + 1);
  const lenses = await checkRandomLenses(harness.api.baseUrl, {
    sensors: sensorIds,
    dataFrom: startMs,
    dataTo: startMs + args.duration * 1000,
    count: 200,
    seed: 7,
  });
  return { gen, check, lenses, ingestSeconds };
}

/** The `--json` line, in this key order. */
interface DemoReport extends StorageSummary, LensSummary {
  ok: boolean;
  dlq_records: number;
  garbage_records: number;
  resent_batches: number;
  late_batches: number;
  kafka_records: number;
  publish_seconds: number;
  ingest_seconds: number;
  ingest_points_per_s: number;
}

function demoReport({ gen, check, lenses, ingestSeconds }: DemoRun): DemoReport {
  const t = gen.manifest.totals;
  return {
    ok: check.ok && check.dlq_records === t.garbage && lenses.lens_mismatches === 0,
    ...summarizeStorage(check),
    dlq_records: check.dlq_records,
    garbage_records: t.garbage,
    resent_batches: t.resent,
    late_batches: t.late,
    kafka_records: gen.records,
    publish_seconds: Number((gen.elapsedMs / 1000).toFixed(2)),
    ingest_seconds: Number(ingestSeconds.toFixed(2)),
    ingest_points_per_s: Math.round(check.generated_points / ingestSeconds),
    ...summarizeLenses(lenses),
  };
}

function formatDemo(report: DemoReport, { gen, check, lenses }: DemoRun, args: DemoArgs): string {
  const t = gen.manifest.totals;
  return [
    '',
    'Herodotus demo — exactly-once ingestion through an unreliable upstream',
    `  generated   ${report.generated_points.toLocaleString('en')} distinct points (${args.sensors} sensors × ${args.duration} s × 1 kHz)`,
    `  upstream    ${report.kafka_records} Kafka records: ${t.late} late (≤ 10 min), ${t.resent} re-sent, ${t.garbage} garbage, reordered`,
    `  stored      ${report.stored_points.toLocaleString('en')} points`,
    `  lost        ${report.lost_points}`,
    `  duplicates  ${report.duplicate_points}`,
    `  checksums   ${report.mismatched_sensors === 0 ? `all ${args.sensors} sensors match the manifest` : `${report.mismatched_sensors} sensors differ`}`,
    `  dead letter ${report.dlq_records} records (${report.garbage_records} garbage sent) ${JSON.stringify(check.dlq_by_code)}`,
    `  throughput  ${report.ingest_points_per_s.toLocaleString('en')} points/s end to end (${report.ingest_seconds} s from first publish to stored)`,
    `  lenses      ${report.lens_checks} random lenses, ${report.lens_mismatches} differ from raw; p50 ${report.lens_p50_ms} ms, p99 ${report.lens_p99_ms} ms; ${report.rows_read_per_point} rows read per point`,
    ...lenses.examples.map((e) => `              ${e}`),
    report.ok ? '  result      OK' : '  result      FAILED',
    '',
  ].join('\n');
}
