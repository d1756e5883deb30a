/**
 * The names the ClickHouse part of the manifests is known by: image, ports,
 * users and their Secret, Services, labels. The rest of the manifests (the
 * app's CLICKHOUSE_SHARDS) and test/integration/k8s.test.ts refer to these.
 */
import type { Replica, Topology } from '../../lib/clickhouse/topology';
import { PART_OF } from './objects';

export const CLICKHOUSE_IMAGE = 'clickhouse/clickhouse-server:26.8';

export const CLICKHOUSE_PORTS = { http: 8123, native: 9000, interserver: 9009 } as const;

/** ClickHouse users; their passwords come from the Secret `herodotus-clickhouse`. */
export const CLICKHOUSE_USERS = { writer: 'herodotus', reader: 'herodotus_reader', interserver: 'interserver' } as const;
export const CLICKHOUSE_SECRET = 'herodotus-clickhouse';
/** The variables the pods get those passwords in, and the server's XML reads them from (from_env). */
export const PASSWORD_ENV = {
  writer: 'CH_HERODOTUS_PASSWORD',
  reader: 'CH_READER_PASSWORD',
  interserver: 'CH_INTERSERVER_PASSWORD',
} as const;
/** Client Service over every replica: ad-hoc queries of the Distributed tables (Grafana, people). */
export const CLICKHOUSE_SERVICE = 'clickhouse';

export const SERVER_LABELS = { 'app.kubernetes.io/name': 'clickhouse', 'app.kubernetes.io/component': 'server', ...PART_OF };
export const SHARD_LABEL = 'herodotus.io/shard';
export const REPLICA_LABEL = 'herodotus.io/replica';

/** CLICKHOUSE_SHARDS of the app pods: each shard's replicas by their per-replica Service, in shard order. */
export function clickhouseShardsEnv(topology: Topology): string {
  return topology.shards.map((shard) => shard.replicas.map((r) => `http://${r.name}:${CLICKHOUSE_PORTS.http}`).join(',')).join(';');
}

export function replicaConfigMapName(replica: Replica): string {
  return `${replica.name}-macros`;
}
