/**
 * New parts per second per table and shard over a step's window, from
 * ClickHouse's own block numbers (GET /v1/storage/parts, lib/clickhouse/parts.ts):
 * what the "few writes" target is judged on (at most about one new
 * part per second per table and shard at 1M points/s).
 */
import type { HerodotusApi } from '../harness/verify/api-client';
import { getJson } from './ingest-http';
import { round } from './round';

export interface PartsReading {
  shard: number;
  table: string;
  active_parts: number;
  inserted_parts: number;
}

export function readParts(api: HerodotusApi): Promise<PartsReading[]> {
  return getJson<PartsReading[]>(api, '/v1/storage/parts', 60_000);
}

/** Per `table` (shard n > 0 as `table@n`): new parts per second between the readings, and the active parts at the end. */
export function partsPerSecond(before: PartsReading[], after: PartsReading[], seconds: number) {
  const key = (r: PartsReading) => (r.shard === 0 ? r.table : `${r.table}@${r.shard}`);
  const start = new Map(before.map((r) => [key(r), r.inserted_parts]));
  const tables: Record<string, { new_parts_per_s: number; active_parts: number }> = {};
  for (const r of after) {
    tables[key(r)] = { new_parts_per_s: round((r.inserted_parts - (start.get(key(r)) ?? 0)) / seconds, 2), active_parts: r.active_parts };
  }
  const max = Math.max(0, ...Object.values(tables).map((t) => t.new_parts_per_s));
  return { max_new_parts_per_s: max, tables };
}
