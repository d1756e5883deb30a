/**
 * The ClickHouse objects of the manifests, made from TOPOLOGY: the shared
 * ConfigMaps and client Service, and per replica a ConfigMap with its macros,
 * a headless Service and a StatefulSet (clickhouse-statefulset.ts); per shard a
 * PodDisruptionBudget across the shard's StatefulSets, so that at most one
 * replica of a shard is down by a voluntary disruption.
 */
import type { Replica, Shard, Topology } from '../../lib/clickhouse/topology';
import { CLICKHOUSE_PORTS, CLICKHOUSE_SERVICE, REPLICA_LABEL, replicaConfigMapName, SERVER_LABELS, SHARD_LABEL } from './clickhouse';
import { serverStatefulSet } from './clickhouse-statefulset';
import { macrosXml, sharedConfigFiles, usersXml } from './clickhouse-xml';
import type { Obj } from './objects';

function sharedObjects(topology: Topology): Obj[] {
  return [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'clickhouse-config', labels: SERVER_LABELS },
      data: sharedConfigFiles(topology),
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'clickhouse-users', labels: SERVER_LABELS },
      data: { 'herodotus-users.xml': usersXml() },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: CLICKHOUSE_SERVICE, labels: SERVER_LABELS },
      spec: {
        selector: { 'app.kubernetes.io/name': 'clickhouse' },
        ports: [
          { name: 'http', port: CLICKHOUSE_PORTS.http, targetPort: 'http' },
          { name: 'native', port: CLICKHOUSE_PORTS.native, targetPort: 'native' },
        ],
      },
    },
  ];
}

function replicaObjects(topology: Topology, shard: Shard, replica: Replica): Obj[] {
  const labels = { ...SERVER_LABELS, [SHARD_LABEL]: String(shard.index), [REPLICA_LABEL]: replica.name };
  return [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: replicaConfigMapName(replica), labels },
      data: { 'macros.xml': macrosXml(topology, shard, replica) },
    },
    {
      // The replica's stable name (remote_servers host, interserver host): one pod behind it,
      // listed even before it is ready so that replication and DDL reach a starting replica.
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: replica.name, labels },
      spec: {
        clusterIP: 'None',
        publishNotReadyAddresses: true,
        selector: { 'app.kubernetes.io/name': 'clickhouse', [REPLICA_LABEL]: replica.name },
        ports: [
          { name: 'http', port: CLICKHOUSE_PORTS.http },
          { name: 'native', port: CLICKHOUSE_PORTS.native },
          { name: 'interserver', port: CLICKHOUSE_PORTS.interserver },
        ],
      },
    },
    serverStatefulSet(shard, replica),
  ];
}

function shardDisruptionBudget(shard: Shard): Obj {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: `clickhouse-s${shard.index}`, labels: { ...SERVER_LABELS, [SHARD_LABEL]: String(shard.index) } },
    spec: {
      maxUnavailable: 1,
      selector: { matchLabels: { 'app.kubernetes.io/name': 'clickhouse', [SHARD_LABEL]: String(shard.index) } },
    },
  };
}

export function renderClickHouse(topology: Topology): Obj[] {
  return [
    ...sharedObjects(topology),
    ...topology.shards.flatMap((shard) => [
      ...shard.replicas.flatMap((replica) => replicaObjects(topology, shard, replica)),
      shardDisruptionBudget(shard),
    ]),
  ];
}
