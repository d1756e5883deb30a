import { Hono } from 'hono';
import type { Health } from '../../lib/telemetry/health';

/** GET /v1/health: 200 with each component's state once all are ready, 503 before. */
export function healthRoutes(health: Health) {
  return new Hono().get('/v1/health', async (c) => {
    const { ready, components } = await health.check();
    return c.json({ status: ready ? 'ok' : 'unavailable', components }, ready ? 200 : 503);
  });
}
