import { Hono } from 'hono';
import { validator } from 'hono/validator';
import { z } from 'zod';
import { rawPage, sensorExtents } from '../../lib/clickhouse/raw';
import { holdingSensors, isRowLimit } from '../../lib/clickhouse/errors';
import { bySensorShard, onEveryPart, onReachableShards, type Shards } from '../../lib/clickhouse/shards';
import { checkStep, type StepCost } from '../../lib/lens/planner';
import type { LedgerCache } from '../../lib/lens/ledger-cache';
import { encodeLensBinary, LENS_BINARY_TYPE } from '../../lib/lens/lens-binary';
import { runLens } from '../../lib/lens/query';
import { bucketCount, niceStep, type Ladder } from '../../lib/model/ladder';
import { DEFAULT_BATCH_LIMITS } from '../../lib/batch/types';
import { isNamedSeriesId, NAMED_SERIES_MAX } from '../../lib/model/series-name';
import { apiError, sendError, type ApiError } from '../errors';
import { jsonResponse } from '../signed-zero-json';
import { clickhouseOpen } from '../middleware/clickhouse-open';
import { needs, scopeRefusal } from '../middleware/scope';

export interface LensRouteDeps {
  /** The shards to run lens queries on; null while ClickHouse is not open. */
  shards(): Shards | null;
  ladder: Ladder;
  maxSensorId: number;
  /** Rows a planned lens may read because of its step (HERODOTUS_LENS_MAX_ROWS). */
  lensMaxRows: number;
  /** Rows a `source=raw` lens may read (HERODOTUS_RAW_LENS_MAX_ROWS). */
  rawLensMaxRows: number;
  /** Ledger state lenses plan from, held in this process (absent: read from ClickHouse for every lens). */
  ledgers?: LedgerCache;
}

export const MAX_POINTS = 10_000;
const MAX_STEP_MS = 366 * 86_400_000;
export const MAX_RAW_LIMIT = 1_000_000;

const { minTs, maxTs } = DEFAULT_BATCH_LIMITS;

/** Epoch milliseconds, or an ISO 8601 date-time with a zone. */
const instant = z.string().transform((s, ctx) => {
  const n = /^-?\d+$/.test(s) ? Number(s) : /^\d{4}-\d{2}-\d{2}T.*(Z|[+-]\d{2}:?\d{2})$/.test(s) ? Date.parse(s) : Number.NaN;
  if (!Number.isSafeInteger(n)) {
    ctx.addIssue({ code: 'custom', message: `expected epoch milliseconds or an ISO 8601 date-time with a zone, got ${JSON.stringify(s)}` });
    return z.NEVER;
  }
  if (n < minTs || n > maxTs) {
    ctx.addIssue({ code: 'custom', message: `must lie between ${new Date(minTs).toISOString()} and ${new Date(maxTs).toISOString()}` });
    return z.NEVER;
  }
  return n;
});

const intParam = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'expected a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

function sensorList(maxSensorId: number) {
  return z.string().transform((s, ctx) => {
    const parts = s.split(',').map((p) => p.trim());
    if (parts.length < 1 || parts.length > 10 || parts.some((p) => !/^\d+$/.test(p))) {
      ctx.addIssue({ code: 'custom', message: `expected 1 to 10 comma-separated sensor ids, got ${JSON.stringify(s)}` });
      return z.NEVER;
    }
    const ids = parts.map(Number);
    if (ids.some((id) => id > maxSensorId && !isNamedSeriesId(id))) {
      ctx.addIssue({ code: 'custom', message: `sensor ids go from 0 to ${maxSensorId} (named series: give their names)` });
      return z.NEVER;
    }
    if (new Set(ids).size !== ids.length) {
      ctx.addIssue({ code: 'custom', message: 'a sensor is listed twice' });
      return z.NEVER;
    }
    return ids;
  });
}

/** Turns the first zod issue into a 400 naming the parameter. */
function invalid(error: z.ZodError): ApiError {
  const issue = error.issues[0]!;
  const field = String(issue.path[0] ?? 'query');
  const message = issue.code === 'invalid_type' && issue.input === undefined ? `${field} is required` : `${field}: ${issue.message}`;
  return apiError(400, 'invalid_parameter', message, field);
}

/**
 * Parses the query string with `schema`, or answers 400 naming the parameter.
 * It runs before clickhouseOpen: a bad request is a 400 whether or not
 * ClickHouse is open.
 */
function validQuery<T extends z.ZodType>(schema: T) {
  // The query as c.req.query() reads it (one value per name), not the validator's own arrays for repeated names.
  return validator('query', (_value, c) => {
    const parsed = schema.safeParse(c.req.query());
    return parsed.success ? (parsed.data as z.output<T>) : sendError(c, invalid(parsed.error));
  });
}

/**
 * Sensors with data, refreshed at most every second: a lens does not pay a
 * query to learn that its sensors exist. A sensor not in the cached set is
 * looked up before it is called unknown.
 */
class KnownSensors {
  private known = new Set<number>();
  private loadedAt = 0;

  async unknown(shards: Shards, sensors: number[]): Promise<number[]> {
    if (sensors.every((s) => this.known.has(s))) return [];
    if (Date.now() - this.loadedAt > 1000) {
      // A shard that is down keeps its sensors known from before; its lenses answer 503 from the shard itself.
      const extents = await onReachableShards(shards, (store) => sensorExtents(store));
      for (const e of extents) for (const s of e.keys()) this.known.add(s);
      this.loadedAt = Date.now();
    }
    const missing = sensors.filter((s) => !this.known.has(s));
    if (missing.length === 0) return [];
    // One look-up per shard that holds a missing sensor.
    const extents = await onEveryPart(
      bySensorShard(shards, missing, (s) => s),
      (p) =>
        sensorExtents(p.store, p.items).catch((err: unknown) => {
          throw holdingSensors(err, p.items);
        }),
    );
    const found = new Set(extents.flatMap((e) => [...e.keys()]));
    for (const s of found) this.known.add(s);
    return missing.filter((s) => !found.has(s));
  }
}

/** Query parameters of GET /v1/lens (strings in, validated numbers out); exported for the OpenAPI document. */
export function lensQuerySchema(maxSensorId: number) {
  return z
    .strictObject({
      sensors: sensorList(maxSensorId).meta({ description: '1 to 10 comma-separated sensor ids', example: '1,2,3' }),
      from: instant.meta({
        description: 'Start (inclusive): epoch milliseconds or an ISO 8601 date-time with a zone',
        example: '2025-06-01T00:00:00Z',
      }),
      to: instant.meta({
        description: 'End (exclusive): epoch milliseconds or an ISO 8601 date-time with a zone',
        example: '2025-06-02T00:00:00Z',
      }),
      points: intParam(1, MAX_POINTS)
        .optional()
        .meta({
          description: `At most this many buckets (default 2500, at most ${MAX_POINTS}); the bucket width is the smallest 1-2-5 width that fits`,
        }),
      step: intParam(1, MAX_STEP_MS)
        .optional()
        .meta({ description: `Explicit bucket width in milliseconds instead of points (at most ${MAX_POINTS} buckets)` }),
      quality: z.enum(['good', 'any']).optional().meta({
        description: 'Which points avg, min and max cover: `good` (default) or `any` quality; counts, first and last cover every point',
      }),
      source: z.enum(['plan', 'raw']).optional().meta({
        description:
          '`raw` aggregates raw points instead of planning over rollups (verification; needs the admin scope, at most HERODOTUS_RAW_LENS_MAX_ROWS rows)',
      }),
    })
    .refine((q) => q.from < q.to, { message: 'from must be before to', path: ['to'] })
    .refine((q) => q.points === undefined || q.step === undefined, { message: 'give either points or step, not both', path: ['step'] })
    .refine((q) => q.step === undefined || bucketCount(q.from, q.to, q.step) <= MAX_POINTS, {
      message: `this step gives more than ${MAX_POINTS} buckets; use a larger step or a shorter range`,
      path: ['step'],
    });
}

/** Query parameters of GET /v1/raw; exported for the OpenAPI document. */
export function rawQuerySchema(maxSensorId: number) {
  return z
    .strictObject({
      sensor: intParam(0, NAMED_SERIES_MAX)
        .refine((id) => id <= maxSensorId || isNamedSeriesId(id), `sensor ids go from 0 to ${maxSensorId} (named series: give their names)`)
        .meta({ description: 'One sensor id (or `series`: a series name)', example: '1' }),
      from: instant.meta({ description: 'Start (inclusive): epoch milliseconds or an ISO 8601 date-time with a zone' }),
      to: instant.meta({ description: 'End (exclusive): epoch milliseconds or an ISO 8601 date-time with a zone' }),
      limit: intParam(1, MAX_RAW_LIMIT)
        .optional()
        .meta({ description: `Points per page (default 10000, at most ${MAX_RAW_LIMIT})` }),
      cursor: z
        .string()
        .regex(/^\d+$/, 'expected a cursor from a previous page')
        .transform(Number)
        .optional()
        .meta({ description: 'The `next` value of the previous page' }),
    })
    .refine((q) => q.from < q.to, { message: 'from must be before to', path: ['to'] })
    .refine((q) => q.cursor === undefined || (q.cursor >= q.from && q.cursor < q.to), {
      message: 'cursor does not belong to this range',
      path: ['cursor'],
    });
}

/** The 422 of a lens whose step would read more rows than a lens may. */
function stepTooCostly(cost: StepCost, nearest: number[], sensors: number, maxRows: number, field: 'step' | 'points'): ApiError {
  const how =
    cost.level === null
      ? `no rollup level tiles a ${cost.stepMs} ms bucket, so it reads raw points`
      : `a ${cost.stepMs} ms bucket is tiled by the ${cost.level} ms rollup level at the coarsest (${cost.stepMs / cost.level} rows a bucket)`;
  const next =
    nearest.length > 0
      ? `the nearest steps within it: ${nearest.map((s) => `${s} ms`).join(' or ')}`
      : 'ask for a shorter range or fewer sensors';
  return apiError(
    422,
    'step_too_costly',
    `${how}: up to ${cost.rows} rows for ${sensors} sensor${sensors > 1 ? 's' : ''}, more than the ${maxRows} a lens may read (HERODOTUS_LENS_MAX_ROWS); ${next}`,
    field,
  );
}

/** GET /v1/lens and GET /v1/raw. */
export function lensRoutes(deps: LensRouteDeps) {
  const sensors = new KnownSensors();
  const lensQuery = lensQuerySchema(deps.maxSensorId);
  const rawQuery = rawQuerySchema(deps.maxSensorId);
  const rawTooLarge = apiError(
    422,
    'raw_too_large',
    `source=raw would read more than ${deps.rawLensMaxRows} raw rows (HERODOTUS_RAW_LENS_MAX_ROWS); ask for a shorter range or fewer sensors`,
    'source',
  );

  return new Hono()
    .get(
      '/v1/lens',
      needs('read'),
      validQuery(lensQuery),
      async (c, next) => {
        // Checks that need no ClickHouse come before clickhouseOpen, like the 400s.
        const q = c.req.valid('query');
        if (q.source === 'raw') {
          const refusal = scopeRefusal(c, 'admin', 'source=raw');
          if (refusal) return sendError(c, refusal);
          return next();
        }
        const stepMs = q.step ?? niceStep(q.from, q.to, q.points ?? 2500);
        const limits = { maxRows: deps.lensMaxRows, maxBuckets: MAX_POINTS, maxStepMs: MAX_STEP_MS };
        const check = checkStep(deps.ladder, q.sensors.length, q, stepMs, limits);
        if (!check.ok)
          return sendError(c, stepTooCostly(check.cost, check.nearest, q.sensors.length, deps.lensMaxRows, q.step ? 'step' : 'points'));
        return next();
      },
      clickhouseOpen(deps.shards),
      async (c) => {
        const q = c.req.valid('query');
        const shards = c.var.shards;
        const missing = await sensors.unknown(shards, q.sensors);
        if (missing.length > 0)
          return sendError(
            c,
            apiError(404, 'unknown_sensor', `no data for sensor${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`, 'sensors'),
          );
        const stepMs = q.step ?? niceStep(q.from, q.to, q.points ?? 2500);
        const req = {
          sensors: q.sensors,
          from: q.from,
          to: q.to,
          stepMs,
          source: q.source,
          rawMaxRows: deps.rawLensMaxRows,
          quality: q.quality,
        };
        try {
          const lens = await runLens(shards, deps.ladder, req, deps.ledgers);
          if (c.req.header('accept')?.includes(LENS_BINARY_TYPE))
            return c.body(encodeLensBinary(lens) as Uint8Array<ArrayBuffer>, 200, { 'content-type': LENS_BINARY_TYPE });
          return jsonResponse(c, lens);
        } catch (err) {
          if (q.source === 'raw' && isRowLimit(err)) return sendError(c, rawTooLarge);
          throw err;
        }
      },
    )
    .get('/v1/raw', needs('read'), validQuery(rawQuery), clickhouseOpen(deps.shards), async (c) => {
      const q = c.req.valid('query');
      const shards = c.var.shards;
      if ((await sensors.unknown(shards, [q.sensor])).length > 0)
        return sendError(c, apiError(404, 'unknown_sensor', `no data for sensor ${q.sensor}`, 'sensor'));
      const limit = q.limit ?? 10_000;
      const page = await rawPage(shards.of(q.sensor), q.sensor, q.cursor ?? q.from, q.to, limit);
      return jsonResponse(c, {
        sensor: q.sensor,
        points: page.points,
        quality: page.quality,
        next: page.next === null ? null : String(page.next),
      });
    });
}
