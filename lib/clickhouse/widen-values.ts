import { RAW_TABLE, ROLLUP_TABLE, localName, type TableDef } from './schema';
import type { Shards } from './shards';
import type { Store } from './store';

/** The Float64 columns that the schema before issue 12 wrote as Float32. */
const WIDENED: { table: TableDef; columns: string[] }[] = [
  { table: RAW_TABLE, columns: ['value'] },
  { table: ROLLUP_TABLE, columns: ['min', 'max', 'first', 'last'] },
];

/** A state that cannot be upgraded in place: what to do is in the message. */
export class SchemaUpgradeError extends Error {
  override readonly name = 'SchemaUpgradeError';
}

/**
 * A state directory written before values were Float64 holds Float32 value
 * columns. It is never read as a mix: on one server (embedded chdb) the
 * columns are widened in place, which is exact (every Float32 is a Float64),
 * waiting until every part is rewritten; on a cluster the service refuses to
 * start and says what to run. The old rollups keep their sums (plain Float64
 * sums); `recompact` rewrites them with compensated ones.
 */
export async function widenValues(shards: Shards): Promise<string[]> {
  const store = shards.stores[0]!;
  const narrow = await narrowColumns(store);
  if (narrow.length === 0) return [];
  if (store.shape.kind === 'cluster') {
    throw new SchemaUpgradeError(
      `the database ${store.db} was written by a Herodotus before Float64 values (${narrow.map((n) => `${n.table}.${n.column}`).join(', ')} ` +
        `are Float32). Widen them on every server, e.g. ALTER TABLE ${store.db}.raw_local ON CLUSTER ${store.shape.cluster} ` +
        'MODIFY COLUMN value Float64, the same on the Distributed table raw, and min, max, first, last of rollup_local and rollup; ' +
        'or start from an empty database.',
    );
  }
  for (const { table, column } of narrow) {
    const def = WIDENED.find((w) => localName(store.db, w.table.name, store.shape) === `${store.db}.${table}`)!.table;
    const col = def.columns.find((c) => c.name === column)!;
    const codec = store.shape.features.codecs && col.codec ? ` CODEC(${col.codec})` : '';
    await store.client.command({
      query: `ALTER TABLE ${store.db}.${table} MODIFY COLUMN ${column} ${col.type}${codec}`,
      clickhouse_settings: { mutations_sync: '2' },
    });
  }
  return narrow.map((n) => `${n.table}.${n.column}`);
}

async function narrowColumns(store: Store): Promise<{ table: string; column: string }[]> {
  const wanted = WIDENED.flatMap((w) => w.columns.map((column) => ({ table: localName(store.db, w.table.name, store.shape), column })));
  const rows = await store.rows<{ table: string; name: string }>(
    `SELECT table, name FROM system.columns WHERE database = '${store.db}' AND type = 'Float32'`,
  );
  const narrow = new Set(rows.map((r) => `${store.db}.${r.table}.${r.name}`));
  return wanted
    .filter((w) => narrow.has(`${w.table}.${w.column}`))
    .map((w) => ({ table: w.table.slice(store.db.length + 1), column: w.column }));
}
