import { columnSql, localName, TABLES, type Column, type TableDef } from './schema';
import type { Shards } from './shards';
import type { Store } from './store';
import { SchemaUpgradeError } from './widen-values';

/**
 * A state directory written before a column existed (quality, issue 12)
 * lacks it. Every such column has a DEFAULT that reads the old rows as they
 * were written (quality 0: good; the rollups' not-good aggregates empty), so
 * on one server the columns are added in place, a metadata change that
 * rewrites no part; on a cluster the service refuses to start and names the
 * statements to run. Never a mix: until every column is there, nothing reads.
 */
export async function addColumns(shards: Shards): Promise<string[]> {
  const store = shards.stores[0]!;
  const missing = await missingColumns(store);
  if (missing.length === 0) return [];
  const codecs = store.shape.features.codecs;
  if (store.shape.kind === 'cluster') {
    const on = ` ON CLUSTER ${store.shape.cluster}`;
    const statements = missing.flatMap(({ table, column }) =>
      [localName(store.db, table.name, store.shape), `${store.db}.${table.name}`].map(
        (name) => `ALTER TABLE ${name}${on} ADD COLUMN IF NOT EXISTS ${columnSql(column, codecs)}`,
      ),
    );
    throw new SchemaUpgradeError(
      `the database ${store.db} was written by a Herodotus before ${names(missing)}. Add them on every server, ` +
        `first to the local tables, then to the Distributed ones: ${statements.join('; ')}; or start from an empty database.`,
    );
  }
  for (const { table, column } of missing) {
    await store.client.command({ query: `ALTER TABLE ${store.db}.${table.name} ADD COLUMN IF NOT EXISTS ${columnSql(column, codecs)}` });
  }
  return missing.map((m) => `${m.table.name}.${m.column.name}`);
}

const names = (missing: { table: TableDef; column: Column }[]) => missing.map((m) => `${m.table.name}.${m.column.name}`).join(', ');

async function missingColumns(store: Store): Promise<{ table: TableDef; column: Column }[]> {
  const rows = await store.rows<{ table: string; name: string }>(`SELECT table, name FROM system.columns WHERE database = '${store.db}'`);
  const present = new Set(rows.map((r) => `${store.db}.${r.table}.${r.name}`));
  return TABLES.flatMap((table) =>
    table.columns
      .filter((column) => column.default !== undefined && !present.has(`${localName(store.db, table.name, store.shape)}.${column.name}`))
      .map((column) => ({ table, column })),
  );
}
