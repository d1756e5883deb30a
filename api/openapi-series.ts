import { z } from 'zod';
import { seriesPutSchema } from './routes/series';

type Json = Record<string, unknown>;

/** The document builders of openapi.ts, handed in (this file is a part of it). */
export interface OpenApiParts {
  inputSchema(schema: z.ZodType): Json;
  ok(description: string, schema: z.ZodType): Json;
  err(description: string): Json;
  scope(name: 'read' | 'write' | 'admin'): Json;
  auth: Json;
  forbidden(what: string): Json;
}

const Series = z.object({
  name: z.string().meta({ description: 'A path such as plant1/line2/pump3/discharge_pressure' }),
  id: z.number().int().meta({ description: 'The sensor id of its data: derived from the name (lens and raw take either)' }),
  unit: z.string(),
  description: z.string(),
  asset: z.string(),
  tags: z.record(z.string(), z.string()),
  value_type: z.enum(['float', 'integer', 'unsigned', 'boolean']),
  interpolation: z.enum(['linear', 'step']),
  version: z.number().int().meta({ description: 'Version of this metadata; every change appends one' }),
  created: z.number().int().meta({ description: 'Epoch ms of the first claim of the name' }),
});

const lineBody = {
  required: true,
  content: { 'text/plain': { schema: { type: 'string', description: 'InfluxDB line protocol; Content-Encoding: gzip accepted' } } },
};
const param = (name: string, required: boolean, description: string) => ({
  name,
  in: 'query',
  required,
  description,
  schema: { type: 'string' },
});
const precision = param('precision', false, 'ns (default), us, ms or s (also n, u)');

/** GET /v1/series, GET and PUT /v1/series/{name}, and the InfluxDB-compatible writes. */
export function seriesPaths(p: OpenApiParts): Json {
  const writeResponses = {
    204: { description: 'Every line written (on Kafka)' },
    400: p.err('Some lines or fields refused (`rejected`: line, field, reason), the rest written; or a bad parameter'),
    ...p.auth,
    ...p.forbidden('write'),
    413: p.err('Body too large (also once unpacked)'),
    503: p.err('Kafka or ClickHouse unavailable; retry'),
  };
  const name = {
    name: 'name',
    in: 'path',
    required: true,
    description: 'The series name (its slashes included)',
    schema: { type: 'string' },
  };
  return {
    '/v1/series': {
      get: {
        tags: ['series'],
        summary: 'Search series by name prefix, asset, tag and text',
        ...p.scope('read'),
        parameters: [
          param('prefix', false, 'Names starting with this'),
          param('asset', false, 'Asset paths starting with this'),
          param('tag', false, 'key=value; repeat for several (all must match)'),
          param('q', false, 'Text in name, description, unit or asset (any case)'),
          param('limit', false, 'At most this many (default and maximum 1000)'),
        ],
        responses: { 200: p.ok('Series by name', z.object({ series: z.array(Series) })), 400: p.err('Invalid parameter'), ...p.auth },
      },
    },
    '/v1/series/{name}': {
      get: {
        tags: ['series'],
        summary: 'A series: latest metadata and every version',
        ...p.scope('read'),
        parameters: [name],
        responses: { 200: p.ok('The series', Series.extend({ versions: z.array(Series) })), 404: p.err('No such series'), ...p.auth },
      },
      put: {
        tags: ['series'],
        summary: 'Create a series or append a version of its metadata',
        ...p.scope('write'),
        parameters: [name],
        requestBody: { required: true, content: { 'application/json': { schema: p.inputSchema(seriesPutSchema) } } },
        responses: {
          200: p.ok('A new version', Series),
          201: p.ok('Created', Series),
          400: p.err('Invalid name or body'),
          ...p.auth,
          ...p.forbidden('write'),
          409: p.err('series_id_collision: another name already holds the id this name hashes to'),
        },
      },
    },
    '/write': {
      post: {
        tags: ['series'],
        summary: 'InfluxDB 1.x write (line protocol)',
        ...p.scope('write'),
        parameters: [param('db', true, 'Required as by InfluxDB; series are one namespace here'), precision],
        requestBody: lineBody,
        responses: writeResponses,
      },
    },
    '/api/v2/write': {
      post: {
        tags: ['series'],
        summary: 'InfluxDB 2.x write (line protocol); `Authorization: Token …` or Bearer',
        ...p.scope('write'),
        parameters: [param('org', false, 'Accepted, not used'), param('bucket', true, 'Required as by InfluxDB; not used'), precision],
        requestBody: lineBody,
        responses: writeResponses,
      },
    },
  };
}
