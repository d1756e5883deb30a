import { z } from 'zod';
import { backfillBodySchema, MAX_JSON_BODY_BYTES } from './routes/backfill';
import { BINARY_TYPES, ingestJsonBodySchema } from './routes/ingest';
import { lensQuerySchema, MAX_POINTS, rawQuerySchema } from './routes/lens';

export interface OpenApiOptions {
  maxSensorId: number;
  maxBodyBytes: number;
  maxUploadBytes: number;
  /** Whether the server requires bearer tokens (documented either way). */
  tokensRequired: boolean;
}

type Json = Record<string, unknown>;

/** JSON Schema (2020-12, as OpenAPI 3.1 uses it) of what a client sends: the input side of zod's transforms. */
function inputSchema(schema: z.ZodType): Json {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Json;
  return rest;
}

/** JSON Schema of a response shape, without the `$schema` line (the document's dialect applies). */
function outputSchema(schema: z.ZodType): Json {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { unrepresentable: 'any' }) as Json;
  return rest;
}

/** OpenAPI query parameters from a zod object of query strings. */
function queryParameters(schema: z.ZodType): Json[] {
  const js = inputSchema(schema) as { properties?: Record<string, Json>; required?: string[] };
  return Object.entries(js.properties ?? {}).map(([name, prop]) => {
    const { description, example, ...rest } = prop;
    return {
      name,
      in: 'query',
      required: js.required?.includes(name) ?? false,
      ...(description ? { description } : {}),
      ...(example !== undefined ? { example } : {}),
      schema: rest,
    };
  });
}

// Response shapes, written for the documentation (the handlers build these objects in TypeScript).
const nullableNumbers = z.array(z.number().nullable());
const LensResponse = z.object({
  from: z.number().int().meta({ description: 'Start of the bucket grid (aligned down to step_ms)' }),
  to: z.number().int().meta({ description: 'End of the bucket grid (aligned up to step_ms)' }),
  step_ms: z.number().int().meta({ description: 'Bucket width in milliseconds' }),
  sensors: z.array(
    z.object({
      sensor: z.number().int(),
      t: z.array(z.number().int()).meta({ description: 'Bucket start times, epoch ms; every bucket of the grid, also empty ones' }),
      count: z.array(z.number().int()),
      avg: nullableNumbers.meta({ description: 'null where the bucket is empty' }),
      min: nullableNumbers,
      max: nullableNumbers,
      first: nullableNumbers,
      last: nullableNumbers,
    }),
  ),
  plan: z.object({
    level_ms: z.number().int().nullable().meta({ description: 'Rollup level the buckets were built from (null: raw only)' }),
    raw_windows: z.number().int().meta({ description: 'Hot or dirty windows read from raw points' }),
    rows_read: z.number().int().meta({ description: 'Rows ClickHouse read for this lens (ledger and data)' }),
    segments: z.number().int(),
  }),
});
const RawResponse = z.object({
  sensor: z.number().int(),
  points: z.array(z.tuple([z.number().int(), z.number()])).meta({ description: '[epoch ms, value] in time order' }),
  next: z.string().nullable().meta({ description: 'Cursor of the next page; null on the last page' }),
});
const ErrorResponse = z.object({
  error: z.object({
    code: z.string().meta({ description: 'Stable machine-readable code, e.g. invalid_parameter, unauthorized, query_timeout' }),
    message: z.string().meta({ description: 'What went wrong, in plain words' }),
    field: z.string().optional().meta({ description: 'The parameter or body field at fault' }),
  }),
});
const Health = z.object({ status: z.enum(['ok', 'unavailable']), components: z.record(z.string(), z.unknown()) });
const IngestAccepted = z.object({ accepted: z.object({ batches: z.number().int(), points: z.number().int() }) });
const IngestStatus = z.object({
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
const Sensors = z.array(z.object({ sensor: z.number().int(), first: z.number().int(), last: z.number().int(), points: z.number().int() }));
const BackfillStarted = z.object({
  id: z.string(),
  workflow_id: z.string(),
  status: z.string().meta({ description: 'Where to poll its progress' }),
});
const BackfillState = z.object({
  id: z.string(),
  state: z.string().meta({ description: 'running, completed, failed, …' }),
  progress: z.record(z.string(), z.unknown()),
});

const json = (schema: z.ZodType | Json) => ({
  'application/json': { schema: schema instanceof z.ZodType ? outputSchema(schema) : schema },
});
const ok = (description: string, schema: z.ZodType) => ({ description, content: json(schema) });
const err = (description: string) => ({ description, content: json({ $ref: '#/components/schemas/Error' }) });

const auth = { 401: err('Missing or wrong bearer token (when HERODOTUS_API_TOKENS is set)') };
const unavailable = { 503: err('A component (ClickHouse, Kafka, Temporal) is not ready or refused the request; retry shortly') };
const publicOp = { security: [] };

/** GET /v1/health, public. */
function healthPaths(): Json {
  return {
    '/v1/health': {
      get: {
        tags: ['ops'],
        summary: 'Readiness of every component',
        ...publicOp,
        responses: { 200: ok('All components ready', Health), 503: ok('Some component not ready', Health) },
      },
    },
  };
}

/** Reading: GET /v1/lens, /v1/raw and /v1/sensors. */
function readingPaths(opts: OpenApiOptions): Json {
  return {
    '/v1/lens': {
      get: {
        tags: ['lens'],
        summary: 'An exact lens: per-bucket count, avg, min, max, first, last of 1 to 10 sensors',
        description: `Buckets are aligned to epoch; empty buckets are explicit (count 0, values null). At most ${MAX_POINTS} buckets.`,
        parameters: queryParameters(lensQuerySchema(opts.maxSensorId)),
        responses: {
          200: ok('The lens', LensResponse),
          400: err('A parameter is missing or invalid (the message names it)'),
          ...auth,
          404: err('No data for a requested sensor'),
          ...unavailable,
          504: err('The query ran longer than HERODOTUS_LENS_TIMEOUT_MS and was stopped'),
        },
      },
    },
    '/v1/raw': {
      get: {
        tags: ['lens'],
        summary: 'Raw points of one sensor, paginated',
        parameters: queryParameters(rawQuerySchema(opts.maxSensorId)),
        responses: {
          200: ok('One page', RawResponse),
          400: err('Invalid parameter'),
          ...auth,
          404: err('No data for the sensor'),
          ...unavailable,
          504: err('Query stopped at its time limit'),
        },
      },
    },
    '/v1/sensors': {
      get: {
        tags: ['lens'],
        summary: 'Every sensor with data: first and last timestamp and point count',
        responses: { 200: ok('Sensors', Sensors), ...auth, ...unavailable },
      },
    },
  };
}

/** Writing: POST /v1/ingest, and how far ingest is. */
function ingestPaths(opts: OpenApiOptions): Json {
  return {
    '/v1/ingest': {
      post: {
        tags: ['ingest'],
        summary: 'Publish sensor batches to Kafka; 202 once Kafka has them',
        description: `Body at most ${opts.maxBodyBytes} bytes (HERODOTUS_MAX_BODY_BYTES). Binary bodies are frames of the batch format (docs/batch-format.md).`,
        requestBody: {
          required: true,
          content: {
            'application/json': { schema: inputSchema(ingestJsonBodySchema) },
            ...Object.fromEntries(
              BINARY_TYPES.map((t) => [t, { schema: { type: 'string', contentMediaType: 'application/octet-stream' } }]),
            ),
          },
        },
        responses: {
          202: ok('Accepted', IngestAccepted),
          400: err('A batch is invalid (the message and field say which and why)'),
          ...auth,
          413: err('Body too large'),
          415: err('Unsupported content type'),
          503: err('Kafka did not take the batches; retry'),
        },
      },
    },
    '/v1/ingest/status': {
      get: {
        tags: ['ingest'],
        summary: 'Ingest checkpoints and lag per Kafka partition',
        responses: { 200: ok('Status', IngestStatus), ...auth, ...unavailable },
      },
    },
  };
}

/** What is stored: the compaction backlog and the full audit. */
function storePaths(): Json {
  return {
    '/v1/compaction/status': {
      get: {
        tags: ['ops'],
        summary: 'Windows waiting for compaction',
        responses: { 200: ok('Backlog', z.object({ backlog_windows: z.number().int() })), ...auth, ...unavailable },
      },
    },
    '/v1/audit': {
      get: {
        tags: ['ops'],
        summary: 'Full scan of raw: per sensor points, distinct points and checksum (verification, not serving)',
        responses: {
          200: ok(
            'Audit',
            z.object({
              sensors: z.array(
                z.object({ sensor: z.number().int(), points: z.number().int(), distinct_points: z.number().int(), checksum: z.number() }),
              ),
            }),
          ),
          ...auth,
          ...unavailable,
        },
      },
    },
  };
}

/** Starting a backfill and following it. */
function backfillPaths(opts: OpenApiOptions): Json {
  return {
    '/v1/backfill': {
      post: {
        tags: ['backfill'],
        summary: 'Start a backfill workflow: generate, import (JSON naming a server file, or an upload), or recompact',
        description: `A JSON body is at most ${MAX_JSON_BODY_BYTES} bytes; an upload (text/csv or InfluxDB line protocol as text/plain) at most ${opts.maxUploadBytes} bytes (HERODOTUS_MAX_UPLOAD_BYTES).`,
        parameters: [
          {
            name: 'precision',
            in: 'query',
            required: false,
            description: 'Timestamp unit of an upload',
            schema: { type: 'string', enum: ['ns', 'us', 'ms', 's'], default: 'ns' },
          },
        ],
        requestBody: {
          required: true,
          content: {
            'application/json': { schema: inputSchema(backfillBodySchema(opts.maxSensorId)) },
            'text/csv': { schema: { type: 'string', description: 'Header ts,sensor,value then one point per line' } },
            'text/plain': { schema: { type: 'string', description: 'InfluxDB line protocol with a sensor tag and a value field' } },
          },
        },
        responses: {
          202: ok('Started', BackfillStarted),
          400: err('Invalid request'),
          ...auth,
          413: err('Body too large'),
          415: err('Unsupported content type'),
          ...unavailable,
        },
      },
    },
    '/v1/backfill/{id}': {
      get: {
        tags: ['backfill'],
        summary: "A backfill's state and progress",
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^[0-9a-f]{8}$' } }],
        responses: { 200: ok('State', BackfillState), 400: err('Malformed id'), ...auth, 404: err('Unknown backfill'), ...unavailable },
      },
    },
  };
}

/** The public pages: metrics, this document, its web page and the viewer. */
function pagePaths(): Json {
  return {
    '/metrics': {
      get: {
        tags: ['ops'],
        summary: 'Prometheus metrics (text exposition format)',
        ...publicOp,
        responses: { 200: { description: 'Metrics', content: { 'text/plain': { schema: { type: 'string' } } } } },
      },
    },
    '/openapi.json': {
      get: {
        tags: ['ops'],
        summary: 'This document',
        ...publicOp,
        responses: { 200: { description: 'OpenAPI 3.1', content: { 'application/json': { schema: { type: 'object' } } } } },
      },
    },
    '/docs': {
      get: {
        tags: ['ops'],
        summary: 'This document as a web page',
        ...publicOp,
        responses: { 200: { description: 'HTML', content: { 'text/html': { schema: { type: 'string' } } } } },
      },
    },
    '/': {
      get: {
        tags: ['lens'],
        summary: 'The web lens viewer',
        ...publicOp,
        responses: { 200: { description: 'HTML', content: { 'text/html': { schema: { type: 'string' } } } } },
      },
    },
  };
}

/** The whole HTTP API as an OpenAPI 3.1 document, generated from the same zod schemas the handlers validate with. */
export function openApiDocument(opts: OpenApiOptions): Json {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Herodotus',
      version: '0.1.0',
      summary: 'Time-series historian for industrial sensors: ingest, exact lenses, backfill',
      description:
        'Every /v1 route except /v1/health requires `Authorization: Bearer <token>` when the server has HERODOTUS_API_TOKENS ' +
        `(${opts.tokensRequired ? 'this server does' : 'this server has none and listens on loopback only'}). ` +
        'Errors are JSON `{"error": {"code", "message", "field"}}` with a 4xx or 5xx status.',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    tags: [
      { name: 'lens', description: 'Reading: exact lenses and raw points' },
      { name: 'ingest', description: 'Writing: batches through Kafka' },
      { name: 'backfill', description: 'History: generate, import, recompact' },
      { name: 'ops', description: 'Health, status and metrics' },
    ],
    // In the order the docs page lists them.
    paths: {
      ...healthPaths(),
      ...readingPaths(opts),
      ...ingestPaths(opts),
      ...storePaths(),
      ...backfillPaths(opts),
      ...pagePaths(),
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'One of the tokens in HERODOTUS_API_TOKENS' } },
      schemas: { Error: outputSchema(ErrorResponse) },
    },
  };
}
