import type { ClickHouseClient } from '@clickhouse/client';
import type { QuerySettings } from './store';

/**
 * FORMAT JSONCompact: the whole result is one JSON.parse with no object per
 * row (per-row parsing was most of a large lens's time in JS), and it ends
 * with the engine's own read statistics on every version (old servers send no
 * summary header).
 */
export async function queryWithStats<T extends readonly unknown[]>(client: ClickHouseClient, sql: string, settings: QuerySettings) {
  const rs = await client.query({ query: sql, format: 'JSONCompact', clickhouse_settings: settings });
  const body = (await rs.json()) as unknown as { data: T[]; statistics?: { rows_read?: number } };
  return { rows: body.data, rowsRead: Number(body.statistics?.rows_read ?? 0) };
}
