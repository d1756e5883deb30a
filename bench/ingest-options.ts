/**
 * The command line of bench-ingest: its help, its options and the fixed
 * shape of the offered load (1 kHz sensors, the 1 M points/s target).
 */
import { z } from 'zod';
import { parseOptions } from '../lib/config/args';

export const HELP = `usage: herodotus bench-ingest [--steps R1,R2,…] [--step-seconds S] [--json]

Starts a fresh embedded stack (Kafka, Temporal, Herodotus with chdb) under
<state dir>/bench-ingest and offers stepped loads of 1 kHz sensors in
realtime, each on its own sensor range for S seconds of wall time. Per step it
reports the points/s visible in ClickHouse at the end of the window, the
backlog left then, how long ingest took to catch up, CPU (cores) and RSS of
Kafka, Temporal, Herodotus and this process (which runs the generator), and a
per-second series. Finally it checks what is stored against the generator's
manifests (no point lost, none stored twice).
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
                           manifests at the end: audit (/v1/audit, a full scan
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

export const RATE_HZ = 1000;
export const TARGET_POINTS_PER_S = 1_000_000;

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

export type IngestOptions = z.infer<typeof schema>;

export function parseIngestOptions(argv: string[]): IngestOptions {
  return parseOptions(
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
}
