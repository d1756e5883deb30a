/**
 * The configuration of a ClickHouse server of TOPOLOGY's cluster, for both
 * places such servers run:
 *   - the local cluster (harness/stack/clickhouse-config.ts): Debian's
 *     clickhouse-server 18.16, one complete config.xml per server, every
 *     server on 127.0.0.1 with ports of its own, ZooKeeper standalone;
 *   - Kubernetes (k8s/render/clickhouse-xml.ts): the clickhouse-server image,
 *     config.d files merged over the image's config.xml, every server in its
 *     own pod on the same ports, a Keeper ensemble.
 * The sections are the same; hosts, ports, paths, the coordination service and
 * the settings a server version knows are parameters (ServerXmlOptions). The
 * caller groups the sections into files: clusterXml is what every server of
 * the cluster has, replicaXml what makes a server the replica it is.
 */
import type { Replica, Topology } from './topology';
import { comment, el, fromEnv, type XmlNode } from './xml';

/**
 * The root element of a config file: 18.16 reads only <yandex>; current
 * servers name it <clickhouse> (as the image's own files do).
 */
export type ConfigRoot = 'yandex' | 'clickhouse';

export interface ServerPorts {
  http: number;
  tcp: number;
  interserver: number;
}

export interface Address {
  host: string;
  port: number;
}

/** A user and the environment variable its password is read from when the server starts. */
export interface Credentials {
  user: string;
  passwordEnv: string;
}

/** Where a server logs: to the console in a container, to files in a directory elsewhere. */
export type ServerLog = { console: true } | { dir: string };

/**
 * How a server bounds its memory. 18.16 refuses to start without
 * mark_cache_size and does not know max_server_memory_usage_to_ram_ratio, so
 * it gets cache sizes; current servers get a share of the memory cgroups report.
 */
export type ServerMemory = { markCacheBytes: number; uncompressedCacheBytes: number } | { ramRatio: number };

/** ZooKeeper or a Keeper ensemble: both speak the ZooKeeper protocol to the server. */
export interface Coordination {
  nodes: Address[];
  sessionTimeoutMs: number;
}

export interface ServerXmlOptions {
  listenHost: string;
  ports: ServerPorts;
  log: ServerLog;
  memory: ServerMemory;
  /**
   * Set when the file is the server's whole config (the local cluster): where
   * its data, temporary files and users.xml are. Unset for config.d files over
   * the package's config.xml, which then replace the package's logger and
   * example clusters instead of merging into them.
   */
  dataDir?: string;
  /** What the server authenticates with to its peers' interserver port (unset: no authentication). */
  interserver?: Credentials;
  /** Where each replica of remote_servers is reached. */
  address(replica: Replica): Address;
  /** What a Distributed query logs in to the other servers as (unset: the default user without password). */
  remoteUser?: Credentials;
  coordination: Coordination;
}

/** The sections every server of the cluster has, by concern (a caller may put each in a file of its own). */
export interface ClusterXml {
  /** Listening, logging, memory, paths, MergeTree settings. */
  server: XmlNode[];
  remoteServers: XmlNode[];
  /** The coordination service and the ON CLUSTER DDL queue in it. */
  coordination: XmlNode[];
}

/** `replace="true"` on a section of a config.d file: the package's own section goes away rather than merging. */
const replacing = (o: ServerXmlOptions): Record<string, string> => (o.dataDir === undefined ? { replace: 'true' } : {});

function listenXml(o: ServerXmlOptions): XmlNode[] {
  return [
    el('listen_host', o.listenHost),
    el('http_port', o.ports.http),
    el('tcp_port', o.ports.tcp),
    el('interserver_http_port', o.ports.interserver),
    ...(o.interserver
      ? [el('interserver_http_credentials', [el('user', o.interserver.user), fromEnv('password', o.interserver.passwordEnv)])]
      : []),
  ];
}

function loggerXml(o: ServerXmlOptions): XmlNode {
  const level = el('level', 'information');
  if ('console' in o.log) return el('logger', [level, el('console', 1)], replacing(o));
  const dir = o.log.dir;
  return el('logger', [level, el('log', `${dir}/server.log`), el('errorlog', `${dir}/server.err.log`), el('size', '100M'), el('count', 3)]);
}

/** A complete config says where everything is; a config.d file keeps the package's paths. */
function pathsXml(dataDir: string): XmlNode[] {
  const data = dataDir.endsWith('/') ? dataDir : `${dataDir}/`;
  return [
    el('path', data),
    el('tmp_path', `${data}tmp/`),
    el('user_files_path', `${data}user_files/`),
    el('format_schema_path', `${data}format_schemas/`),
    el('users_config', 'users.xml'),
    el('default_profile', 'default'),
    el('default_database', 'default'),
  ];
}

function memoryXml(memory: ServerMemory): XmlNode[] {
  const limits =
    'ramRatio' in memory
      ? [
          comment("the container's memory limit is what cgroups report; leave headroom for merges"),
          el('max_server_memory_usage_to_ram_ratio', memory.ramRatio),
        ]
      : [
          comment("small caches (the package's defaults are 5 and 8 GB)"),
          el('mark_cache_size', memory.markCacheBytes),
          el('uncompressed_cache_size', memory.uncompressedCacheBytes),
        ];
  return [...limits, el('max_concurrent_queries', 200)];
}

const MERGE_TREE: XmlNode = el('merge_tree', [
  comment(
    'a retried insert is recognised as a duplicate long after the first one (default: 100 blocks); ' +
      'a replica that was away catches up by fetching parts, not by failing inserts',
  ),
  el('replicated_deduplication_window', 10000),
  el('replicated_deduplication_window_seconds', 604800),
]);

function remoteServersXml(topology: Topology, o: ServerXmlOptions): XmlNode[] {
  const replica = (r: Replica): XmlNode[] => {
    const { host, port } = o.address(r);
    const login = o.remoteUser ? [el('user', o.remoteUser.user), fromEnv('password', o.remoteUser.passwordEnv)] : [];
    return [...(host === r.name ? [] : [comment(r.name)]), el('replica', [el('host', host), el('port', port), ...login])];
  };
  const shards = topology.shards.flatMap((shard) => [
    comment(`shard ${shard.index}`),
    el('shard', [
      // Equal weights: a Distributed table then puts a sensor on shard (sensor % shard count), as shardOf (topology.ts) does.
      el('weight', 1),
      // A Distributed insert writes one replica, replication copies it.
      el('internal_replication', 'true'),
      ...shard.replicas.flatMap(replica),
    ]),
  ]);
  const replaced = o.dataDir === undefined ? [comment("replace: drop the example clusters of the server's own config.xml")] : [];
  return [...replaced, el('remote_servers', [el(topology.cluster, shards)], replacing(o))];
}

function coordinationXml(c: Coordination): XmlNode[] {
  return [
    el('zookeeper', [
      ...c.nodes.map((n) => el('node', [el('host', n.host), el('port', n.port)])),
      el('session_timeout_ms', c.sessionTimeoutMs),
      el('operation_timeout_ms', 10000),
    ]),
    comment('ON CLUSTER DDL goes through this queue'),
    el('distributed_ddl', [el('path', '/clickhouse/task_queue/ddl')]),
  ];
}

export function clusterXml(topology: Topology, o: ServerXmlOptions): ClusterXml {
  return {
    server: [loggerXml(o), ...listenXml(o), ...(o.dataDir === undefined ? [] : pathsXml(o.dataDir)), ...memoryXml(o.memory), MERGE_TREE],
    remoteServers: remoteServersXml(topology, o),
    coordination: coordinationXml(o.coordination),
  };
}

export interface ReplicaIdentity {
  cluster: string;
  /** 1-based, the {shard} macro. */
  shard: number;
  /** The replica's name in TOPOLOGY, the {replica} macro. */
  replica: string;
  /** The name other replicas fetch this replica's parts from: a host they resolve. */
  interserverHost: string;
}

export function replicaXml(id: ReplicaIdentity): XmlNode[] {
  return [
    el('macros', [el('cluster', id.cluster), el('shard', id.shard), el('replica', id.replica)]),
    comment('the name other replicas fetch parts from (each replica registers it in ZooKeeper or Keeper)'),
    el('interserver_http_host', id.interserverHost),
  ];
}
