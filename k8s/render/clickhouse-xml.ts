/**
 * The XML of the ClickHouse ConfigMaps: lib/clickhouse/server-xml.ts with the
 * pods' parameters (every server on the same ports, replicas reached by their
 * Services, the Keeper ensemble, passwords from the Secret), as config.d
 * files over the image's config.xml, and users.d's users.
 */
import { clusterXml, replicaXml } from '../../lib/clickhouse/server-xml';
import type { Replica, Shard, Topology } from '../../lib/clickhouse/topology';
import { comment, el, fromEnv, type XmlNode, xmlDocument } from '../../lib/clickhouse/xml';
import { CLICKHOUSE_PORTS, CLICKHOUSE_USERS, PASSWORD_ENV } from './clickhouse';
import { KEEPER, keeperHosts } from './keeper';

const doc = (body: XmlNode[]) => xmlDocument('clickhouse', body);

/** The files of ConfigMap `clickhouse-config`, the same for every replica. */
export function sharedConfigFiles(topology: Topology): Record<string, string> {
  const cluster = clusterXml(topology, {
    listenHost: '0.0.0.0',
    ports: { http: CLICKHOUSE_PORTS.http, tcp: CLICKHOUSE_PORTS.native, interserver: CLICKHOUSE_PORTS.interserver },
    log: { console: true },
    memory: { ramRatio: 0.8 },
    interserver: { user: CLICKHOUSE_USERS.interserver, passwordEnv: PASSWORD_ENV.interserver },
    // remote_servers: replicas by their Service (= TOPOLOGY) names.
    address: (replica) => ({ host: replica.name, port: CLICKHOUSE_PORTS.native }),
    remoteUser: { user: CLICKHOUSE_USERS.writer, passwordEnv: PASSWORD_ENV.writer },
    coordination: { nodes: keeperHosts().map((host) => ({ host, port: KEEPER.client })), sessionTimeoutMs: 30000 },
  });
  return {
    'server.xml': doc(cluster.server),
    'remote-servers.xml': doc(cluster.remoteServers),
    'keeper-client.xml': doc(cluster.coordination),
  };
}

/** macros.xml of a replica's own ConfigMap; other replicas fetch its parts from its Service. */
export function macrosXml(topology: Topology, shard: Shard, replica: Replica): string {
  return doc(replicaXml({ cluster: topology.cluster, shard: shard.index, replica: replica.name, interserverHost: replica.name }));
}

function passwordUser(name: string, passwordEnv: string, profile: string, extra: XmlNode[] = []): XmlNode {
  return el(name, [
    fromEnv('password', passwordEnv),
    el('networks', [el('ip', '::/0')]),
    el('profile', profile),
    el('quota', 'default'),
    ...extra,
  ]);
}

/** herodotus-users.xml of ConfigMap `clickhouse-users`: the writer and the reader, merged into the image's users.xml. */
export function usersXml(): string {
  return doc([
    el('profiles', [
      el('herodotus_reader', [comment('2: no writes or DDL, but per-query settings (max_execution_time) are allowed'), el('readonly', 2)]),
    ]),
    el('users', [
      comment("the image's passwordless default user: this pod only"),
      el('default', [el('networks', [el('ip', '::1'), el('ip', '127.0.0.1')], { replace: 'replace' })]),
      passwordUser(CLICKHOUSE_USERS.writer, PASSWORD_ENV.writer, 'default', [el('access_management', 1)]),
      passwordUser(CLICKHOUSE_USERS.reader, PASSWORD_ENV.reader, 'herodotus_reader'),
    ]),
  ]);
}
