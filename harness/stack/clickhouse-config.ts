/**
 * Configuration files of the local 4-server cluster (`herodotus cluster up`),
 * made from TOPOLOGY: ZooKeeper's zoo.cfg and, per ClickHouse server, a
 * config.xml (lib/clickhouse/server-xml.ts with this machine's hosts, ports,
 * paths and ZooKeeper) and a users.xml (profiles, users, quotas).
 *
 * Written for Debian's clickhouse-server 18.16: the root element is <yandex>,
 * and the server refuses to start without <logger>, <mark_cache_size> and the
 * users file, or with a setting it does not know (also inside a profile). So
 * everything here is a setting 18.16 has; newer servers accept it too.
 * Everything listens on 127.0.0.1 only and the default user has no password:
 * a developer's cluster, never reachable from outside this machine.
 */
import { clusterXml, replicaXml, type ServerPorts } from '../../lib/clickhouse/server-xml';
import type { Replica, Topology } from '../../lib/clickhouse/topology';
import { el, xmlDocument } from '../../lib/clickhouse/xml';

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

const WRITTEN = "Written by harness/stack/cluster.ts on every 'herodotus cluster up'; edits are overwritten.";

/** config.xml of one server: the whole config, every section in one file. */
export function serverConfigXml(o: ServerConfigOptions): string {
  const tcpPort = (replica: Replica): number => {
    const server = o.servers.find((s) => s.name === replica.name);
    if (!server) throw new Error(`no local server for replica ${replica.name} of the topology`);
    return server.ports.tcp;
  };
  const cluster = clusterXml(o.topology, {
    listenHost: '127.0.0.1',
    ports: o.server.ports,
    log: { dir: o.logDir },
    // Four servers share one small machine.
    memory: { markCacheBytes: 134217728, uncompressedCacheBytes: 134217728 },
    dataDir: o.dataDir,
    address: (replica) => ({ host: '127.0.0.1', port: tcpPort(replica) }),
    coordination: { nodes: [{ host: '127.0.0.1', port: o.zookeeperPort }], sessionTimeoutMs: 15000 },
  });
  const replica = replicaXml({ cluster: o.topology.cluster, shard: o.server.shard, replica: o.server.name, interserverHost: '127.0.0.1' });
  const about = `${o.server.name}: shard ${o.server.shard}, replica ${o.server.replica} of cluster ${o.topology.cluster}`;
  return xmlDocument('yandex', [...cluster.server, ...cluster.remoteServers, ...cluster.coordination, ...replica], [WRITTEN, about]);
}

/** users.xml: the passwordless default user, from loopback only. */
export function usersXml(): string {
  const quotaInterval = el('interval', [
    el('duration', 3600),
    ...['queries', 'errors', 'result_rows', 'read_rows', 'execution_time'].map((limit) => el(limit, 0)),
  ]);
  const loopback = el('networks', [el('ip', '127.0.0.1'), el('ip', '::1')]);
  return xmlDocument(
    'yandex',
    [
      el('profiles', [el('default', [el('max_memory_usage', 4000000000)]), el('readonly', [el('readonly', 1)])]),
      el('users', [el('default', [el('password', ''), loopback, el('profile', 'default'), el('quota', 'default')])]),
      el('quotas', [el('default', [quotaInterval])]),
    ],
    [WRITTEN],
  );
}
