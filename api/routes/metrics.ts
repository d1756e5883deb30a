import { Hono } from 'hono';
import type { Metrics, ScrapeSources } from '../../lib/telemetry/metrics';

export interface MetricsRouteDeps {
  metrics: Metrics;
  sources: ScrapeSources;
}

/**
 * GET /metrics: Prometheus text exposition. Outside /v1, so a scraper needs
 * no API token; it shows counts and lags, never sensor data.
 */
export function metricsRoutes(deps: MetricsRouteDeps) {
  return new Hono().get('/metrics', async (c) => {
    const text = await deps.metrics.render(deps.sources);
    return c.body(text, 200, { 'content-type': deps.metrics.contentType, 'cache-control': 'no-store' });
  });
}
