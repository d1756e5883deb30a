import { Hono } from 'hono';
import type { Logger } from '../log/logger';
import { apiError, sendError } from './errors';
import { backfillRoutes, type BackfillRouteDeps } from './routes/backfill';
import { healthRoutes } from './routes/health';
import { ingestRoutes, type IngestRouteDeps } from './routes/ingest';
import { lensRoutes, type LensRouteDeps } from './routes/lens';
import { opsRoutes, type OpsRouteDeps } from './routes/ops';
import type { Health } from '../service/health';

export interface AppDeps {
  health: Health;
  ingest: IngestRouteDeps;
  ops: OpsRouteDeps;
  lens: LensRouteDeps;
  backfill: BackfillRouteDeps;
  log: Logger;
}

export function createApp(deps: AppDeps) {
  const app = new Hono();
  app.route('/', healthRoutes(deps.health));
  app.route('/', ingestRoutes(deps.ingest));
  app.route('/', opsRoutes(deps.ops));
  app.route('/', lensRoutes(deps.lens));
  app.route('/', backfillRoutes(deps.backfill));
  app.notFound((c) => sendError(c, apiError(404, 'not_found', `no route for ${c.req.method} ${c.req.path}`)));
  app.onError((err, c) => {
    deps.log.error({ err: err.message, path: c.req.path }, 'request failed');
    return sendError(c, apiError(500, 'internal', 'internal error; see the server log'));
  });
  return app;
}
