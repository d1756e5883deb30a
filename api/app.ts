import { createHash, timingSafeEqual } from 'node:crypto';
import { Hono, type MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { matchedRoutes } from 'hono/route';
import { classifyClickHouseError } from '../lib/clickhouse/errors';
import type { ApiToken, Scope } from '../lib/config/tokens';
import type { Logger } from '../lib/log/logger';
import type { Health } from '../lib/telemetry/health';
import type { Metrics } from '../lib/telemetry/metrics';
import { apiError, sendError } from './errors';
import { needs, type ScopeEnv } from './middleware/scope';
import { backfillRoutes, type BackfillRouteDeps } from './routes/backfill';
import { docsRoutes, type DocsRouteDeps } from './routes/docs';
import { healthRoutes } from './routes/health';
import { seriesNames } from './middleware/series-names';
import { influxRoutes } from './routes/influx';
import { ingestRoutes, type IngestRouteDeps } from './routes/ingest';
import { lensRoutes, type LensRouteDeps } from './routes/lens';
import { metricsRoutes, type MetricsRouteDeps } from './routes/metrics';
import { opsRoutes, type OpsRouteDeps } from './routes/ops';
import { seriesRoutes, type SeriesRouteDeps } from './routes/series';
import { viewerRoutes, VIEWER_PATHS } from './routes/viewer';

export interface AppDeps {
  health: Health;
  ingest: IngestRouteDeps;
  ops: OpsRouteDeps;
  lens: LensRouteDeps;
  backfill: BackfillRouteDeps;
  /** The series catalog: names, metadata, search; InfluxDB-compatible writes resolve names through it. */
  series: SeriesRouteDeps;
  metrics: MetricsRouteDeps;
  docs: DocsRouteDeps;
  /** Bearer tokens and their scopes (HERODOTUS_API_TOKENS); empty: no authentication. */
  apiTokens: ApiToken[];
  /** The `max_execution_time` lens queries run with, for the message of a stopped query. */
  queryTimeoutMs: number;
  log: Logger;
}

/** Paths anyone may GET, with or without a token: health, the viewer's static files, the API description and metrics. */
function isPublic(method: string, path: string): boolean {
  if (path === '/v1/health') return true;
  if (method !== 'GET' && method !== 'HEAD') return false;
  return VIEWER_PATHS.has(path) || path.startsWith('/vendor/uplot/') || path === '/docs' || path === '/openapi.json' || path === '/metrics';
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Without tokens (loopback only) a request may do everything. */
const EVERY_SCOPE: readonly Scope[] = ['read', 'write', 'admin'];

/**
 * Bearer-token check for everything but the public paths (deny by default,
 * so that unknown paths answer 401 before 404). Tokens are compared through
 * their hashes in constant time, every configured token every time. The
 * matching token's scopes go to c.var.scopes for the routes to check.
 */
function bearerAuth(tokens: ApiToken[]): MiddlewareHandler<ScopeEnv> {
  const known = tokens.map((t) => ({ digest: digest(t.secret), scopes: t.scopes }));
  return async (c, next) => {
    if (known.length === 0) {
      c.set('scopes', EVERY_SCOPE);
      return next();
    }
    if (isPublic(c.req.method, c.req.path)) return next();
    c.header('WWW-Authenticate', 'Bearer realm="herodotus"');
    const header = c.req.header('authorization');
    if (!header) {
      return sendError(
        c,
        apiError(
          401,
          'unauthorized',
          "this API needs a token: send the header 'Authorization: Bearer <token>' with one of the tokens in HERODOTUS_API_TOKENS",
          'authorization',
        ),
      );
    }
    // `Token <token>` is how InfluxDB clients send theirs.
    const m = /^(?:Bearer|Token) +([\x21-\x7e]+) *$/i.exec(header);
    if (!m)
      return sendError(
        c,
        apiError(401, 'unauthorized', "the Authorization header must read 'Bearer <token>' or 'Token <token>'", 'authorization'),
      );
    const given = digest(m[1]!);
    let match: readonly Scope[] | null = null;
    for (const k of known) if (timingSafeEqual(k.digest, given)) match ??= k.scopes;
    if (!match)
      return sendError(c, apiError(401, 'invalid_token', 'the bearer token is not one of the tokens this server accepts', 'authorization'));
    c.set('scopes', match);
    return next();
  };
}

/** Counts every response by route pattern and status; times /v1/lens; adds a Server-Timing header. */
function observe(metrics: Metrics): MiddlewareHandler {
  return async (c, next) => {
    const t0 = performance.now();
    await next();
    const seconds = (performance.now() - t0) / 1000;
    const handler = matchedRoutes(c)
      .filter((r) => r.method !== 'ALL')
      .at(-1);
    metrics.httpResponse(c.req.method, handler?.path ?? 'unmatched', c.res.status, seconds);
    c.res.headers.set('Server-Timing', `app;dur=${(seconds * 1000).toFixed(1)}`);
  };
}

export function createApp(deps: AppDeps) {
  const app = new Hono();
  // Health first, ahead of every middleware: monitors and load balancers ask
  // often, and the answer is a cached object (no auth, no metrics, no I/O).
  app.route('/', healthRoutes(deps.health));
  app.use('*', observe(deps.metrics.metrics));
  app.use('*', bearerAuth(deps.apiTokens));
  app.route('/', viewerRoutes());
  app.route('/', docsRoutes(deps.docs));
  app.route('/', metricsRoutes(deps.metrics));
  app.route('/', ingestRoutes(deps.ingest));
  app.route('/', opsRoutes(deps.ops));
  // Series names become ids before the lens and raw routes validate their ids.
  app.use('/v1/lens', needs('read'), seriesNames(deps.series.catalog, 'sensors'));
  app.use('/v1/raw', needs('read'), seriesNames(deps.series.catalog, 'sensor'));
  app.route('/', lensRoutes(deps.lens));
  app.route('/', seriesRoutes(deps.series));
  app.route('/', influxRoutes({ ...deps.ingest, catalog: deps.series.catalog }));
  app.route('/', backfillRoutes(deps.backfill));
  app.notFound((c) => sendError(c, apiError(404, 'not_found', `no route for ${c.req.method} ${c.req.path}`)));
  app.onError((err, c) => {
    const kind = classifyClickHouseError(err);
    if (kind === 'timeout') {
      deps.log.warn({ path: c.req.path }, 'query stopped at its time limit');
      return sendError(
        c,
        apiError(
          504,
          'query_timeout',
          `the query ran longer than ${deps.queryTimeoutMs / 1000} s and was stopped (HERODOTUS_LENS_TIMEOUT_MS); ask for a shorter range, fewer sensors or fewer points`,
        ),
      );
    }
    if (kind === 'busy') {
      deps.log.warn({ err: err.message, path: c.req.path }, 'query refused by ClickHouse limits');
      return sendError(
        c,
        apiError(
          503,
          'clickhouse_busy',
          'ClickHouse refused the query for now (too many queries, or too much memory or data for one); retry shortly or ask for less',
        ),
      );
    }
    if (kind === 'unavailable') {
      deps.log.warn({ err: err.message, path: c.req.path }, 'ClickHouse unavailable');
      return sendError(c, apiError(503, 'clickhouse_unavailable', `${err.message}; retry when it is back`));
    }
    if (err instanceof HTTPException) return sendError(c, apiError(err.status as 400, 'http_error', err.message || 'request refused'));
    deps.log.error({ err: err.message, path: c.req.path }, 'request failed');
    return sendError(c, apiError(500, 'internal', 'internal error; see the server log'));
  });
  return app;
}
