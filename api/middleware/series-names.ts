import { createMiddleware } from 'hono/factory';
import { CatalogUnavailable, type SeriesCatalog } from '../../lib/series/catalog';
import { apiError, sendError } from '../errors';

/**
 * Names in, ids out, at the edge of GET /v1/lens and GET /v1/raw, so that
 * the routes behind see ids only. A lens names series by repeated `series`
 * parameters (any name) or among its `sensors` (entries that are not all
 * digits: names without commas); raw takes one `series`. The request's URL
 * is rewritten to the ids before the route validates it. An unknown name
 * is a 404 naming it.
 */
export function seriesNames(catalog: SeriesCatalog, param: 'sensors' | 'sensor') {
  return createMiddleware(async (c, next) => {
    const url = new URL(c.req.url);
    const named = url.searchParams.getAll('series');
    const listed = param === 'sensors' ? (url.searchParams.get('sensors') ?? '').split(',').filter((s) => s.trim() !== '') : [];
    // Each group is resolved on its own so that an unknown name is reported in the parameter that gave it.
    const groups: [string[], string][] = [
      [listed.filter((s) => !/^\s*\d+\s*$/.test(s)), param],
      [named, 'series'],
    ];
    if (groups.every(([names]) => names.length === 0)) return next();
    const ids = new Map<string, number>();
    for (const [names, field] of groups) {
      if (names.length === 0) continue;
      let resolved: Awaited<ReturnType<SeriesCatalog['resolve']>>;
      try {
        resolved = await catalog.resolve(names);
      } catch (err) {
        if (err instanceof CatalogUnavailable) return sendError(c, apiError(503, 'clickhouse_unavailable', err.message));
        throw err;
      }
      if (!resolved.ok) return sendError(c, apiError(404, resolved.error.code, resolved.error.message, field));
      for (const [name, id] of resolved.value) ids.set(name, id);
    }
    const idOf = (s: string) => (/^\s*\d+\s*$/.test(s) ? s.trim() : String(ids.get(s)));
    url.searchParams.delete('series');
    url.searchParams.set(param, [...listed.map(idOf), ...named.map((n) => String(ids.get(n)))].join(','));
    c.req.raw = new Request(url, c.req.raw);
    return next();
  });
}
