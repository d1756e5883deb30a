import type { ClickHouseClient } from '@clickhouse/client';
import { repairMarks } from './ledger';
import { DAY_MARK_TABLE, localName, renderSchema, schemaObjects, WINDOW_MARK_TABLE } from './schema';
import { onReachableShards, type Shards } from './shards';
import type { Store } from './store';
import { addColumns } from './add-columns';
import { widenValues } from './widen-values';

/**
 * Runs the schema's DDL through one client. ON CLUSTER statements come back
 * with a per-host result table: wait_end_of_query makes the server buffer it,
 * so a failure on any host is an HTTP error or an exception in the body,
 * never a 200 that hides it.
 */
export async function applySchema(client: ClickHouseClient, statements: string[]): Promise<void> {
  for (const query of statements) {
    const result = await client.exec({ query, clickhouse_settings: { wait_end_of_query: 1 } });
    const chunks: Buffer[] = [];
    for await (const chunk of result.stream) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    if (/DB::Exception/.test(body)) throw new Error(`schema statement failed:\n${query}\n${body}`);
  }
}

/**
 * Creates the database, tables and views if missing; safe to run on every
 * start. On a cluster the statements run ON CLUSTER, which waits for every
 * server: they run only when something is missing, so a service starts while
 * a replica is down once the schema exists.
 *
 * A state from before Float64 values is widened or refused (widen-values.ts);
 * one from before a column (quality) gets it or is refused (add-columns.ts).
 * A state from before the dirty marks gets them from its ledger once, when
 * their tables are created; should that be cut short, the compaction sweep
 * (which runs the same repair every minute) completes it.
 */
export async function migrate(shards: Shards): Promise<void> {
  const store = shards.stores[0]!;
  const created = await applyMissing(shards, store);
  await addColumns(shards);
  await widenValues(shards);
  const marks = [WINDOW_MARK_TABLE.name, DAY_MARK_TABLE.name].map((t) => localName(store.db, t, store.shape).slice(store.db.length + 1));
  if (created.missing.some((name) => marks.includes(name))) await onReachableShards(shards, repairMarks);
}

/** Applies the schema where objects are missing; the names that were missing. */
async function applyMissing(shards: Shards, store: Store): Promise<{ missing: string[] }> {
  const statements = renderSchema(store.db, store.shape);
  const expected = schemaObjects(store.db, store.shape);
  const seen = await Promise.allSettled(
    shards.stores.map((s) => s.rows<{ name: string }>(`SELECT name FROM system.tables WHERE database = '${store.db}'`)),
  );
  const answered = seen.flatMap((r) => (r.status === 'fulfilled' ? [new Set(r.value.map((t) => t.name))] : []));
  const missing = expected.filter((name) => answered.some((names) => !names.has(name)));
  if (store.shape.kind === 'cluster') {
    if (answered.length > 0 && missing.length === 0) return { missing };
    const reachable = shards.stores.find((_, i) => seen[i]!.status === 'fulfilled');
    if (!reachable) throw (seen[0] as PromiseRejectedResult).reason;
    await applySchema(reachable.client, statements);
    return { missing };
  }
  await applySchema(store.client, statements);
  return { missing };
}
