/**
 * The Keeper ensemble ClickHouse coordinates through: 3 clickhouse-keeper
 * pods of one StatefulSet, their raft configuration, the headless Service
 * that names them and a PodDisruptionBudget that keeps the quorum.
 */
import { comment, el, fromEnv, xmlDocument } from '../../lib/clickhouse/xml';
import { type Obj, PART_OF, POD_SECURITY, RESTRICTED } from './objects';

export const KEEPER_IMAGE = 'clickhouse/clickhouse-keeper:26.8';

export const KEEPER = {
  name: 'clickhouse-keeper',
  service: 'clickhouse-keeper-headless',
  replicas: 3,
  client: 9181,
  raft: 9234,
  http: 9182,
} as const;

const KEEPER_LABELS = { 'app.kubernetes.io/name': KEEPER.name, 'app.kubernetes.io/component': 'coordination', ...PART_OF };
const SELECTOR = { 'app.kubernetes.io/name': KEEPER.name };

export function keeperHosts(): string[] {
  return Array.from({ length: KEEPER.replicas }, (_, i) => `${KEEPER.name}-${i + 1}.${KEEPER.service}`);
}

function keeperXml(): string {
  const data = '/var/lib/clickhouse-keeper';
  const servers = keeperHosts().map((h, i) => el('server', [el('id', i + 1), el('hostname', h), el('port', KEEPER.raft)]));
  return xmlDocument('clickhouse', [
    el('listen_host', '0.0.0.0'),
    el('path', `${data}/`),
    el('logger', [el('level', 'information'), el('console', 1)]),
    el('keeper_server', [
      el('tcp_port', KEEPER.client),
      comment(`1..${KEEPER.replicas}: the pod's index (StatefulSet ordinals start at 1)`),
      fromEnv('server_id', 'KEEPER_SERVER_ID'),
      el('log_storage_path', `${data}/coordination/log`),
      el('snapshot_storage_path', `${data}/coordination/snapshots`),
      el('coordination_settings', [el('operation_timeout_ms', 10000), el('session_timeout_ms', 30000), el('raft_logs_level', 'warning')]),
      el('raft_configuration', servers),
    ]),
    el('http_control', [el('port', KEEPER.http), el('readiness', [el('endpoint', '/ready')])]),
  ]);
}

function keeperContainer(): Obj {
  return {
    name: 'keeper',
    image: KEEPER_IMAGE,
    env: [{ name: 'KEEPER_SERVER_ID', valueFrom: { fieldRef: { fieldPath: "metadata.labels['apps.kubernetes.io/pod-index']" } } }],
    ports: [
      { name: 'client', containerPort: KEEPER.client },
      { name: 'raft', containerPort: KEEPER.raft },
      { name: 'control', containerPort: KEEPER.http },
    ],
    readinessProbe: { httpGet: { path: '/ready', port: 'control' }, periodSeconds: 5, failureThreshold: 3 },
    livenessProbe: { tcpSocket: { port: 'client' }, initialDelaySeconds: 30, periodSeconds: 10, failureThreshold: 6 },
    resources: { requests: { cpu: '250m', memory: '512Mi' }, limits: { memory: '1Gi' } },
    securityContext: RESTRICTED,
    volumeMounts: [
      { name: 'data', mountPath: '/var/lib/clickhouse-keeper' },
      { name: 'config', mountPath: '/etc/clickhouse-keeper', readOnly: true },
    ],
  };
}

function keeperStatefulSet(): Obj {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: KEEPER.name, labels: KEEPER_LABELS },
    spec: {
      serviceName: KEEPER.service,
      replicas: KEEPER.replicas,
      // Ids 1..3 in raft_configuration are the pod indexes.
      ordinals: { start: 1 },
      // All at once: with OrderedReady the first Keeper would wait for a quorum that never starts.
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: SELECTOR },
      template: {
        metadata: { labels: KEEPER_LABELS },
        spec: {
          terminationGracePeriodSeconds: 30,
          securityContext: POD_SECURITY,
          affinity: {
            podAntiAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: [
                { labelSelector: { matchLabels: SELECTOR }, topologyKey: 'kubernetes.io/hostname' },
              ],
            },
          },
          containers: [keeperContainer()],
          volumes: [{ name: 'config', configMap: { name: KEEPER.name } }],
        },
      },
      volumeClaimTemplates: [
        {
          metadata: { name: 'data', labels: SELECTOR },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Gi' } } },
        },
      ],
    },
  };
}

export function renderKeeper(): Obj[] {
  return [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: KEEPER.name, labels: KEEPER_LABELS },
      data: { 'keeper_config.xml': keeperXml() },
    },
    {
      // Governing Service: pod DNS <pod>.clickhouse-keeper-headless, published before readiness
      // (a Keeper becomes ready only once it reaches its peers).
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: KEEPER.service, labels: KEEPER_LABELS },
      spec: {
        clusterIP: 'None',
        publishNotReadyAddresses: true,
        selector: SELECTOR,
        ports: [
          { name: 'client', port: KEEPER.client },
          { name: 'raft', port: KEEPER.raft },
        ],
      },
    },
    keeperStatefulSet(),
    {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name: KEEPER.name, labels: KEEPER_LABELS },
      // 2 of 3 keep the quorum.
      spec: { maxUnavailable: 1, selector: { matchLabels: SELECTOR } },
    },
  ];
}
