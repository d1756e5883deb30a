/**
 * One StatefulSet per replica (not one per shard with 2 pods): every replica
 * has its own identity baked into its own ConfigMap (macros, interserver host),
 * its own Service whose name is the replica's name in TOPOLOGY (the host in
 * remote_servers), and its own PVC; a replica can be restarted, moved or
 * upgraded without touching its peer, and adding a replica or shard adds
 * objects rather than renumbering pods.
 */
import type { Replica, Shard } from '../../lib/clickhouse/topology';
import {
  CLICKHOUSE_IMAGE,
  CLICKHOUSE_PORTS,
  CLICKHOUSE_SECRET,
  PASSWORD_ENV,
  REPLICA_LABEL,
  replicaConfigMapName,
  SERVER_LABELS,
  SHARD_LABEL,
} from './clickhouse';
import { type Obj, POD_SECURITY, RESTRICTED } from './objects';

function affinity(shard: Shard): Obj {
  const sameShard = { matchLabels: { 'app.kubernetes.io/name': 'clickhouse', [SHARD_LABEL]: String(shard.index) } };
  return {
    podAntiAffinity: {
      // Never both replicas of a shard on one node.
      requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: sameShard, topologyKey: 'kubernetes.io/hostname' }],
      preferredDuringSchedulingIgnoredDuringExecution: [
        {
          weight: 100,
          podAffinityTerm: {
            labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'clickhouse' } },
            topologyKey: 'kubernetes.io/hostname',
          },
        },
        { weight: 50, podAffinityTerm: { labelSelector: sameShard, topologyKey: 'topology.kubernetes.io/zone' } },
      ],
    },
  };
}

function serverContainer(): Obj {
  const secretEnv = (name: string, key: string): Obj => ({ name, valueFrom: { secretKeyRef: { name: CLICKHOUSE_SECRET, key } } });
  const ping = { httpGet: { path: '/ping', port: 'http' } };
  return {
    name: 'clickhouse',
    image: CLICKHOUSE_IMAGE,
    env: [
      // Users come from users.d (below), not from the entrypoint's CLICKHOUSE_* variables.
      { name: 'CLICKHOUSE_SKIP_USER_SETUP', value: '1' },
      secretEnv(PASSWORD_ENV.writer, 'password'),
      secretEnv(PASSWORD_ENV.reader, 'read-password'),
      secretEnv(PASSWORD_ENV.interserver, 'interserver-password'),
    ],
    ports: [
      { name: 'http', containerPort: CLICKHOUSE_PORTS.http },
      { name: 'native', containerPort: CLICKHOUSE_PORTS.native },
      { name: 'interserver', containerPort: CLICKHOUSE_PORTS.interserver },
    ],
    // Loading many parts after a restart can take minutes: 10 min before liveness applies.
    startupProbe: { ...ping, periodSeconds: 10, failureThreshold: 60 },
    readinessProbe: { ...ping, periodSeconds: 5, failureThreshold: 3 },
    livenessProbe: { ...ping, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 6 },
    resources: { requests: { cpu: '1', memory: '4Gi' }, limits: { memory: '8Gi' } },
    securityContext: RESTRICTED,
    volumeMounts: [
      { name: 'data', mountPath: '/var/lib/clickhouse' },
      { name: 'config', mountPath: '/etc/clickhouse-server/config.d', readOnly: true },
      { name: 'users', mountPath: '/etc/clickhouse-server/users.d', readOnly: true },
    ],
  };
}

export function serverStatefulSet(shard: Shard, replica: Replica): Obj {
  const labels = { ...SERVER_LABELS, [SHARD_LABEL]: String(shard.index), [REPLICA_LABEL]: replica.name };
  const own = { 'app.kubernetes.io/name': 'clickhouse', [REPLICA_LABEL]: replica.name };
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: replica.name, labels },
    spec: {
      serviceName: replica.name,
      replicas: 1,
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: own },
      template: {
        metadata: { labels },
        spec: {
          terminationGracePeriodSeconds: 60,
          securityContext: POD_SECURITY,
          affinity: affinity(shard),
          containers: [serverContainer()],
          volumes: [
            {
              name: 'config',
              projected: {
                sources: [{ configMap: { name: 'clickhouse-config' } }, { configMap: { name: replicaConfigMapName(replica) } }],
              },
            },
            { name: 'users', configMap: { name: 'clickhouse-users' } },
          ],
        },
      },
      volumeClaimTemplates: [
        {
          metadata: { name: 'data', labels: own },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '50Gi' } } },
        },
      ],
    },
  };
}
