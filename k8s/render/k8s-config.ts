/**
 * The ClickHouse part of the Kubernetes manifests, made from TOPOLOGY:
 * remote_servers (cluster 'herodotus'), macros per replica, the Keeper
 * ensemble, one StatefulSet and one headless Service per replica, and a
 * PodDisruptionBudget per shard.
 *
 *   npx tsx k8s/render/k8s-config.ts            writes k8s/base/clickhouse/*.yaml
 *   npx tsx k8s/render/k8s-config.ts --check    exits 1 when the committed files differ
 *
 * test/integration/k8s.test.ts checks that the committed files are what this
 * renders and that the rendered cluster equals TOPOLOGY.
 *
 * One StatefulSet per replica (not one per shard with 2 pods): every replica
 * has its own identity baked into its own ConfigMap (macros, interserver host),
 * its own Service whose name is the replica's name in TOPOLOGY (the host in
 * remote_servers), and its own PVC; a replica can be restarted, moved or
 * upgraded without touching its peer, and adding a replica or shard adds
 * objects rather than renumbering pods. The PodDisruptionBudget is per shard
 * across the shard's StatefulSets: at most one replica of a shard is down by
 * a voluntary disruption.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PROJECT_ROOT } from '../../lib/config/config';
import { TOPOLOGY, type Replica, type Shard, type Topology } from '../../lib/clickhouse/topology';

export const CLICKHOUSE_IMAGE = 'clickhouse/clickhouse-server:26.8';
export const KEEPER_IMAGE = 'clickhouse/clickhouse-keeper:26.8';

export const CLICKHOUSE_PORTS = { http: 8123, native: 9000, interserver: 9009 } as const;
export const KEEPER = {
  name: 'clickhouse-keeper',
  service: 'clickhouse-keeper-headless',
  replicas: 3,
  client: 9181,
  raft: 9234,
  http: 9182,
} as const;

/** ClickHouse users; their passwords come from the Secret `herodotus-clickhouse`. */
export const CLICKHOUSE_USERS = { writer: 'herodotus', reader: 'herodotus_reader', interserver: 'interserver' } as const;
export const CLICKHOUSE_SECRET = 'herodotus-clickhouse';
/** Client Service over every replica: ad-hoc queries of the Distributed tables (Grafana, people). */
export const CLICKHOUSE_SERVICE = 'clickhouse';

/** CLICKHOUSE_SHARDS of the app pods: each shard's replicas by their per-replica Service, in shard order. */
export function clickhouseShardsEnv(topology: Topology): string {
  return topology.shards.map((shard) => shard.replicas.map((r) => `http://${r.name}:${CLICKHOUSE_PORTS.http}`).join(',')).join(';');
}

/** Directory of the generated files, relative to the checkout. */
export const GENERATED_DIR = 'k8s/base/clickhouse';

const PART_OF = { 'app.kubernetes.io/part-of': 'herodotus' };
const SERVER_LABELS = { 'app.kubernetes.io/name': 'clickhouse', 'app.kubernetes.io/component': 'server', ...PART_OF };
const KEEPER_LABELS = { 'app.kubernetes.io/name': KEEPER.name, 'app.kubernetes.io/component': 'coordination', ...PART_OF };
export const SHARD_LABEL = 'herodotus.io/shard';
export const REPLICA_LABEL = 'herodotus.io/replica';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Obj = { [key: string]: Json };

// ------------------------------------------------------------- YAML ---

const PLAIN = /^[A-Za-z_/][A-Za-z0-9_./-]*$/;
const RESERVED = /^(true|false|null|yes|no|on|off|y|n|~)$/i;

function scalar(v: Json): string {
  if (v === null) return 'null';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'string') return PLAIN.test(v) && !RESERVED.test(v) ? v : JSON.stringify(v);
  if (Array.isArray(v)) return '[]';
  return '{}';
}

const isBlock = (v: Json): boolean =>
  (Array.isArray(v) && v.length > 0) || (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0);

/** `key: |` literal block for multi-line strings (every line indented, no trailing spaces emitted). */
function literal(s: string, pad: string): string[] {
  const chomp = s.endsWith('\n') ? '' : '-';
  const body = (s.endsWith('\n') ? s.slice(0, -1) : s).split('\n');
  return [`|${chomp}`, ...body.map((l) => (l === '' ? '' : `${pad}${l}`))];
}

function emit(v: Json, indent: number): string[] {
  const pad = ' '.repeat(indent);
  const out: string[] = [];
  if (Array.isArray(v)) {
    for (const item of v) {
      if (isBlock(item)) {
        const lines = emit(item, indent + 2);
        out.push(`${pad}- ${lines[0]!.slice(indent + 2)}`, ...lines.slice(1));
      } else if (typeof item === 'string' && item.includes('\n')) {
        const [head, ...rest] = literal(item, `${pad}  `);
        out.push(`${pad}- ${head}`, ...rest);
      } else out.push(`${pad}- ${scalar(item)}`);
    }
    return out;
  }
  for (const [k, val] of Object.entries(v as Obj)) {
    const key = scalar(k);
    if (Array.isArray(val) && val.length > 0) out.push(`${pad}${key}:`, ...emit(val, indent));
    else if (isBlock(val)) out.push(`${pad}${key}:`, ...emit(val, indent + 2));
    else if (typeof val === 'string' && val.includes('\n')) {
      const [head, ...rest] = literal(val, `${pad}  `);
      out.push(`${pad}${key}: ${head}`, ...rest);
    } else out.push(`${pad}${key}: ${scalar(val)}`);
  }
  return out;
}

export function toYaml(docs: Obj[], header: string): string {
  return `${header}${docs.map((d) => `---\n${emit(d, 0).join('\n')}\n`).join('')}`;
}

// -------------------------------------------------------------- XML ---

const xmlEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** remote_servers: cluster name, shards in order, replicas by their Service (= TOPOLOGY) names. */
export function remoteServersXml(topology: Topology): string {
  const shards = topology.shards
    .map((shard) => {
      const replicas = shard.replicas
        .map(
          (r) => `        <replica>
          <host>${xmlEscape(r.name)}</host>
          <port>${CLICKHOUSE_PORTS.native}</port>
          <user>${CLICKHOUSE_USERS.writer}</user>
          <password from_env="CH_HERODOTUS_PASSWORD"/>
        </replica>`,
        )
        .join('\n');
      return `      <!-- shard ${shard.index} -->
      <shard>
        <weight>1</weight>
        <internal_replication>true</internal_replication>
${replicas}
      </shard>`;
    })
    .join('\n');
  return `<clickhouse>
  <!-- replace: drop the example clusters of the image's config.xml -->
  <remote_servers replace="true">
    <${topology.cluster}>
${shards}
    </${topology.cluster}>
  </remote_servers>
</clickhouse>
`;
}

export function keeperHosts(): string[] {
  return Array.from({ length: KEEPER.replicas }, (_, i) => `${KEEPER.name}-${i + 1}.${KEEPER.service}`);
}

function keeperClientXml(): string {
  const nodes = keeperHosts()
    .map((h) => `    <node>\n      <host>${h}</host>\n      <port>${KEEPER.client}</port>\n    </node>`)
    .join('\n');
  return `<clickhouse>
  <zookeeper>
${nodes}
    <session_timeout_ms>30000</session_timeout_ms>
    <operation_timeout_ms>10000</operation_timeout_ms>
  </zookeeper>
  <distributed_ddl>
    <path>/clickhouse/task_queue/ddl</path>
  </distributed_ddl>
</clickhouse>
`;
}

const SERVER_XML = `<clickhouse>
  <listen_host>0.0.0.0</listen_host>
  <http_port>${CLICKHOUSE_PORTS.http}</http_port>
  <tcp_port>${CLICKHOUSE_PORTS.native}</tcp_port>
  <interserver_http_port>${CLICKHOUSE_PORTS.interserver}</interserver_http_port>
  <interserver_http_credentials>
    <user>${CLICKHOUSE_USERS.interserver}</user>
    <password from_env="CH_INTERSERVER_PASSWORD"/>
  </interserver_http_credentials>
  <logger replace="true">
    <level>information</level>
    <console>1</console>
  </logger>
  <!-- the container's memory limit is what cgroups report; leave headroom for merges -->
  <max_server_memory_usage_to_ram_ratio>0.8</max_server_memory_usage_to_ram_ratio>
  <max_concurrent_queries>200</max_concurrent_queries>
  <merge_tree>
    <!-- a replica that was away catches up by fetching parts, not by failing inserts -->
    <replicated_deduplication_window>10000</replicated_deduplication_window>
    <replicated_deduplication_window_seconds>604800</replicated_deduplication_window_seconds>
  </merge_tree>
</clickhouse>
`;

function macrosXml(shard: Shard, replica: Replica, cluster: string): string {
  return `<clickhouse>
  <macros>
    <cluster>${cluster}</cluster>
    <shard>${shard.index}</shard>
    <replica>${xmlEscape(replica.name)}</replica>
  </macros>
  <!-- the name other replicas fetch parts from: this replica's Service -->
  <interserver_http_host>${xmlEscape(replica.name)}</interserver_http_host>
</clickhouse>
`;
}

const USERS_XML = `<clickhouse>
  <profiles>
    <herodotus_reader>
      <!-- 2: no writes or DDL, but per-query settings (max_execution_time) are allowed -->
      <readonly>2</readonly>
    </herodotus_reader>
  </profiles>
  <users>
    <!-- the image's passwordless default user: this pod only -->
    <default>
      <networks replace="replace">
        <ip>::1</ip>
        <ip>127.0.0.1</ip>
      </networks>
    </default>
    <${CLICKHOUSE_USERS.writer}>
      <password from_env="CH_HERODOTUS_PASSWORD"/>
      <networks><ip>::/0</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
      <access_management>1</access_management>
    </${CLICKHOUSE_USERS.writer}>
    <${CLICKHOUSE_USERS.reader}>
      <password from_env="CH_READER_PASSWORD"/>
      <networks><ip>::/0</ip></networks>
      <profile>herodotus_reader</profile>
      <quota>default</quota>
    </${CLICKHOUSE_USERS.reader}>
  </users>
</clickhouse>
`;

function keeperXml(): string {
  const servers = keeperHosts()
    .map(
      (h, i) => `      <server>
        <id>${i + 1}</id>
        <hostname>${h}</hostname>
        <port>${KEEPER.raft}</port>
      </server>`,
    )
    .join('\n');
  return `<clickhouse>
  <listen_host>0.0.0.0</listen_host>
  <path>/var/lib/clickhouse-keeper/</path>
  <logger>
    <level>information</level>
    <console>1</console>
  </logger>
  <keeper_server>
    <tcp_port>${KEEPER.client}</tcp_port>
    <!-- 1..${KEEPER.replicas}: the pod's index (StatefulSet ordinals start at 1) -->
    <server_id from_env="KEEPER_SERVER_ID"/>
    <log_storage_path>/var/lib/clickhouse-keeper/coordination/log</log_storage_path>
    <snapshot_storage_path>/var/lib/clickhouse-keeper/coordination/snapshots</snapshot_storage_path>
    <coordination_settings>
      <operation_timeout_ms>10000</operation_timeout_ms>
      <session_timeout_ms>30000</session_timeout_ms>
      <raft_logs_level>warning</raft_logs_level>
    </coordination_settings>
    <raft_configuration>
${servers}
    </raft_configuration>
  </keeper_server>
  <http_control>
    <port>${KEEPER.http}</port>
    <readiness>
      <endpoint>/ready</endpoint>
    </readiness>
  </http_control>
</clickhouse>
`;
}

// ---------------------------------------------------------- objects ---

const RESTRICTED: Obj = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
};

export function replicaConfigMapName(replica: Replica): string {
  return `${replica.name}-macros`;
}

function serverStatefulSet(topology: Topology, shard: Shard, replica: Replica): Obj {
  const labels = { ...SERVER_LABELS, [SHARD_LABEL]: String(shard.index), [REPLICA_LABEL]: replica.name };
  const secretEnv = (name: string, key: string): Obj => ({ name, valueFrom: { secretKeyRef: { name: CLICKHOUSE_SECRET, key } } });
  const ping = { httpGet: { path: '/ping', port: 'http' } };
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: replica.name, labels },
    spec: {
      serviceName: replica.name,
      replicas: 1,
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: { 'app.kubernetes.io/name': 'clickhouse', [REPLICA_LABEL]: replica.name } },
      template: {
        metadata: { labels },
        spec: {
          terminationGracePeriodSeconds: 60,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 101,
            runAsGroup: 101,
            fsGroup: 101,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          affinity: {
            podAntiAffinity: {
              // Never both replicas of a shard on one node.
              requiredDuringSchedulingIgnoredDuringExecution: [
                {
                  labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'clickhouse', [SHARD_LABEL]: String(shard.index) } },
                  topologyKey: 'kubernetes.io/hostname',
                },
              ],
              preferredDuringSchedulingIgnoredDuringExecution: [
                {
                  weight: 100,
                  podAffinityTerm: {
                    labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'clickhouse' } },
                    topologyKey: 'kubernetes.io/hostname',
                  },
                },
                {
                  weight: 50,
                  podAffinityTerm: {
                    labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'clickhouse', [SHARD_LABEL]: String(shard.index) } },
                    topologyKey: 'topology.kubernetes.io/zone',
                  },
                },
              ],
            },
          },
          containers: [
            {
              name: 'clickhouse',
              image: CLICKHOUSE_IMAGE,
              env: [
                // Users come from users.d (below), not from the entrypoint's CLICKHOUSE_* variables.
                { name: 'CLICKHOUSE_SKIP_USER_SETUP', value: '1' },
                secretEnv('CH_HERODOTUS_PASSWORD', 'password'),
                secretEnv('CH_READER_PASSWORD', 'read-password'),
                secretEnv('CH_INTERSERVER_PASSWORD', 'interserver-password'),
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
            },
          ],
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
          metadata: { name: 'data', labels: { 'app.kubernetes.io/name': 'clickhouse', [REPLICA_LABEL]: replica.name } },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '50Gi' } } },
        },
      ],
    },
  };
}

export function renderClickHouse(topology: Topology): Obj[] {
  const docs: Obj[] = [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'clickhouse-config', labels: SERVER_LABELS },
      data: {
        'server.xml': SERVER_XML,
        'remote-servers.xml': remoteServersXml(topology),
        'keeper-client.xml': keeperClientXml(),
      },
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'clickhouse-users', labels: SERVER_LABELS },
      data: { 'herodotus-users.xml': USERS_XML },
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
  for (const shard of topology.shards) {
    for (const replica of shard.replicas) {
      const labels = { ...SERVER_LABELS, [SHARD_LABEL]: String(shard.index), [REPLICA_LABEL]: replica.name };
      docs.push(
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: replicaConfigMapName(replica), labels },
          data: { 'macros.xml': macrosXml(shard, replica, topology.cluster) },
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
        serverStatefulSet(topology, shard, replica),
      );
    }
    docs.push({
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name: `clickhouse-s${shard.index}`, labels: { ...SERVER_LABELS, [SHARD_LABEL]: String(shard.index) } },
      spec: {
        maxUnavailable: 1,
        selector: { matchLabels: { 'app.kubernetes.io/name': 'clickhouse', [SHARD_LABEL]: String(shard.index) } },
      },
    });
  }
  return docs;
}

export function renderKeeper(): Obj[] {
  const selector = { 'app.kubernetes.io/name': KEEPER.name };
  const ready = { httpGet: { path: '/ready', port: 'control' } };
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
        selector,
        ports: [
          { name: 'client', port: KEEPER.client },
          { name: 'raft', port: KEEPER.raft },
        ],
      },
    },
    {
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
        selector: { matchLabels: selector },
        template: {
          metadata: { labels: KEEPER_LABELS },
          spec: {
            terminationGracePeriodSeconds: 30,
            securityContext: {
              runAsNonRoot: true,
              runAsUser: 101,
              runAsGroup: 101,
              fsGroup: 101,
              seccompProfile: { type: 'RuntimeDefault' },
            },
            affinity: {
              podAntiAffinity: {
                requiredDuringSchedulingIgnoredDuringExecution: [
                  { labelSelector: { matchLabels: selector }, topologyKey: 'kubernetes.io/hostname' },
                ],
              },
            },
            containers: [
              {
                name: 'keeper',
                image: KEEPER_IMAGE,
                env: [
                  { name: 'KEEPER_SERVER_ID', valueFrom: { fieldRef: { fieldPath: "metadata.labels['apps.kubernetes.io/pod-index']" } } },
                ],
                ports: [
                  { name: 'client', containerPort: KEEPER.client },
                  { name: 'raft', containerPort: KEEPER.raft },
                  { name: 'control', containerPort: KEEPER.http },
                ],
                readinessProbe: { ...ready, periodSeconds: 5, failureThreshold: 3 },
                livenessProbe: { tcpSocket: { port: 'client' }, initialDelaySeconds: 30, periodSeconds: 10, failureThreshold: 6 },
                resources: { requests: { cpu: '250m', memory: '512Mi' }, limits: { memory: '1Gi' } },
                securityContext: RESTRICTED,
                volumeMounts: [
                  { name: 'data', mountPath: '/var/lib/clickhouse-keeper' },
                  { name: 'config', mountPath: '/etc/clickhouse-keeper', readOnly: true },
                ],
              },
            ],
            volumes: [{ name: 'config', configMap: { name: KEEPER.name } }],
          },
        },
        volumeClaimTemplates: [
          {
            metadata: { name: 'data', labels: selector },
            spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Gi' } } },
          },
        ],
      },
    },
    {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name: KEEPER.name, labels: KEEPER_LABELS },
      // 2 of 3 keep the quorum.
      spec: { maxUnavailable: 1, selector: { matchLabels: selector } },
    },
  ];
}

const HEADER = `# Generated by k8s/render/k8s-config.ts from lib/clickhouse/topology.ts. Do not edit:
# change the generator or TOPOLOGY, then run: npx tsx k8s/render/k8s-config.ts
`;

/** The generated files: path relative to the checkout → contents. */
export function renderFiles(topology: Topology = TOPOLOGY): Record<string, string> {
  return {
    [`${GENERATED_DIR}/clickhouse.yaml`]: toYaml(renderClickHouse(topology), HEADER),
    [`${GENERATED_DIR}/keeper.yaml`]: toYaml(renderKeeper(), HEADER),
  };
}

/** Files whose committed contents differ from what renderFiles gives. */
export function staleFiles(root: string = PROJECT_ROOT): string[] {
  return Object.entries(renderFiles()).flatMap(([rel, text]) => {
    const file = path.join(root, rel);
    return fs.existsSync(file) && fs.readFileSync(file, 'utf8') === text ? [] : [rel];
  });
}

function main(argv: string[]): number {
  if (argv.includes('--check')) {
    const stale = staleFiles();
    for (const f of stale) process.stderr.write(`k8s-config: ${f} is out of date; run: npx tsx k8s/render/k8s-config.ts\n`);
    return stale.length === 0 ? 0 : 1;
  }
  for (const [rel, text] of Object.entries(renderFiles())) {
    const file = path.join(PROJECT_ROOT, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
    process.stderr.write(`k8s-config: wrote ${rel}\n`);
  }
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  process.exit(main(process.argv.slice(2)));
}
