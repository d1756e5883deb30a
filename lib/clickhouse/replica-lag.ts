import type { ClickHouseClient } from '@clickhouse/client';

interface ReplicaRow {
  table: string;
  zookeeper_path: string;
  is_session_expired: number;
  log_pointer: string;
  log_max_index: string;
}

async function rows<T>(client: ClickHouseClient, query: string): Promise<T[]> {
  return (await client.query({ query, format: 'JSONEachRow' })).json<T>();
}

/** Single quotes and backslashes escaped: a server-reported path as a string literal. */
const literal = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/**
 * Why a replica may not serve reads that must see every acknowledged write,
 * or null when it holds every part of the database's replicated tables that
 * any replica acknowledged before this call.
 *
 * An insert is acknowledged only after its part and its entry in the table's
 * replication log are committed in ZooKeeper together, so an acknowledged
 * part is at an index ≤ `log_max_index`. The replica has pulled every entry
 * up to there into its queue once `log_pointer` (the next index it will pull)
 * is past it, and has fetched every such part once its queue then holds no
 * inserted part (`inserts_in_queue`, read by a second query *after* the log
 * pointers, so an entry pulled between the two reads is counted). This is
 * stronger than `inserts_in_queue` alone, which misses entries committed but
 * not yet pulled, and than `absolute_delay`, which is in whole seconds. Works
 * on 18.16 (all these columns exist there).
 */
export async function replicaLag(client: ClickHouseClient, db: string): Promise<string | null> {
  const tables = await rows<ReplicaRow>(
    client,
    `SELECT table, zookeeper_path, is_session_expired, log_pointer, log_max_index FROM system.replicas WHERE database = ${literal(db)}`,
  );
  for (const t of tables) {
    // Without a ZooKeeper session the replica cannot tell what it misses.
    if (Number(t.is_session_expired) !== 0) return `${t.table} has no ZooKeeper session`;
    if (Number(t.log_pointer) > Number(t.log_max_index)) continue;
    // Both 0: the log is empty (nothing ever inserted) or entry 0 is not pulled yet; ZooKeeper tells.
    if (Number(t.log_pointer) === 0 && (await logEntries(client, t.zookeeper_path)) === 0) continue;
    return `${t.table} has replication log entries it has not pulled (log pointer ${t.log_pointer}, last entry ${t.log_max_index})`;
  }
  const [queued] = await rows<{ n: string }>(
    client,
    `SELECT sum(inserts_in_queue) AS n FROM system.replicas WHERE database = ${literal(db)}`,
  );
  const missing = Number(queued?.n ?? 0);
  return missing > 0 ? `${missing} inserted part(s) still to fetch` : null;
}

async function logEntries(client: ClickHouseClient, zookeeperPath: string): Promise<number> {
  const [r] = await rows<{ n: string }>(
    client,
    `SELECT count() AS n FROM system.zookeeper WHERE path = ${literal(`${zookeeperPath}/log`)}`,
  );
  return Number(r?.n ?? 0);
}
