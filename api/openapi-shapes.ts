import { z } from 'zod';

// Response shapes of the OpenAPI document, written for the documentation (the handlers build these objects in TypeScript).
const nullableNumbers = z.array(z.number().nullable());
export const LensResponse = z.object({
  from: z.number().int().meta({ description: 'Start of the bucket grid (aligned down to step_ms)' }),
  to: z.number().int().meta({ description: 'End of the bucket grid (aligned up to step_ms)' }),
  step_ms: z.number().int().meta({ description: 'Bucket width in milliseconds' }),
  quality: z.enum(['good', 'any']).meta({ description: 'The points avg, min and max cover (the quality parameter)' }),
  sensors: z.array(
    z.object({
      sensor: z.number().int(),
      t: z.array(z.number().int()).meta({ description: 'Bucket start times, epoch ms; every bucket of the grid, also empty ones' }),
      count: z.array(z.number().int()).meta({ description: 'Points in the bucket, whatever their quality (good + uncertain + bad)' }),
      good: z.array(z.number().int()).meta({ description: 'Good points in the bucket' }),
      uncertain: z.array(z.number().int()).meta({ description: 'Uncertain points in the bucket' }),
      bad: z.array(z.number().int()).meta({ description: 'Bad points in the bucket' }),
      avg: nullableNumbers.meta({
        description: 'Mean of the good points (quality=any: of every point); null where the bucket has none',
      }),
      min: nullableNumbers.meta({ description: 'Over the same points as avg' }),
      max: nullableNumbers.meta({ description: 'Over the same points as avg' }),
      first: nullableNumbers.meta({
        description: "Value of the bucket's first point, whatever its quality; null where the bucket is empty",
      }),
      last: nullableNumbers.meta({ description: "Value of the bucket's last point, whatever its quality" }),
    }),
  ),
  plan: z.object({
    level_ms: z.number().int().nullable().meta({ description: 'Rollup level the buckets were built from (null: raw only)' }),
    raw_windows: z.number().int().meta({ description: 'Hot or dirty windows read from raw points' }),
    rows_read: z.number().int().meta({ description: 'Rows ClickHouse read for this lens (ledger and data)' }),
    segments: z.number().int(),
  }),
});
export const RawResponse = z.object({
  sensor: z.number().int(),
  points: z.array(z.tuple([z.number().int(), z.number()])).meta({ description: '[epoch ms, value] in time order' }),
  quality: z.array(z.number().int().min(0).max(2)).meta({ description: 'Quality code of each point: 0 good, 1 uncertain, 2 bad' }),
  next: z.string().nullable().meta({ description: 'Cursor of the next page; null on the last page' }),
});
export const ErrorResponse = z.object({
  error: z.object({
    code: z.string().meta({ description: 'Stable machine-readable code, e.g. invalid_parameter, unauthorized, query_timeout' }),
    message: z.string().meta({ description: 'What went wrong, in plain words' }),
    field: z.string().optional().meta({ description: 'The parameter or body field at fault' }),
  }),
});
export const Health = z.object({ status: z.enum(['ok', 'unavailable']), components: z.record(z.string(), z.unknown()) });
export const IngestAccepted = z.object({ accepted: z.object({ batches: z.number().int(), points: z.number().int() }) });
export const IngestStatus = z.object({
  caught_up: z.boolean(),
  lag: z.number().int().nullable(),
  partitions: z.array(
    z.object({
      partition: z.number().int(),
      low: z.number().int(),
      high: z.number().int(),
      checkpoint: z.number().int().nullable(),
      lag: z.number().int().nullable(),
      totals: z.record(z.string(), z.unknown()).nullable(),
    }),
  ),
});
export const Sensors = z.array(
  z.object({ sensor: z.number().int(), first: z.number().int(), last: z.number().int(), points: z.number().int() }),
);
export const BackfillStarted = z.object({
  id: z.string(),
  workflow_id: z.string(),
  status: z.string().meta({ description: 'Where to poll its progress' }),
});
export const BackfillState = z.object({
  id: z.string(),
  state: z.string().meta({ description: 'running, completed, failed, …' }),
  progress: z.record(z.string(), z.unknown()),
});

export const AuditPage = z.object({
  sensors: z.array(
    z.object({ sensor: z.number().int(), points: z.number().int(), distinct_points: z.number().int(), checksum: z.number() }),
  ),
  next: z.number().int().nullable().meta({ description: 'The cursor of the next page (a sensor id); null on the last page' }),
});
