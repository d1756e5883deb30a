/**
 * The local ClickHouse cluster of TOPOLOGY (2 shards × 2 replicas) on this
 * machine: ZooKeeper (Debian's zookeeper, QuorumPeerMain standalone) and four
 * Debian clickhouse-server 18.16 processes, all on 127.0.0.1, with their
 * configs, data and logs under `<state dir>/cluster/`.
 *
 * Unlike Kafka and Temporal under `herodotus dev`, these processes outlive the
 * command that started them (`herodotus cluster up` returns once the cluster
 * is ready): they run detached, in their own session, and each one's PID and
 * exact argv are recorded in a PID file (the format of harness/stack/child.ts).
 * `down` and `status` act only on processes whose PID still runs exactly the
 * recorded argv — never on anything found by name.
 *
 *   <state dir>/cluster/cluster.json          ports chosen by the first `up` (reused while anything runs)
 *   <state dir>/cluster/zookeeper/            zoo.cfg, data/, zookeeper.log, zookeeper.pid
 *   <state dir>/cluster/<replica name>/       config.xml, users.xml, data/, logs/, server.pid
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { featuresForVersion, renderSchema } from '../../lib/clickhouse/schema';
import { applySchema } from '../../lib/clickhouse/migrate';
import { serverVersion } from '../../lib/clickhouse/store-server';
import {
  allPorts,
  replicasOf,
  serverConfigXml,
  serversWithPorts,
  usersXml,
  zooCfg,
  type ClusterServer,
  type PortBases,
} from './clickhouse-config';
import { TOPOLOGY, type Topology } from '../../lib/clickhouse/topology';
import { waitFor } from './child';
import { CLICKHOUSE_SERVER_BIN, ensureClusterPackages, JAVA, SLF4J_SIMPLE_JAR, ZOOKEEPER_JAR } from './cluster-packages';
import { freePort, isPortOpen } from './ports';

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
const zkDir = (dir: string) => path.join(dir, 'zookeeper');
const zkPidFile = (dir: string) => path.join(zkDir(dir), 'zookeeper.pid');
const serverDir = (dir: string, name: string) => path.join(dir, name);
const serverPidFile = (dir: string, name: string) => path.join(serverDir(dir, name), 'server.pid');

export function readClusterState(stateDir: string): ClusterState | undefined {
  try {
    return JSON.parse(fs.readFileSync(stateFile(clusterDir(stateDir)), 'utf8')) as ClusterState;
  } catch {
    return undefined;
  }
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

// ------------------------------------------------------- recorded processes ---

interface Recorded {
  pid: number;
  argv: string[];
}

/** The process a PID file names, if that PID still runs exactly the recorded argv. */
export function runningRecorded(pidFile: string): Recorded | undefined {
  let rec: Recorded;
  try {
    const [first, second] = fs.readFileSync(pidFile, 'utf8').split('\n');
    rec = { pid: Number.parseInt(first ?? '', 10), argv: JSON.parse(second ?? '[]') as string[] };
  } catch {
    return undefined;
  }
  if (!(rec.pid > 0) || rec.argv.length === 0) return undefined;
  try {
    const cmdline = fs.readFileSync(`/proc/${rec.pid}/cmdline`, 'utf8').replace(/\0$/, '');
    return cmdline === rec.argv.join('\0') ? rec : undefined;
  } catch {
    return undefined; // gone
  }
}

/** Running (a zombie nobody reaped yet counts as gone: it holds no ports or files). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // /proc/<pid>/stat: "pid (comm) S …"; comm may contain spaces and parentheses.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc: trust kill(0)
  }
}

/** SIGTERM, wait up to timeoutMs, then SIGKILL; resolves when the PID is gone. */
async function stopPid(pid: number, timeoutMs: number): Promise<'terminated' | 'killed'> {
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (pidAlive(pid) && Date.now() < deadline) await sleep(100);
  if (!pidAlive(pid)) return 'terminated';
  signal('SIGKILL');
  while (pidAlive(pid)) await sleep(50);
  return 'killed';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Daemon {
  name: string;
  pid: number;
  /** Resolves if it exits while this process still watches it. */
  exited: Promise<void>;
  /** Where to look when it fails to start. */
  logFiles: string[];
}

/**
 * Starts a process that outlives us: its own session (no terminal signals),
 * output appended to logFile, PID and argv recorded in pidFile.
 */
async function startDaemon(opts: {
  name: string;
  command: string;
  args: string[];
  cwd: string;
  logFile: string;
  pidFile: string;
  logFiles?: string[];
}): Promise<Daemon> {
  fs.mkdirSync(path.dirname(opts.logFile), { recursive: true });
  const out = fs.openSync(opts.logFile, 'a');
  fs.writeSync(out, `\n--- ${new Date().toISOString()} starting ${opts.name}: ${opts.command} ${opts.args.join(' ')}\n`);
  let child;
  try {
    child = spawn(opts.command, opts.args, { cwd: opts.cwd, stdio: ['ignore', out, out], detached: true });
    await new Promise<void>((resolve, reject) => {
      child!.once('spawn', resolve);
      child!.once('error', reject);
    });
  } catch (err) {
    throw new Error(`could not start ${opts.name} (${opts.command}): ${(err as Error).message}`);
  } finally {
    fs.closeSync(out);
  }
  const pid = child.pid!;
  fs.writeFileSync(opts.pidFile, `${pid}\n${JSON.stringify([opts.command, ...opts.args])}\n`);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.unref();
  return { name: opts.name, pid, exited, logFiles: [opts.logFile, ...(opts.logFiles ?? [])] };
}

function tail(file: string, lines: number): string {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no output)';
  }
}

/** waitFor, failing at once (with the logs' last lines) if the daemon exits meanwhile. */
async function waitForDaemon(daemon: Daemon, what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  let dead = false;
  void daemon.exited.then(() => (dead = true));
  await waitFor(async () => dead || (await check()), { what, timeoutMs, intervalMs: 250 });
  if (dead) {
    const logs = daemon.logFiles.map((f) => `--- last lines of ${f} ---\n${tail(f, 20)}`).join('\n');
    throw new Error(`${what}: ${daemon.name} (pid ${daemon.pid}) exited before it was ready\n${logs}`);
  }
}

// ---------------------------------------------------------------- probes ---

/** A ZooKeeper four-letter word (srvr, ruok, mntr) on the client port; the whole answer. */
export function zookeeperCommand(port: number, word: string, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer to '${word}' from ZooKeeper on port ${port}`)));
    socket.once('connect', () => socket.write(word));
    socket.on('data', (c) => chunks.push(c));
    socket.once('error', reject);
    socket.once('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

/**
 * Clients of this module log only errors: refused connections while a server
 * boots are expected, and failures reach the caller as exceptions anyway.
 */
function quietClient(url: string, timeoutMs: number): ClickHouseClient {
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

function checkIdent(what: string, name: string): string {
  if (!IDENT.test(name)) throw new Error(`${what} '${name}' is not a plain identifier`);
  return name;
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

async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

async function chooseState(topology: Topology, ports: PortBases | 'free'): Promise<ClusterState> {
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

function sameTopology(state: ClusterState, topology: Topology): boolean {
  const want = replicasOf(topology);
  return (
    state.cluster === topology.cluster &&
    state.servers.length === want.length &&
    want.every((r, i) => state.servers[i]?.name === r.name && state.servers[i]?.shard === r.shard)
  );
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
  const readyTimeoutMs = opts.readyTimeoutMs ?? 180_000;
  await ensureClusterPackages(progress);
  const t1 = Date.now();

  const dir = clusterDir(opts.stateDir);
  fs.mkdirSync(dir, { recursive: true });
  const previous = readClusterState(opts.stateDir);
  const running = (pidFile: string) => runningRecorded(pidFile) !== undefined;
  const anyRunning =
    previous !== undefined && (running(zkPidFile(dir)) || previous.servers.some((s) => running(serverPidFile(dir, s.name))));
  let state: ClusterState;
  if (anyRunning) {
    // Finish starting a partly running cluster on the ports it already uses.
    if (!sameTopology(previous, topology)) {
      throw new Error(`a cluster with another topology is running from ${dir}; stop it first: herodotus cluster down`);
    }
    state = previous;
    const asked = opts.ports === 'free' ? undefined : opts.ports;
    const differs =
      asked !== undefined &&
      (asked.zookeeper !== state.zookeeper.port ||
        serversWithPorts(topology, asked).some((s, i) => JSON.stringify(s.ports) !== JSON.stringify(state.servers[i]?.ports)));
    if (differs) progress('the cluster is (partly) running: keeping the ports recorded in cluster.json');
  } else {
    state = await chooseState(topology, opts.ports);
    fs.writeFileSync(stateFile(dir), `${JSON.stringify(state, null, 2)}\n`);
  }

  const zkRunning = running(zkPidFile(dir));
  const toStart = state.servers.filter((s) => !running(serverPidFile(dir, s.name)));
  const ports = [...(zkRunning ? [] : [state.zookeeper.port]), ...toStart.flatMap((s) => [s.ports.http, s.ports.tcp, s.ports.interserver])];
  for (const port of ports) {
    if (await isPortOpen('127.0.0.1', port)) {
      throw new Error(`cannot start the cluster: port ${port} on 127.0.0.1 is already in use (choose other ports, or --free-ports)`);
    }
  }

  // Configs are rewritten on every up (same ports, same content for running servers).
  const zk = zkDir(dir);
  fs.mkdirSync(path.join(zk, 'data'), { recursive: true });
  fs.writeFileSync(path.join(zk, 'zoo.cfg'), zooCfg({ dataDir: path.join(zk, 'data'), port: state.zookeeper.port }));
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

  const started: string[] = [];
  const daemons: Daemon[] = [];
  try {
    if (!zkRunning) {
      progress(`starting ZooKeeper on 127.0.0.1:${state.zookeeper.port}`);
      const daemon = await startDaemon({
        name: 'zookeeper',
        command: JAVA,
        args: [
          '-Xms64m',
          '-Xmx256m',
          '-XX:+UseSerialGC',
          '-Djava.awt.headless=true',
          '-Dzookeeper.admin.enableServer=false',
          '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
          '-Dorg.slf4j.simpleLogger.showDateTime=true',
          '-cp',
          `${ZOOKEEPER_JAR}:${SLF4J_SIMPLE_JAR}`,
          'org.apache.zookeeper.server.quorum.QuorumPeerMain',
          path.join(zk, 'zoo.cfg'),
        ],
        cwd: zk,
        logFile: path.join(zk, 'zookeeper.log'),
        pidFile: zkPidFile(dir),
      });
      daemons.push(daemon);
      started.push('zookeeper');
      await waitForDaemon(
        daemon,
        `ZooKeeper on 127.0.0.1:${state.zookeeper.port}`,
        async () => /Mode: standalone/.test(await zookeeperCommand(state.zookeeper.port, 'srvr')),
        readyTimeoutMs,
      );
    }
    const t2 = Date.now();

    const starting = await Promise.all(
      toStart.map(async (server) => {
        const sdir = serverDir(dir, server.name);
        progress(
          `starting ${server.name} (shard ${server.shard}, replica ${server.replica}) on http ${server.ports.http}, tcp ${server.ports.tcp}`,
        );
        const daemon = await startDaemon({
          name: server.name,
          command: CLICKHOUSE_SERVER_BIN,
          args: [`--config-file=${path.join(sdir, 'config.xml')}`],
          cwd: sdir,
          logFile: path.join(sdir, 'logs', 'console.log'),
          logFiles: [path.join(sdir, 'logs', 'server.err.log')],
          pidFile: serverPidFile(dir, server.name),
        });
        daemons.push(daemon);
        started.push(server.name);
        return { server, daemon };
      }),
    );
    // Every server, also one that was already running, must see the whole cluster.
    await Promise.all(
      state.servers.map(async (server) => {
        const client = serverClient(server, 10_000);
        try {
          const check = () => serverReady(client, topology, state.servers.length);
          const daemon = starting.find((s) => s.server === server)?.daemon;
          const what = `ClickHouse ${server.name} on 127.0.0.1:${server.ports.http}`;
          if (daemon) await waitForDaemon(daemon, what, check, readyTimeoutMs);
          else await waitFor(check, { what, timeoutMs: readyTimeoutMs, intervalMs: 250 });
        } finally {
          await client.close();
        }
      }),
    );
    const t3 = Date.now();

    const url = clusterUrl(state);
    let version: string;
    if (opts.database !== null) {
      progress(`applying the schema of database ${opts.database} ON CLUSTER ${topology.cluster}`);
      version = (await applySchemaOnCluster({ url, database: opts.database, cluster: topology.cluster })).version;
    } else {
      const client = quietClient(url, 30_000);
      version = await serverVersion(client).finally(() => client.close());
    }
    const t4 = Date.now();

    const pids: Record<string, number> = {};
    for (const [name, pidFile] of memberPidFiles(dir, state)) {
      const rec = runningRecorded(pidFile);
      if (rec) pids[name] = rec.pid;
    }
    return {
      state,
      url,
      shards: clusterShards(state),
      version,
      started,
      pids,
      timings: { packages: t1 - t0, zookeeper: t2 - t1, servers: t3 - t2, schema: t4 - t3, total: t4 - t0 },
    };
  } catch (err) {
    // Leave nothing half-started behind: stop what this call started (by PID).
    await Promise.all(daemons.filter((d) => d.name !== 'zookeeper').map((d) => stopPid(d.pid, 20_000)));
    await Promise.all(daemons.filter((d) => d.name === 'zookeeper').map((d) => stopPid(d.pid, 20_000)));
    for (const [, pidFile] of memberPidFiles(dir, state)) if (!runningRecorded(pidFile)) fs.rmSync(pidFile, { force: true });
    throw err;
  }
}

/** [name, PID file] of every process of the cluster, ZooKeeper first. */
function memberPidFiles(dir: string, state: ClusterState | undefined): [string, string][] {
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

// ---------------------------------------------------------------- schema ---

/**
 * Renders the project's schema for the cluster shape and the server's version
 * and runs it through one replica; ON CLUSTER makes every server run each
 * statement (replicated `<t>_local` tables, Distributed `<t>`, and the views
 * on each server's local tables). Idempotent.
 */
export async function applySchemaOnCluster(opts: {
  url: string;
  database: string;
  cluster: string;
}): Promise<{ version: string; statements: number }> {
  checkIdent('database', opts.database);
  checkIdent('cluster', opts.cluster);
  // A DDL waits for every server of the cluster (up to distributed_ddl_task_timeout, 180 s).
  const client = quietClient(opts.url, 300_000);
  try {
    const version = await serverVersion(client);
    const statements = renderSchema(opts.database, { kind: 'cluster', cluster: opts.cluster, features: featuresForVersion(version) });
    await applySchema(client, statements);
    return { version, statements: statements.length };
  } finally {
    await client.close();
  }
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
  if (how === 'kill') {
    process.kill(rec.pid, 'SIGKILL');
    while (pidAlive(rec.pid)) await sleep(50);
  } else {
    await stopPid(rec.pid, 60_000);
  }
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
  if (zkRec) {
    try {
      const srvr = await zookeeperCommand(state.zookeeper.port, 'srvr');
      zk.responding = /Mode:/.test(srvr);
      zk.version = /Zookeeper version: ([0-9.]+)/.exec(srvr)?.[1];
    } catch (err) {
      zk.error = (err as Error).message;
    }
  }
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
      if (!rec) return m;
      const client = serverClient(server, 5000);
      try {
        m.version = await serverVersion(client);
        m.responding = true;
        const [r] = await rows<{ tables: string; readonly: string; queue: string }>(
          client,
          'SELECT count() AS tables, sum(is_readonly) AS readonly, sum(queue_size) AS queue FROM system.replicas',
        );
        m.replication = { tables: Number(r?.tables ?? 0), readonly: Number(r?.readonly ?? 0), queue: Number(r?.queue ?? 0) };
      } catch (err) {
        m.error = (err as Error).message;
      } finally {
        await client.close();
      }
      return m;
    }),
  );
  const status: ClusterStatus = { dir, state, url: clusterUrl(state), members: [zk, ...servers] };
  const seer = servers.find((s) => s.responding);
  const seerServer = state.servers.find((s) => s.name === seer?.name);
  if (seerServer) {
    const client = serverClient(seerServer, 5000);
    try {
      const found = await rows<{ shard_num: number; replica_num: number; host_address: string; port: number }>(
        client,
        `SELECT shard_num, replica_num, host_address, port FROM system.clusters WHERE cluster = '${checkIdent('cluster', state.cluster)}' ORDER BY shard_num, replica_num`,
      );
      status.topology = {
        seenBy: seerServer.name,
        rows: found.map((r) => ({
          shard: Number(r.shard_num),
          replica: Number(r.replica_num),
          host: r.host_address,
          port: Number(r.port),
          name: state.servers.find((s) => s.ports.tcp === Number(r.port))?.name,
        })),
      };
    } catch {
      // the members' lines already say what is wrong
    } finally {
      await client.close();
    }
  }
  return status;
}
