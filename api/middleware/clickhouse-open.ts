import { createMiddleware } from 'hono/factory';
import type { Shards } from '../../lib/clickhouse/shards';
import { apiError, sendError } from '../errors';

/** What a route behind clickhouseOpen finds in c.var. */
export interface ClickHouseOpenEnv {
  Variables: { shards: Shards };
}

/**
 * Answers 503 while ClickHouse is not open (the service opens it after the
 * API already listens); else puts the shards to use on c.var.shards.
 * `shards()` is asked once per request: a pool may hand out a different
 * connection every time.
 */
export function clickhouseOpen(shards: () => Shards | null) {
  return createMiddleware<ClickHouseOpenEnv>(async (c, next) => {
    const open = shards();
    if (!open) return sendError(c, apiError(503, 'clickhouse_unavailable', 'ClickHouse is not open yet; retry shortly'));
    c.set('shards', open);
    await next();
  });
}
