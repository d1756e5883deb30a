import { type Context, Hono } from 'hono';
import { z } from 'zod';
import { CatalogUnavailable, type SeriesCatalog } from '../../lib/series/catalog';
import { INTERPOLATIONS, VALUE_TYPES, type SeriesMeta, type SeriesView } from '../../lib/series/meta';
import { apiError, sendError } from '../errors';
import { needs } from '../middleware/scope';

export interface SeriesRouteDeps {
  catalog: SeriesCatalog;
}

export const MAX_SERIES_RESULTS = 1000;

/** The body of PUT /v1/series/{name}: fields left out keep their latest value. */
export const seriesPutSchema = z.strictObject({
  unit: z.string().max(64).optional(),
  description: z.string().max(4096).optional(),
  asset: z.string().max(512).optional().meta({ description: 'Asset path, e.g. plant1/line2/pump3' }),
  tags: z
    .record(z.string().min(1).max(256), z.string().max(1024))
    .optional()
    .meta({ description: 'key=value tags (replace the old ones)' }),
  value_type: z.enum(VALUE_TYPES).optional(),
  interpolation: z.enum(INTERPOLATIONS).optional(),
});

/** A series as JSON. */
export function seriesJson(v: SeriesView) {
  return {
    name: v.name,
    id: v.id,
    unit: v.unit,
    description: v.description,
    asset: v.asset,
    tags: v.tags,
    value_type: v.valueType,
    interpolation: v.interpolation,
    version: v.version,
    created: v.created,
  };
}

/** `k=v` tag filters from repeated `tag` parameters, or the malformed one. */
function tagFilters(c: Context): [string, string][] | string {
  const out: [string, string][] = [];
  for (const t of c.req.queries('tag') ?? []) {
    const i = t.indexOf('=');
    if (i <= 0) return t;
    out.push([t.slice(0, i), t.slice(i + 1)]);
  }
  return out;
}

const unavailable = (c: Context, err: unknown) => {
  if (err instanceof CatalogUnavailable) return sendError(c, apiError(503, 'clickhouse_unavailable', err.message));
  throw err;
};

/** GET /v1/series (search), GET and PUT /v1/series/{name} (a name is a path: its slashes are part of the route). */
export function seriesRoutes(deps: SeriesRouteDeps) {
  return new Hono()
    .get('/v1/series', needs('read'), async (c) => {
      const tags = tagFilters(c);
      if (typeof tags === 'string')
        return sendError(c, apiError(400, 'invalid_parameter', `tag: expected key=value, got ${JSON.stringify(tags)}`, 'tag'));
      const limitText = c.req.query('limit') ?? String(MAX_SERIES_RESULTS);
      const limit = /^\d+$/.test(limitText) ? Number(limitText) : Number.NaN;
      if (!(limit >= 1 && limit <= MAX_SERIES_RESULTS))
        return sendError(c, apiError(400, 'invalid_parameter', `limit: a whole number from 1 to ${MAX_SERIES_RESULTS}`, 'limit'));
      const query = { prefix: c.req.query('prefix'), asset: c.req.query('asset'), q: c.req.query('q'), tags };
      try {
        return c.json({ series: (await deps.catalog.search(query, limit)).map(seriesJson) });
      } catch (err) {
        return unavailable(c, err);
      }
    })
    .get('/v1/series/:name{.+}', needs('read'), async (c) => {
      const name = c.req.param('name');
      try {
        const found = await deps.catalog.get(name);
        if (!found) return sendError(c, apiError(404, 'unknown_series', `no series named ${JSON.stringify(name)}`, 'name'));
        return c.json({ ...seriesJson(found.series), versions: found.versions.map(seriesJson) });
      } catch (err) {
        return unavailable(c, err);
      }
    })
    .put('/v1/series/:name{.+}', needs('write'), async (c) => {
      const name = c.req.param('name');
      let body: unknown;
      try {
        body = await c.req.json();
      } catch {
        return sendError(c, apiError(400, 'invalid_json', 'the body must be a JSON object', 'body'));
      }
      const parsed = seriesPutSchema.safeParse(body);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        const field = issue.path.join('.') || 'body';
        return sendError(c, apiError(400, 'invalid_series', `${field}: ${issue.message}`, field));
      }
      const { value_type, ...rest } = parsed.data;
      const change: Partial<SeriesMeta> = { ...rest, ...(value_type ? { valueType: value_type } : {}) };
      try {
        const put = await deps.catalog.put(name, change);
        if (!put.ok)
          return sendError(c, apiError(put.error.code === 'series_id_collision' ? 409 : 400, put.error.code, put.error.message, 'name'));
        return c.json(seriesJson(put.value.series), put.value.created ? 201 : 200);
      } catch (err) {
        return unavailable(c, err);
      }
    });
}
