import type { Config } from '../lib/config/config';
import { onReachableShards, type Shards } from '../lib/clickhouse/shards';
import { migrate } from '../lib/clickhouse/migrate';
import { replicaChoices } from '../lib/clickhouse/replica-choice';
import { openShards } from '../lib/clickhouse/store-open';
import type { Logger } from '../lib/log/logger';
import type { Health } from '../lib/telemetry/health';
import type { Metrics } from '../lib/telemetry/metrics';
import { untilDone } from './until-done';

/** chdb connections for lenses (each runs one query at a time). */
const EMBEDDED_QUERY_CONNECTIONS = 4;

/**
 * The service's ClickHouse connections, each null (or the pool empty) until
 * opened: the API answers before ClickHouse is open.
 */
export interface ClickHouseConnections {
  ingest: Shards | null;
  // Queries on one chdb connection run one after another: lenses take turns over a few.
  // (A server's HTTP client runs them side by side: one is enough there.)
  queryPool: Shards[];
  // Operational reads (sensor list, status) are not lenses: no time limit, their own connection. Audits scan raw and
  // run on the query pool, under its time limit.
  ops: Shards | null;
  compact: Shards | null;
  // The series catalog's reads and writes (the API creates series on first write): their own connection, writable.
  catalog: Shards | null;
  /** The pool's next connection for a lens; null while the pool is empty. */
  nextQuery(): Shards | null;
}

export function clickhouseConnections(): ClickHouseConnections {
  let nextQuery = 0;
  const conns: ClickHouseConnections = {
    ingest: null,
    queryPool: [],
    ops: null,
    compact: null,
    catalog: null,
    nextQuery: () => (conns.queryPool.length === 0 ? null : conns.queryPool[nextQuery++ % conns.queryPool.length]!),
  };
  return conns;
}

/**
 * Opens (and migrates) ClickHouse once it answers, then every other
 * connection, then reports ClickHouse ready. Returns the connections the
 * worker writes through.
 */
export async function openClickHouse(
  conns: ClickHouseConnections,
  config: Config,
  log: Logger,
  signal: AbortSignal,
  health: Health,
  metrics: Metrics,
): Promise<{ ingest: Shards; compact: Shards }> {
  // One replica choice per shard for every connection of the process: lenses, duplicate
  // checks and compaction read the replica the writes went to (lib/clickhouse/replica-choice.ts).
  const choices = replicaChoices((change) => metrics.replicaSwitched(change));
  // A ClickHouse server may still be starting: wait for it like for Kafka and Temporal.
  const ingest = await untilDone('clickhouse', log, signal, async () => {
    const shards = await openShards(config, { name: 'ingest', log, replicaChoices: choices });
    try {
      await migrate(shards);
      return shards;
    } catch (err) {
      await shards.close().catch(() => undefined);
      throw err;
    }
  });
  conns.ingest = ingest;
  const lensTimeout = { readOnly: true, maxExecutionMs: config.limits.lensTimeoutMs, replicaChoices: choices };
  const queryConnections = config.clickhouse.url || config.clickhouse.shards ? 1 : EMBEDDED_QUERY_CONNECTIONS;
  for (let i = 0; i < queryConnections; i++) conns.queryPool.push(await openShards(config, { name: `query-${i}`, ...lensTimeout, log }));
  conns.ops = await openShards(config, { name: 'ops', readOnly: true, log, replicaChoices: choices });
  const compact = await openShards(config, { name: 'compact', log, replicaChoices: choices });
  conns.compact = compact;
  conns.catalog = await openShards(config, { name: 'catalog', log });
  const qs = conns.queryPool[0]!;
  health.set('clickhouse', 'ready');
  // Ready while any shard answers: a shard that is down fails only the requests that need it.
  health.probe('clickhouse', async () => void (await onReachableShards(qs, (store) => store.rows('SELECT 1'))));
  return { ingest, compact };
}

/** Closes what is open: the ingest connection, the lens pool, then the ops and compaction connections. */
export async function closeClickHouse(conns: ClickHouseConnections): Promise<void> {
  await conns.ingest?.close();
  await Promise.all(conns.queryPool.map((q) => q.close()));
  await conns.ops?.close();
  await conns.compact?.close();
  await conns.catalog?.close();
}
