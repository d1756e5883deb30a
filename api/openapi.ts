import { z } from 'zod';
import { seriesPaths } from './openapi-series';
import { backfillBodySchema, MAX_JSON_BODY_BYTES } from './routes/backfill';
import { BINARY_TYPES, ingestJsonBodySchema } from './routes/ingest';
import { lensQuerySchema, MAX_POINTS, rawQuerySchema } from './routes/lens';
import { auditQuerySchema } from './routes/ops';
import {
  AuditPage,
  BackfillStarted,
  BackfillState,
  ErrorResponse,
  Health,
  IngestAccepted,
  IngestStatus,
  LensResponse,
  RawResponse,
  Sensors,
} from './openapi-shapes';

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

const json = (schema: z.ZodType | Json) => ({
  'application/json': { schema: schema instanceof z.ZodType ? outputSchema(schema) : schema },
});
const ok = (description: string, schema: z.ZodType) => ({ description, content: json(schema) });
const err = (description: string) => ({ description, content: json({ $ref: '#/components/schemas/Error' }) });

const auth = { 401: err('Missing or wrong bearer token (when HERODOTUS_API_TOKENS is set)') };
/** The token scope an operation needs (OpenAPI 3.1 lets a bearer requirement list role names), and its 403. */
const scope = (name: 'read' | 'write' | 'admin') => ({ security: [{ bearer: [name] }] });
const forbidden = (what: string) => ({ 403: err(`The token lacks the scope ${what} needs (the message names it)`) });
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
        description:
          `Buckets are aligned to epoch; empty buckets are explicit (count 0, values null). At most ${MAX_POINTS} buckets. ` +
          'Buckets are built from the coarsest rollup level that tiles the step; a step that would read more than HERODOTUS_LENS_MAX_ROWS ' +
          'rows is refused (422) with the nearest steps that fit. Scope read; `source=raw` needs admin.',
        ...scope('read'),
        parameters: queryParameters(lensQuerySchema(opts.maxSensorId)),
        responses: {
          200: ok('The lens', LensResponse),
          400: err('A parameter is missing or invalid (the message names it)'),
          ...auth,
          ...forbidden('read (admin for source=raw)'),
          404: err('No data for a requested sensor'),
          422: err('step_too_costly (naming the nearest steps that fit) or raw_too_large (source=raw past HERODOTUS_RAW_LENS_MAX_ROWS)'),
          ...unavailable,
          504: err('The query ran longer than HERODOTUS_LENS_TIMEOUT_MS and was stopped'),
        },
      },
    },
    '/v1/raw': {
      get: {
        tags: ['lens'],
        summary: 'Raw points of one sensor, paginated',
        ...scope('read'),
        parameters: queryParameters(rawQuerySchema(opts.maxSensorId)),
        responses: {
          200: ok('One page', RawResponse),
          400: err('Invalid parameter'),
          ...auth,
          ...forbidden('read'),
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
        ...scope('read'),
        responses: { 200: ok('Sensors', Sensors), ...auth, ...forbidden('read'), ...unavailable },
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
        ...scope('write'),
        description: `Body at most ${opts.maxBodyBytes} bytes (HERODOTUS_MAX_BODY_BYTES). Binary bodies are frames of the batch format (docs/batch-format.md).`,
        parameters: [
          {
            name: 'on_conflict',
            in: 'query',
            required: false,
            description:
              'A point whose (sensor, ts) is stored with another value: keep (the stored value stays; the record goes to the dead-letter topic as conflicting_value, counted in herodotus_points_conflicting_total) or replace (a correction: the stored value is replaced and its rollups re-aggregated). Identical re-sends are deduplicated silently either way.',
            schema: { type: 'string', enum: ['keep', 'replace'], default: 'keep' },
          },
        ],
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
          ...forbidden('write'),
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
        ...scope('read'),
        responses: { 200: ok('Status', IngestStatus), ...auth, ...forbidden('read'), ...unavailable },
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
        ...scope('read'),
        responses: { 200: ok('Backlog', z.object({ backlog_windows: z.number().int() })), ...auth, ...forbidden('read'), ...unavailable },
      },
    },
    '/v1/storage/parts': {
      get: {
        tags: ['ops'],
        summary: 'Per table and shard: active parts, and parts written by inserts so far (from ClickHouse block numbers)',
        ...scope('read'),
        responses: {
          200: ok(
            'Parts',
            z.array(
              z.object({ shard: z.number().int(), table: z.string(), active_parts: z.number().int(), inserted_parts: z.number().int() }),
            ),
          ),
          ...auth,
          ...forbidden('read'),
          ...unavailable,
        },
      },
    },
    '/v1/audit': {
      get: {
        tags: ['ops'],
        summary: 'Scan of raw: per sensor points, distinct points and checksum (verification, not serving), in pages',
        description:
          'Pages of whole sensors holding at most HERODOTUS_AUDIT_MAX_ROWS raw rows; ask again with cursor=next until next is null. Scope admin.',
        ...scope('admin'),
        parameters: queryParameters(auditQuerySchema),
        responses: {
          200: ok('One page of the audit', AuditPage),
          400: err('Invalid cursor'),
          ...auth,
          ...forbidden('admin'),
          422: err('audit_too_large: one sensor alone holds more than HERODOTUS_AUDIT_MAX_ROWS rows'),
          ...unavailable,
          504: err('The scan ran longer than HERODOTUS_LENS_TIMEOUT_MS and was stopped'),
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
        description:
          `A JSON body is at most ${MAX_JSON_BODY_BYTES} bytes; an upload (text/csv or InfluxDB line protocol as text/plain) at most ${opts.maxUploadBytes} bytes (HERODOTUS_MAX_UPLOAD_BYTES), deleted when its backfill ends. ` +
          'Scope write; an import with a path (a file in HERODOTUS_IMPORT_DIR) and recompact need admin.',
        ...scope('write'),
        parameters: [
          {
            name: 'precision',
            in: 'query',
            required: false,
            description: 'Timestamp unit of an upload',
            schema: { type: 'string', enum: ['ns', 'us', 'ms', 's'], default: 'ns' },
          },
          {
            name: 'on_conflict',
            in: 'query',
            required: false,
            description:
              'An upload: a point whose (sensor, ts) is stored with another value keeps the stored one and counts as conflicting in the progress (keep), or replaces it as a correction (replace). JSON bodies take the on_conflict field.',
            schema: { type: 'string', enum: ['keep', 'replace'], default: 'keep' },
          },
          {
            name: 'Idempotency-Key',
            in: 'header',
            required: false,
            description: 'Names the backfill: a retry with the same key answers 202 with the same id and starts nothing',
            schema: { type: 'string', pattern: '^[\\x21-\\x7e]{1,255}$' },
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
          400: err('Invalid request; path_outside_import_dir or file_not_found for an import path'),
          ...auth,
          ...forbidden('write (admin for an import path or recompact)'),
          409: err('idempotency_key_reused: the key names a backfill started with another request'),
          413: err('Body too large'),
          415: err('Unsupported content type'),
          ...unavailable,
        },
      },
    },
    '/v1/backfill/{id}': {
      get: {
        tags: ['backfill'],
        summary: "A backfill's state and progress (rejected lines by number and reason; error when it failed)",
        ...scope('read'),
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^[0-9a-f]{8}([0-9a-f]{8})?$' } }],
        responses: {
          200: ok('State', BackfillState),
          400: err('Malformed id'),
          ...auth,
          ...forbidden('read'),
          404: err('Unknown backfill'),
          ...unavailable,
        },
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
        `(${opts.tokensRequired ? 'this server does' : 'this server has none and listens on loopback only'}), ` +
        'and a token with the scope the operation lists (read, write or admin; admin includes the others). ' +
        'Errors are JSON `{"error": {"code", "message", "field"}}` with a 4xx or 5xx status.',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    tags: [
      { name: 'lens', description: 'Reading: exact lenses and raw points' },
      { name: 'ingest', description: 'Writing: batches through Kafka' },
      { name: 'series', description: 'Series by name: the catalog, and InfluxDB-compatible line protocol writes' },
      { name: 'backfill', description: 'History: generate, import, recompact' },
      { name: 'ops', description: 'Health, status and metrics' },
    ],
    // In the order the docs page lists them.
    paths: {
      ...healthPaths(),
      ...readingPaths(opts),
      ...ingestPaths(opts),
      ...seriesPaths({ inputSchema, ok, err, scope, auth, forbidden }),
      ...storePaths(),
      ...backfillPaths(opts),
      ...pagePaths(),
    },
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description:
            'One of the tokens in HERODOTUS_API_TOKENS; the scopes (read, write, admin) follow its secret there: <secret>@read+write',
        },
      },
      schemas: { Error: outputSchema(ErrorResponse) },
    },
  };
}
