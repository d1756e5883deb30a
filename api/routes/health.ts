import { Hono } from 'hono';
import type { Health } from '../../lib/telemetry/health';

type Checked = Awaited<ReturnType<Health['check']>>;

/**
 * GET /v1/health: 200 with each component's state once all are ready, 503
 * before. Health answers the same object until it probes again, so its JSON
 * is written once per object, not once per request.
 */
export function healthRoutes(health: Health) {
  let last: { checked: Checked; body: string } | null = null;
  return new Hono().get('/v1/health', async (c) => {
    const checked = await health.check();
    if (last?.checked !== checked) {
      last = { checked, body: JSON.stringify({ status: checked.ready ? 'ok' : 'unavailable', components: checked.components }) };
    }
    return c.body(last.body, checked.ready ? 200 : 503, { 'content-type': 'application/json' });
  });
}
