/**
 * One clickhouse-server 18.16 of the local cluster: its config files, the
 * daemon that runs it, when it counts as ready, and what `status` asks it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { serverVersion } from '../../lib/clickhouse/store-server';
import type { Topology } from '../../lib/clickhouse/topology';
import { ManagedProcess, waitFor } from './child';
import { serverConfigXml, usersXml, type ClusterServer } from './clickhouse-config';
import { serverDir, serverPidFile, serverUrl, type ClusterState } from './cluster-state';
import { CLICKHOUSE_SERVER_BIN } from './cluster-packages';

/**
 * Clients of the cluster tooling log only errors: refused connections while a
 * server boots are expected, and failures reach the caller as exceptions anyway.
 */
export function quietClient(url: string, timeoutMs: number): ClickHouseClient {
  return createClient({ url, request_timeout: timeoutMs, log: { level: ClickHouseLogLevel.ERROR } });
}

function serverClient(server: ClusterServer, timeoutMs: number): ClickHouseClient {
  return quietClient(serverUrl(server), timeoutMs);
}

async function rows<T>(client: ClickHouseClient, query: string): Promise<T[]> {
  const rs = await client.query({ query, format: 'JSONEachRow' });
  return rs.json<T>();
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function checkIdent(what: string, name: string): string {
  if (!IDENT.test(name)) throw new Error(`${what} '${name}' is not a plain identifier`);
  return name;
}

/** config.xml, users.xml and the data and log folders of every server (rewritten on every `up`: same ports, same content). */
export function writeServerConfigs(dir: string, state: ClusterState, topology: Topology): void {
  for (const server of state.servers) {
    const sdir = serverDir(dir, server.name);
    fs.mkdirSync(path.join(sdir, 'logs'), { recursive: true });
    fs.mkdirSync(path.join(sdir, 'data'), { recursive: true });
    const xml = serverConfigXml({
      topology,
      server,
      servers: state.servers,
      zookeeperPort: state.zookeeper.port,
      dataDir: path.join(sdir, 'data'),
      logDir: path.join(sdir, 'logs'),
    });
    fs.writeFileSync(path.join(sdir, 'config.xml'), xml);
    fs.writeFileSync(path.join(sdir, 'users.xml'), usersXml());
  }
}

/** Starts one server as a daemon recorded in `<name>/server.pid`; ready once `waitServerReady` returns. */
export function startServer(dir: string, server: ClusterServer): Promise<ManagedProcess> {
  const sdir = serverDir(dir, server.name);
  return ManagedProcess.startDaemon({
    name: server.name,
    command: CLICKHOUSE_SERVER_BIN,
    args: [`--config-file=${path.join(sdir, 'config.xml')}`],
    cwd: sdir,
    logFile: path.join(sdir, 'logs', 'console.log'),
    moreLogFiles: [path.join(sdir, 'logs', 'server.err.log')],
    pidFile: serverPidFile(dir, server.name),
  });
}

/**
 * Ready = it answers /ping, sees every replica of the cluster in
 * system.clusters, its ZooKeeper session works, and no replicated table is
 * read-only.
 */
async function serverReady(client: ClickHouseClient, topology: Topology, replicas: number): Promise<boolean> {
  const ping = await client.ping();
  if (!ping.success) return false;
  const [clusters] = await rows<{ n: string }>(
    client,
    `SELECT count() AS n FROM system.clusters WHERE cluster = '${checkIdent('cluster', topology.cluster)}'`,
  );
  if (Number(clusters?.n) !== replicas) return false;
  await rows(client, `SELECT name FROM system.zookeeper WHERE path = '/'`);
  // Replicated tables accept inserts only once their replica is active in ZooKeeper (after a
  // crash, not before the old session expired).
  const [readonly] = await rows<{ n: string }>(client, 'SELECT count() AS n FROM system.replicas WHERE is_readonly');
  return Number(readonly?.n) === 0;
}

/** Waits until the server is ready; fails at once if `daemon` (the server, when this `up` started it) exits meanwhile. */
export async function waitServerReady(
  server: ClusterServer,
  state: ClusterState,
  topology: Topology,
  timeoutMs: number,
  daemon?: ManagedProcess,
): Promise<void> {
  const client = serverClient(server, 10_000);
  try {
    const check = () => serverReady(client, topology, state.servers.length);
    const what = `ClickHouse ${server.name} on 127.0.0.1:${server.ports.http}`;
    await waitFor(check, { what, timeoutMs, intervalMs: 250, process: daemon });
  } finally {
    await client.close();
  }
}

export interface ServerProbe {
  /** It answered SELECT version(). */
  responding: boolean;
  version?: string;
  /** Replicated tables on this server: how many, how many read-only, queued replication entries. */
  replication?: { tables: number; readonly: number; queue: number };
  error?: string;
}

/** What `status` reports of a running server. */
export async function probeServer(server: ClusterServer): Promise<ServerProbe> {
  const probe: ServerProbe = { responding: false };
  const client = serverClient(server, 5000);
  try {
    probe.version = await serverVersion(client);
    probe.responding = true;
    const [r] = await rows<{ tables: string; readonly: string; queue: string }>(
      client,
      'SELECT count() AS tables, sum(is_readonly) AS readonly, sum(queue_size) AS queue FROM system.replicas',
    );
    probe.replication = { tables: Number(r?.tables ?? 0), readonly: Number(r?.readonly ?? 0), queue: Number(r?.queue ?? 0) };
  } catch (err) {
    probe.error = (err as Error).message;
  } finally {
    await client.close();
  }
  return probe;
}

/** system.clusters for `cluster` as this server sees it, in shard and replica order. */
export async function systemClusters(
  server: ClusterServer,
  cluster: string,
): Promise<{ shard: number; replica: number; host: string; port: number }[]> {
  const client = serverClient(server, 5000);
  try {
    const found = await rows<{ shard_num: number; replica_num: number; host_address: string; port: number }>(
      client,
      `SELECT shard_num, replica_num, host_address, port FROM system.clusters WHERE cluster = '${checkIdent('cluster', cluster)}' ORDER BY shard_num, replica_num`,
    );
    return found.map((r) => ({ shard: Number(r.shard_num), replica: Number(r.replica_num), host: r.host_address, port: Number(r.port) }));
  } finally {
    await client.close();
  }
}
