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

/**
 * The `columns` of a SELECT's rows as RowBinary bytes the engine wrote, in
 * one hex string of a JSONCompact result: JS parses one string instead of a
 * number per value, and the engine's read statistics still come with it
 * (chdb's own binary results count only the rows returned). Row order is not
 * kept.
 */
export async function queryRowBinaryWithStats(client: ClickHouseClient, sql: string, columns: readonly string[], settings: QuerySettings) {
  // formatRow, not formatRowNoNewline: RowBinary rows end in no delimiter, and
  // the NoNewline variant cuts a last byte that happens to be 0x0A (a double's
  // top byte, say), leaving a short row.
  const wrapped = `SELECT hex(arrayStringConcat(groupArray(formatRow('RowBinary', ${columns.join(', ')})))) FROM (${sql})`;
  const { rows, rowsRead } = await queryWithStats<[hex: string]>(client, wrapped, settings);
  return { body: Buffer.from(rows[0]?.[0] ?? '', 'hex'), rowsRead };
}
