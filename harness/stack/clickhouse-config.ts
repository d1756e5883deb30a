/**
 * Configuration files of the local 4-server cluster (`herodotus cluster up`),
 * made from TOPOLOGY: ZooKeeper's zoo.cfg and, per ClickHouse server, a
 * config.xml (ports, paths, remote_servers, macros, zookeeper,
 * distributed_ddl, logger, caches) and a users.xml (profiles, users, quotas).
 *
 * Written for Debian's clickhouse-server 18.16: the root element is <yandex>,
 * and the server refuses to start without <logger>, <mark_cache_size> and the
 * users file, or with a setting it does not know (also inside a profile). So
 * everything here is a setting 18.16 has; newer servers accept it too.
 * Everything listens on 127.0.0.1 only and the default user has no password:
 * a developer's cluster, never reachable from outside this machine.
 */
import type { Topology } from '../../lib/clickhouse/topology';

export interface ServerPorts {
  http: number;
  tcp: number;
  interserver: number;
}

/** One ClickHouse server of the local cluster: a replica of TOPOLOGY with its ports. */
export interface ClusterServer {
  /** The replica's name in TOPOLOGY (the {replica} macro). */
  name: string;
  /** 1-based, the {shard} macro. */
  shard: number;
  /** 1-based position within its shard. */
  replica: number;
  ports: ServerPorts;
}

/** First ports of each kind; server i (shards in order, then replicas) gets base + i. */
export interface PortBases {
  zookeeper: number;
  http: number;
  tcp: number;
  interserver: number;
}

export const DEFAULT_PORT_BASES: PortBases = { zookeeper: 2181, http: 8123, tcp: 9000, interserver: 9009 };

/** The servers of a topology in a fixed order (shard 1 replica 1, shard 1 replica 2, shard 2 …). */
export function replicasOf(topology: Topology): Omit<ClusterServer, 'ports'>[] {
  return topology.shards.flatMap((shard) => shard.replicas.map((r, i) => ({ name: r.name, shard: shard.index, replica: i + 1 })));
}

/** Servers with consecutive ports from the bases. */
export function serversWithPorts(topology: Topology, bases: PortBases): ClusterServer[] {
  return replicasOf(topology).map((r, i) => ({
    ...r,
    ports: { http: bases.http + i, tcp: bases.tcp + i, interserver: bases.interserver + i },
  }));
}

/** Every port a cluster would listen on, to check for clashes before starting. */
export function allPorts(zookeeperPort: number, servers: ClusterServer[]): number[] {
  return [zookeeperPort, ...servers.flatMap((s) => [s.ports.http, s.ports.tcp, s.ports.interserver])];
}

const xml = (s: string | number) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * ZooKeeper standalone on loopback. The admin web server (default port 8080)
 * is off; the four-letter words srvr/ruok/mntr answer readiness and status
 * probes on the client port.
 */
export function zooCfg(opts: { dataDir: string; port: number }): string {
  return `# Written by harness/stack/cluster.ts on every 'herodotus cluster up'; edits are overwritten.
tickTime=2000
initLimit=10
syncLimit=5
dataDir=${opts.dataDir}
clientPort=${opts.port}
clientPortAddress=127.0.0.1
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=srvr,ruok,mntr
# A development cluster on a shared machine: no fsync per transaction (a process crash
# loses nothing; only an OS crash can lose the last moments), and old snapshots go away.
forceSync=no
autopurge.snapRetainCount=3
autopurge.purgeInterval=1
`;
}

export interface ServerConfigOptions {
  topology: Topology;
  server: ClusterServer;
  /** Every server of the cluster (for remote_servers). */
  servers: ClusterServer[];
  zookeeperPort: number;
  /** Server data (`<path>`), ends up holding metadata/, data/, preprocessed_configs/. */
  dataDir: string;
  /** server.log and server.err.log go here. */
  logDir: string;
}

/** config.xml of one server. */
export function serverConfigXml(o: ServerConfigOptions): string {
  const shards = o.topology.shards
    .map((shard) => {
      const replicas = o.servers
        .filter((s) => s.shard === shard.index)
        .map((s) => `        <replica><host>127.0.0.1</host><port>${s.ports.tcp}</port></replica> <!-- ${xml(s.name)} -->`)
        .join('\n');
      // internal_replication: a Distributed insert writes one replica, replication copies it.
      return `      <shard>\n        <internal_replication>true</internal_replication>\n${replicas}\n      </shard>`;
    })
    .join('\n');
  const data = o.dataDir.endsWith('/') ? o.dataDir : `${o.dataDir}/`;
  return `<?xml version="1.0"?>
<!-- Written by harness/stack/cluster.ts on every 'herodotus cluster up'; edits are overwritten. -->
<!-- ${xml(o.server.name)}: shard ${o.server.shard}, replica ${o.server.replica} of cluster ${xml(o.topology.cluster)} -->
<yandex>
  <logger>
    <level>information</level>
    <log>${xml(o.logDir)}/server.log</log>
    <errorlog>${xml(o.logDir)}/server.err.log</errorlog>
    <size>100M</size>
    <count>3</count>
  </logger>

  <listen_host>127.0.0.1</listen_host>
  <http_port>${o.server.ports.http}</http_port>
  <tcp_port>${o.server.ports.tcp}</tcp_port>
  <interserver_http_port>${o.server.ports.interserver}</interserver_http_port>
  <!-- what the other replica fetches parts from (registered in ZooKeeper) -->
  <interserver_http_host>127.0.0.1</interserver_http_host>

  <path>${xml(data)}</path>
  <tmp_path>${xml(data)}tmp/</tmp_path>
  <user_files_path>${xml(data)}user_files/</user_files_path>
  <format_schema_path>${xml(data)}format_schemas/</format_schema_path>
  <users_config>users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>

  <!-- four servers share one small machine: small caches (the package's defaults are 5 and 8 GB) -->
  <mark_cache_size>134217728</mark_cache_size>
  <uncompressed_cache_size>134217728</uncompressed_cache_size>
  <max_concurrent_queries>200</max_concurrent_queries>

  <remote_servers>
    <${xml(o.topology.cluster)}>
${shards}
    </${xml(o.topology.cluster)}>
  </remote_servers>

  <zookeeper>
    <node><host>127.0.0.1</host><port>${o.zookeeperPort}</port></node>
    <session_timeout_ms>15000</session_timeout_ms>
    <operation_timeout_ms>10000</operation_timeout_ms>
  </zookeeper>

  <macros>
    <cluster>${xml(o.topology.cluster)}</cluster>
    <shard>${o.server.shard}</shard>
    <replica>${xml(o.server.name)}</replica>
  </macros>

  <!-- ON CLUSTER DDL goes through this ZooKeeper queue -->
  <distributed_ddl>
    <path>/clickhouse/task_queue/ddl</path>
  </distributed_ddl>

  <merge_tree>
    <!-- a retried insert is recognised as a duplicate long after the first one (default: 100 blocks) -->
    <replicated_deduplication_window>10000</replicated_deduplication_window>
    <replicated_deduplication_window_seconds>604800</replicated_deduplication_window_seconds>
  </merge_tree>
</yandex>
`;
}

/** users.xml: the passwordless default user, from loopback only. */
export function usersXml(): string {
  return `<?xml version="1.0"?>
<!-- Written by harness/stack/cluster.ts on every 'herodotus cluster up'; edits are overwritten. -->
<yandex>
  <profiles>
    <default>
      <max_memory_usage>4000000000</max_memory_usage>
    </default>
    <readonly>
      <readonly>1</readonly>
    </readonly>
  </profiles>
  <users>
    <default>
      <password></password>
      <networks>
        <ip>127.0.0.1</ip>
        <ip>::1</ip>
      </networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
  </users>
  <quotas>
    <default>
      <interval>
        <duration>3600</duration>
        <queries>0</queries>
        <errors>0</errors>
        <result_rows>0</result_rows>
        <read_rows>0</read_rows>
        <execution_time>0</execution_time>
      </interval>
    </default>
  </quotas>
</yandex>
`;
}
