import type { Store } from './store';

/** One table of one server: its active parts, and the parts inserts have created so far. */
export interface TableParts {
  table: string;
  activeParts: number;
  /**
   * New parts written by inserts since the table was created, from
   * ClickHouse's own block numbers: every part an insert writes takes the
   * next number, merges take none. A plain MergeTree numbers the whole
   * table; a replicated one numbers each partition from 0.
   */
  insertedParts: number;
}

/** Parts of every table of the store's database, on the server it talks to now. */
export async function tableParts(store: Store): Promise<TableParts[]> {
  const perPartition = store.shape.kind === 'cluster';
  const rows = await store.rows<{ table: string; active: string; inserted: string }>(
    `SELECT table, sum(active) AS active, ${perPartition ? 'sum(top + 1)' : 'max(top)'} AS inserted
     FROM (SELECT table, partition_id, countIf(active) AS active, max(max_block_number) AS top
           FROM system.parts WHERE database = '${store.db}' GROUP BY table, partition_id)
     GROUP BY table ORDER BY table`,
  );
  return rows.map((r) => ({ table: r.table, activeParts: Number(r.active), insertedParts: Number(r.inserted) }));
}
