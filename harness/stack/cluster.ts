/**
 * The local ClickHouse cluster of TOPOLOGY (2 shards × 2 replicas) on this
 * machine: ZooKeeper (Debian's zookeeper, QuorumPeerMain standalone) and four
 * Debian clickhouse-server 18.16 processes, all on 127.0.0.1, with their
 * configs, data and logs under `<state dir>/cluster/` (see cluster-state.ts).
 *
 * Unlike Kafka and Temporal under `herodotus dev`, these processes outlive the
 * command that started them (`herodotus cluster up` returns once the cluster
 * is ready): they run as daemons (harness/stack/child.ts), in their own
 * session, and each one's PID and exact argv are recorded in a PID file
 * (harness/stack/pid-file.ts). `down` and `status` act only on processes whose
 * PID still runs exactly the recorded argv — never on anything found by name.
 *
 * This file holds the entry points: up, down, status, and stopping one member
 * as a fault; ZooKeeper and the servers are in zookeeper.ts and
 * clickhouse-server.ts.
 */
import fs from 'node:fs';
import { serverVersion } from '../../lib/clickhouse/store-server';
import { TOPOLOGY, type Topology } from '../../lib/clickhouse/topology';
import { type ManagedProcess, waitFor } from './child';
import { serversWithPorts, type ClusterServer, type PortBases } from './clickhouse-config';
import { probeServer, quietClient, startServer, systemClusters, waitServerReady, writeServerConfigs } from './clickhouse-server';
import { applySchemaOnCluster } from './cluster-schema';
import {
  chooseState,
  clusterDir,
  clusterShards,
  clusterUrl,
  memberPidFiles,
  readClusterState,
  sameTopology,
  serverPidFile,
  writeClusterState,
  zkPidFile,
  type ClusterState,
} from './cluster-state';
import { ensureClusterPackages } from './cluster-packages';
import { killPid, runningRecorded, stopPid } from './pid-file';
import { isPortOpen } from './ports';
import { probeZookeeper, startZookeeper, writeZookeeperConfig, zookeeperReady } from './zookeeper';

const running = (pidFile: string) => runningRecorded(pidFile) !== undefined;

// -------------------------------------------------------------------- up ---

export interface ClusterUpOptions {
  stateDir: string;
  /** Port bases (server i gets base + i), or 'free' for ports the OS reports free; recorded in cluster.json. */
  ports: PortBases | 'free';
  /** Database whose schema is applied ON CLUSTER once the servers are ready; null for none. */
  database: string | null;
  topology?: Topology;
  progress?: (line: string) => void;
  /** Per process; default 180 s (a busy 2-core machine). */
  readyTimeoutMs?: number;
}

export interface ClusterUpResult {
  state: ClusterState;
  url: string;
  /** CLICKHOUSE_SHARDS for this cluster. */
  shards: string;
  /** Server version as the first replica reports it. */
  version: string;
  /** Names of the processes this call started (the others were already running). */
  started: string[];
  pids: Record<string, number>;
  /** Milliseconds: package check/installation, ZooKeeper ready, all servers ready, schema, total. */
  timings: { packages: number; zookeeper: number; servers: number; schema: number; total: number };
}

/** One `up` under way: where, what, and the daemons it started so far (stopped again if it fails). */
interface Up {
  dir: string;
  state: ClusterState;
  topology: Topology;
  progress: (line: string) => void;
  readyTimeoutMs: number;
  launched: ManagedProcess[];
}

/**
 * Starts whatever part of the cluster is not running (all of it, normally),
 * waits until every server sees the whole cluster and ZooKeeper, and applies
 * the schema ON CLUSTER. Idempotent: on a running cluster it only re-applies
 * the schema (CREATE … IF NOT EXISTS).
 */
export async function clusterUp(opts: ClusterUpOptions): Promise<ClusterUpResult> {
  const t0 = Date.now();
  const topology = opts.topology ?? TOPOLOGY;
  const progress = opts.progress ?? (() => {});
  await ensureClusterPackages(progress);
  const t1 = Date.now();

  const dir = clusterDir(opts.stateDir);
  fs.mkdirSync(dir, { recursive: true });
  const state = await settleState(dir, opts, topology, progress);
  const zkRunning = running(zkPidFile(dir));
  const toStart = state.servers.filter((s) => !running(serverPidFile(dir, s.name)));
  await checkPortsFree([
    ...(zkRunning ? [] : [state.zookeeper.port]),
    ...toStart.flatMap((s) => [s.ports.http, s.ports.tcp, s.ports.interserver]),
  ]);

  // Configs are rewritten on every up (same ports, same content for running servers).
  writeZookeeperConfig(dir, state.zookeeper.port);
  writeServerConfigs(dir, state, topology);

  const up: Up = { dir, state, topology, progress, readyTimeoutMs: opts.readyTimeoutMs ?? 180_000, launched: [] };
  try {
    if (!zkRunning) await launchZookeeper(up);
    const t2 = Date.now();
    await launchServers(up, toStart);
    const t3 = Date.now();
    const url = clusterUrl(state);
    const version = await schemaOrVersion(url, opts.database, topology.cluster, progress);
    const t4 = Date.now();
    return {
      state,
      url,
      shards: clusterShards(state),
      version,
      started: up.launched.map((d) => d.name),
      pids: runningPids(dir, state),
      timings: { packages: t1 - t0, zookeeper: t2 - t1, servers: t3 - t2, schema: t4 - t3, total: t4 - t0 },
    };
  } catch (err) {
    await stopLaunched(up);
    throw err;
  }
}

/** The recorded state while anything of the cluster runs, else fresh ports (recorded in cluster.json). */
async function settleState(
  dir: string,
  opts: ClusterUpOptions,
  topology: Topology,
  progress: (line: string) => void,
): Promise<ClusterState> {
  const previous = readClusterState(opts.stateDir);
  const anyRunning = (s: ClusterState) => running(zkPidFile(dir)) || s.servers.some((server) => running(serverPidFile(dir, server.name)));
  if (previous === undefined || !anyRunning(previous)) {
    const state = await chooseState(topology, opts.ports);
    writeClusterState(dir, state);
    return state;
  }
  // Finish starting a partly running cluster on the ports it already uses.
  if (!sameTopology(previous, topology)) {
    throw new Error(`a cluster with another topology is running from ${dir}; stop it first: herodotus cluster down`);
  }
  const asked = opts.ports === 'free' ? undefined : opts.ports;
  const differs =
    asked !== undefined &&
    (asked.zookeeper !== previous.zookeeper.port ||
      serversWithPorts(topology, asked).some((s, i) => JSON.stringify(s.ports) !== JSON.stringify(previous.servers[i]?.ports)));
  if (differs) progress('the cluster is (partly) running: keeping the ports recorded in cluster.json');
  return previous;
}

async function checkPortsFree(ports: number[]): Promise<void> {
  for (const port of ports) {
    if (await isPortOpen('127.0.0.1', port)) {
      throw new Error(`cannot start the cluster: port ${port} on 127.0.0.1 is already in use (choose other ports, or --free-ports)`);
    }
  }
}

async function launchZookeeper(up: Up): Promise<void> {
  const port = up.state.zookeeper.port;
  up.progress(`starting ZooKeeper on 127.0.0.1:${port}`);
  const daemon = await startZookeeper(up.dir);
  up.launched.push(daemon);
  await waitFor(() => zookeeperReady(port), {
    what: `ZooKeeper on 127.0.0.1:${port}`,
    timeoutMs: up.readyTimeoutMs,
    intervalMs: 250,
    process: daemon,
  });
}

async function launchServers(up: Up, toStart: ClusterServer[]): Promise<void> {
  const starting = await Promise.all(
    toStart.map(async (server) => {
      up.progress(
        `starting ${server.name} (shard ${server.shard}, replica ${server.replica}) on http ${server.ports.http}, tcp ${server.ports.tcp}`,
      );
      const daemon = await startServer(up.dir, server);
      up.launched.push(daemon);
      return { server, daemon };
    }),
  );
  // Every server, also one that was already running, must see the whole cluster.
  await Promise.all(
    up.state.servers.map((server) =>
      waitServerReady(server, up.state, up.topology, up.readyTimeoutMs, starting.find((s) => s.server === server)?.daemon),
    ),
  );
}

/** Applies the schema ON CLUSTER (database null: none) and returns the server version. */
async function schemaOrVersion(url: string, database: string | null, cluster: string, progress: (line: string) => void): Promise<string> {
  if (database !== null) {
    progress(`applying the schema of database ${database} ON CLUSTER ${cluster}`);
    return (await applySchemaOnCluster({ url, database, cluster })).version;
  }
  const client = quietClient(url, 30_000);
  return serverVersion(client).finally(() => client.close());
}

function runningPids(dir: string, state: ClusterState): Record<string, number> {
  const pids: Record<string, number> = {};
  for (const [name, pidFile] of memberPidFiles(dir, state)) {
    const rec = runningRecorded(pidFile);
    if (rec) pids[name] = rec.pid;
  }
  return pids;
}

/** Leave nothing half-started behind: stop what this call started (by PID), servers before ZooKeeper. */
async function stopLaunched({ dir, state, launched }: Up): Promise<void> {
  await Promise.all(launched.filter((d) => d.name !== 'zookeeper').map((d) => d.stop({ timeoutMs: 20_000 })));
  await Promise.all(launched.filter((d) => d.name === 'zookeeper').map((d) => d.stop({ timeoutMs: 20_000 })));
  for (const [, pidFile] of memberPidFiles(dir, state)) if (!runningRecorded(pidFile)) fs.rmSync(pidFile, { force: true });
}

// ---------------------------------------------------------------- faults ---

/**
 * Stops one running member (`zookeeper` or a replica name) by its recorded
 * PID, with `kill -9` or a clean SIGTERM, and waits until it is gone: a fault
 * for tests and scenarios; `clusterUp` brings it back.
 */
export async function stopClusterMember(stateDir: string, name: string, how: 'kill' | 'stop'): Promise<number> {
  const dir = clusterDir(stateDir);
  const pidFile = name === 'zookeeper' ? zkPidFile(dir) : serverPidFile(dir, name);
  const rec = runningRecorded(pidFile);
  if (!rec) throw new Error(`${name} is not running (no live PID in ${pidFile})`);
  if (how === 'kill') await killPid(rec.pid);
  else await stopPid(rec.pid, 60_000);
  return rec.pid;
}

// ------------------------------------------------------------------ down ---

export interface StoppedProcess {
  name: string;
  pid: number;
  how: 'terminated' | 'killed';
}

/**
 * Stops the processes `up` recorded (servers first, then ZooKeeper), each by
 * its PID and only if that PID still runs the recorded argv; removes their
 * PID files. Data stays unless `wipe`.
 */
export async function clusterDown(stateDir: string, opts: { timeoutMs?: number; wipe?: boolean } = {}): Promise<StoppedProcess[]> {
  const dir = clusterDir(stateDir);
  const members = memberPidFiles(dir, readClusterState(stateDir));
  const stop = async ([name, pidFile]: [string, string]): Promise<StoppedProcess | undefined> => {
    const rec = runningRecorded(pidFile);
    let result: StoppedProcess | undefined;
    if (rec) result = { name, pid: rec.pid, how: await stopPid(rec.pid, opts.timeoutMs ?? 30_000) };
    fs.rmSync(pidFile, { force: true });
    return result;
  };
  const servers = await Promise.all(members.filter(([n]) => n !== 'zookeeper').map(stop));
  const zookeeper = await Promise.all(members.filter(([n]) => n === 'zookeeper').map(stop));
  if (opts.wipe) fs.rmSync(dir, { recursive: true, force: true });
  return [...servers, ...zookeeper].filter((s): s is StoppedProcess => s !== undefined);
}

// ---------------------------------------------------------------- status ---

export interface MemberStatus {
  name: string;
  kind: 'zookeeper' | 'clickhouse';
  shard?: number;
  replica?: number;
  /** http/tcp/interserver for servers, client for ZooKeeper. */
  ports: Record<string, number>;
  pid?: number;
  alive: boolean;
  /** It answered (srvr / SELECT version()). */
  responding: boolean;
  version?: string;
  /** Replicated tables on this server: how many, how many read-only, queued replication entries. */
  replication?: { tables: number; readonly: number; queue: number };
  error?: string;
}

export interface TopologyRow {
  shard: number;
  replica: number;
  host: string;
  port: number;
  /** Our name for the server on that port. */
  name?: string;
}

export interface ClusterStatus {
  dir: string;
  state?: ClusterState;
  url?: string;
  members: MemberStatus[];
  /** system.clusters as one responding server sees it. */
  topology?: { seenBy: string; rows: TopologyRow[] };
}

export async function clusterStatus(stateDir: string): Promise<ClusterStatus> {
  const dir = clusterDir(stateDir);
  const state = readClusterState(stateDir);
  if (!state) return { dir, members: [] };
  const zkRec = runningRecorded(zkPidFile(dir));
  const zk: MemberStatus = {
    name: 'zookeeper',
    kind: 'zookeeper',
    ports: { client: state.zookeeper.port },
    pid: zkRec?.pid,
    alive: !!zkRec,
    responding: false,
  };
  if (zkRec) Object.assign(zk, await probeZookeeper(state.zookeeper.port));
  const servers = await Promise.all(
    state.servers.map(async (server): Promise<MemberStatus> => {
      const rec = runningRecorded(serverPidFile(dir, server.name));
      const m: MemberStatus = {
        name: server.name,
        kind: 'clickhouse',
        shard: server.shard,
        replica: server.replica,
        ports: { ...server.ports },
        pid: rec?.pid,
        alive: !!rec,
        responding: false,
      };
      return rec ? Object.assign(m, await probeServer(server)) : m;
    }),
  );
  const status: ClusterStatus = { dir, state, url: clusterUrl(state), members: [zk, ...servers] };
  const seer = state.servers.find((s) => s.name === servers.find((m) => m.responding)?.name);
  if (seer) {
    try {
      const rows = await systemClusters(seer, state.cluster);
      status.topology = {
        seenBy: seer.name,
        rows: rows.map((r) => ({ ...r, name: state.servers.find((s) => s.ports.tcp === r.port)?.name })),
      };
    } catch {
      // the members' lines already say what is wrong
    }
  }
  return status;
}
