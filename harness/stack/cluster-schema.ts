import { featuresForVersion, renderSchema } from '../../lib/clickhouse/schema';
import { applySchema } from '../../lib/clickhouse/migrate';
import { serverVersion } from '../../lib/clickhouse/store-server';
import { checkIdent, quietClient } from './clickhouse-server';

/**
 * Renders the project's schema for the cluster shape and the server's version
 * and runs it through one replica; ON CLUSTER makes every server run each
 * statement (replicated `<t>_local` tables, Distributed `<t>`, and the views
 * on each server's local tables). Idempotent.
 */
export async function applySchemaOnCluster(opts: {
  url: string;
  database: string;
  cluster: string;
}): Promise<{ version: string; statements: number }> {
  checkIdent('database', opts.database);
  checkIdent('cluster', opts.cluster);
  // A DDL waits for every server of the cluster (up to distributed_ddl_task_timeout, 180 s).
  const client = quietClient(opts.url, 300_000);
  try {
    const version = await serverVersion(client);
    const statements = renderSchema(opts.database, { kind: 'cluster', cluster: opts.cluster, features: featuresForVersion(version) });
    await applySchema(client, statements);
    return { version, statements: statements.length };
  } finally {
    await client.close();
  }
}
