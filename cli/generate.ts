import { z } from 'zod';
import { kafkaBrokers, loadConfig } from '../lib/config/config';
import { createKafka } from '../lib/kafka/client';
import { createLogger } from '../lib/log/logger';
import { runGenerator, type GenerateProgress } from '../generator/run';
import { parseOptions } from '../lib/config/args';

const HELP = `usage: herodotus generate --sensors N --rate HZ --duration S [options]

Publishes one batch per sensor per second of deterministic 16-bit ADC signals
to Kafka (key = sensor), simulating an unreliable upstream.

  --sensors N            number of sensors (ids start at --first-sensor, default 1)
  --rate HZ              points per second per sensor; must divide 1000
  --duration S           seconds of data per sensor
  --start MS             epoch ms of the first point (default: now - duration, whole second)
  --seed N               signal and fault seed (default 1)
  --late-fraction F      fraction of batches published late (default 0)
  --max-late MS          latest a late batch may come, in ms of data (default 600000)
  --dup-fraction F       fraction of batches re-sent identically (default 0)
  --reorder              shuffle batches within the upstream's 3-4 s buffer
  --corrupt-fraction F   garbage records per batch (default 0)
  --manifest FILE        write the manifest (distinct points and checksum per sensor)
  --realtime             pace at the sensors' own rate (default: as fast as Kafka accepts)
  --json                 print the report as one JSON line

Kafka: KAFKA_BROKERS (default the local broker); topic HERODOTUS_TOPIC.`;

const fraction = z.coerce.number().min(0).max(1);
const schema = z.object({
  sensors: z.coerce.number().int().min(1).max(100_000),
  rate: z.coerce
    .number()
    .int()
    .min(1)
    .max(1000)
    .refine((r) => 1000 % r === 0, 'must divide 1000 (1, 2, 4, 5, 8, 10, …, 500, 1000)'),
  duration: z.coerce
    .number()
    .int()
    .min(1)
    .max(400 * 86_400),
  start: z.coerce
    .number()
    .int()
    .min(Date.UTC(2000, 0, 1))
    .optional(),
  seed: z.coerce
    .number()
    .int()
    .min(0)
    .max(2 ** 32 - 1)
    .default(1),
  'first-sensor': z.coerce.number().int().min(0).default(1),
  'late-fraction': fraction.default(0),
  'max-late': z.coerce.number().int().min(1000).default(600_000),
  'dup-fraction': fraction.default(0),
  reorder: z.boolean().default(false),
  'corrupt-fraction': fraction.default(0),
  manifest: z.string().optional(),
  realtime: z.boolean().default(false),
  json: z.boolean().default(false),
});

const OPTIONS = {
  sensors: { type: 'string' },
  rate: { type: 'string' },
  duration: { type: 'string' },
  start: { type: 'string' },
  seed: { type: 'string' },
  'first-sensor': { type: 'string' },
  'late-fraction': { type: 'string' },
  'max-late': { type: 'string' },
  'dup-fraction': { type: 'string' },
  reorder: { type: 'boolean' },
  'corrupt-fraction': { type: 'string' },
  manifest: { type: 'string' },
  realtime: { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

export type GenerateArgs = z.infer<typeof schema>;

export function parseGenerateArgs(argv: string[]): GenerateArgs {
  return parseOptions(argv, OPTIONS, schema, HELP);
}

function progressLine(p: GenerateProgress, duration: number): string {
  const mb = p.bytes / 1e6;
  const rate = p.elapsedMs > 0 ? (mb / p.elapsedMs) * 1000 : 0;
  return `generate: ${p.seconds}/${duration} s of data, ${p.records} records, ${mb.toFixed(1)} MB (${rate.toFixed(1)} MB/s)`;
}

export async function generate(argv: string[]): Promise<number> {
  const args = parseGenerateArgs(argv);
  const config = loadConfig();
  const log = createLogger('generate', config.logLevel);
  const kafka = createKafka(kafkaBrokers(config), 'herodotus-generator', log);
  const start = args.start ?? Math.floor(Date.now() / 1000) * 1000 - args.duration * 1000;
  const report = await runGenerator(kafka, {
    topic: config.kafka.topic,
    sensors: args.sensors,
    firstSensor: args['first-sensor'],
    rateHz: args.rate,
    durationS: args.duration,
    startMs: start,
    seed: args.seed,
    lateFraction: args['late-fraction'],
    maxLateMs: args['max-late'],
    dupFraction: args['dup-fraction'],
    reorder: args.reorder,
    corruptFraction: args['corrupt-fraction'],
    realtime: args.realtime,
    onProgress: (p) => process.stderr.write(`${progressLine(p, args.duration)}\n`),
    onRetry: (err, attempt) => process.stderr.write(`generate: Kafka refused a request (${err.message}); re-sending, attempt ${attempt}\n`),
  });
  if (args.manifest) await report.manifest.writeFile(args.manifest);
  const totals = report.manifest.totals;
  const summary = {
    start_ms: start,
    records: report.records,
    bytes: report.bytes,
    elapsed_s: Number((report.elapsedMs / 1000).toFixed(2)),
    points_per_s: Math.round(totals.generated_points / (report.elapsedMs / 1000)),
    ...totals,
  };
  if (args.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else {
    process.stdout.write(
      `published ${summary.records} records (${totals.generated_points} distinct points, ${totals.resent} re-sent, ${totals.late} late, ${totals.garbage} garbage) in ${summary.elapsed_s} s — ${summary.points_per_s} points/s\n`,
    );
    if (args.manifest) process.stdout.write(`manifest written to ${args.manifest}\n`);
  }
  return 0;
}
