import type { ClickHouseClient } from '@clickhouse/client';
import { renderSchema, schemaObjects } from './schema';
import type { Shards } from './shards';

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
 */
export async function migrate(shards: Shards): Promise<void> {
  const store = shards.stores[0]!;
  const statements = renderSchema(store.db, store.shape);
  if (store.shape.kind === 'cluster') {
    const expected = schemaObjects(store.db, store.shape);
    const seen = await Promise.allSettled(
      shards.stores.map((s) => s.rows<{ name: string }>(`SELECT name FROM system.tables WHERE database = '${store.db}'`)),
    );
    const answered = seen.flatMap((r) => (r.status === 'fulfilled' ? [new Set(r.value.map((t) => t.name))] : []));
    if (answered.length > 0 && answered.every((names) => expected.every((name) => names.has(name)))) return;
    const reachable = shards.stores.find((_, i) => seen[i]!.status === 'fulfilled');
    if (!reachable) throw (seen[0] as PromiseRejectedResult).reason;
    await applySchema(reachable.client, statements);
    return;
  }
  await applySchema(store.client, statements);
}
