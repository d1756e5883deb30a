/**
 * Where the local cluster lives and what `up` chose for it: the ports in
 * `<state dir>/cluster/cluster.json` (reused while anything runs), and the
 * folders and PID files of its members.
 *
 *   <state dir>/cluster/cluster.json          ports chosen by the first `up` (reused while anything runs)
 *   <state dir>/cluster/zookeeper/            zoo.cfg, data/, zookeeper.log, zookeeper.pid
 *   <state dir>/cluster/<replica name>/       config.xml, users.xml, data/, logs/, server.pid
 */
import fs from 'node:fs';
import path from 'node:path';
import { allPorts, replicasOf, serversWithPorts, type ClusterServer, type PortBases } from './clickhouse-config';
import type { Topology } from '../../lib/clickhouse/topology';
import { freePort } from './ports';

/** What `up` chose; `status`, `down` and later `up`s read it. */
export interface ClusterState {
  cluster: string;
  /** When these ports were chosen. */
  created: string;
  zookeeper: { port: number };
  servers: ClusterServer[];
}

export function clusterDir(stateDir: string): string {
  return path.join(stateDir, 'cluster');
}

const stateFile = (dir: string) => path.join(dir, 'cluster.json');
export const zkDir = (dir: string) => path.join(dir, 'zookeeper');
export const zkPidFile = (dir: string) => path.join(zkDir(dir), 'zookeeper.pid');
export const serverDir = (dir: string, name: string) => path.join(dir, name);
export const serverPidFile = (dir: string, name: string) => path.join(serverDir(dir, name), 'server.pid');

export function readClusterState(stateDir: string): ClusterState | undefined {
  try {
    return JSON.parse(fs.readFileSync(stateFile(clusterDir(stateDir)), 'utf8')) as ClusterState;
  } catch {
    return undefined;
  }
}

export function writeClusterState(dir: string, state: ClusterState): void {
  fs.writeFileSync(stateFile(dir), `${JSON.stringify(state, null, 2)}\n`);
}

/** The HTTP endpoint of the first replica: where ad-hoc queries of the Distributed tables go. */
export function clusterUrl(state: ClusterState): string {
  return `http://127.0.0.1:${state.servers[0]!.ports.http}`;
}

/** What CLICKHOUSE_SHARDS should say for this cluster: each shard's replicas, in shard order. */
export function clusterShards(state: ClusterState): string {
  const shards = [...new Set(state.servers.map((s) => s.shard))].sort((a, b) => a - b);
  return shards
    .map((shard) =>
      state.servers
        .filter((s) => s.shard === shard)
        .map(serverUrl)
        .join(','),
    )
    .join(';');
}

/** HTTP endpoint of one server. */
export function serverUrl(server: ClusterServer): string {
  return `http://127.0.0.1:${server.ports.http}`;
}

async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

/** Fresh state for the topology: the given port bases, or ports the OS reports free. */
export async function chooseState(topology: Topology, ports: PortBases | 'free'): Promise<ClusterState> {
  const replicas = replicasOf(topology);
  let zookeeper: number;
  let servers: ClusterServer[];
  if (ports === 'free') {
    const p = await freePorts(1 + replicas.length * 3);
    zookeeper = p[0]!;
    servers = replicas.map((r, i) => ({ ...r, ports: { http: p[1 + i * 3]!, tcp: p[2 + i * 3]!, interserver: p[3 + i * 3]! } }));
  } else {
    zookeeper = ports.zookeeper;
    servers = serversWithPorts(topology, ports);
  }
  const all = allPorts(zookeeper, servers);
  if (new Set(all).size !== all.length)
    throw new Error(`cluster ports overlap: ${all.join(', ')}; choose port bases at least ${replicas.length} apart`);
  return { cluster: topology.cluster, created: new Date().toISOString(), zookeeper: { port: zookeeper }, servers };
}

export function sameTopology(state: ClusterState, topology: Topology): boolean {
  const want = replicasOf(topology);
  return (
    state.cluster === topology.cluster &&
    state.servers.length === want.length &&
    want.every((r, i) => state.servers[i]?.name === r.name && state.servers[i]?.shard === r.shard)
  );
}

/** [name, PID file] of every process of the cluster, ZooKeeper first. */
export function memberPidFiles(dir: string, state: ClusterState | undefined): [string, string][] {
  const servers = state?.servers.map((s) => s.name) ?? listServerDirs(dir);
  return [['zookeeper', zkPidFile(dir)], ...servers.map((name): [string, string] => [name, serverPidFile(dir, name)])];
}

/** Server folders that hold a PID file (when cluster.json is gone). */
function listServerDirs(dir: string): string[] {
  try {
    return fs.readdirSync(dir).filter((n) => n !== 'zookeeper' && fs.existsSync(serverPidFile(dir, n)));
  } catch {
    return [];
  }
}
