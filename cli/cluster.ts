import { z } from 'zod';
import { loadConfig } from '../lib/config/config';
import { DEFAULT_PORT_BASES, type PortBases } from '../harness/stack/clickhouse-config';
import { clusterDown, clusterStatus, clusterUp, type ClusterStatus } from '../harness/stack/cluster';
import { clusterShards } from '../harness/stack/cluster-state';
import { clusterPackageVersions, ensureClusterPackages } from '../harness/stack/cluster-packages';
import { parseOptions, UsageError } from '../lib/config/args';

const HELP = `usage: herodotus cluster <up|down|status|install> [options]

A local ClickHouse cluster of 2 shards × 2 replicas (cluster 'herodotus', see
lib/clickhouse/topology.ts): ZooKeeper and four Debian clickhouse-server 18.16
processes on 127.0.0.1, with configs, data and logs under
HERODOTUS_STATE_DIR/cluster/. They keep running after 'up' returns.

  up       install the packages if missing (apt-get), start what is not
           running, wait until every server sees the cluster and ZooKeeper,
           apply the schema of CLICKHOUSE_DATABASE ON CLUSTER, and print the
           settings that point Herodotus at it (CLICKHOUSE_SHARDS, CLICKHOUSE_CLUSTER;
           eval "$(herodotus cluster up)" sets them), or run: herodotus dev --cluster
             --free-ports  ports the OS reports free instead of the fixed ones
             --no-schema   do not create the database and tables
  status   each process (ports, pid, alive, version, replication) and the
           cluster as ClickHouse sees it (system.clusters); exit 1 unless
           everything runs and answers     --json  one JSON object
  down     stop the processes 'up' started, by their recorded PIDs
             --wipe        also delete HERODOTUS_STATE_DIR/cluster (all data)
  install  only install the Debian packages (clickhouse-server, zookeeper)

Ports (server i = shard-major order s1-r1, s1-r2, s2-r1, s2-r2 gets base + i),
used by 'up' when nothing of the cluster runs; later commands read the ports
recorded in cluster/cluster.json:
  HERODOTUS_CLUSTER_ZOOKEEPER_PORT    ${DEFAULT_PORT_BASES.zookeeper}
  HERODOTUS_CLUSTER_HTTP_PORT         ${DEFAULT_PORT_BASES.http}  (${DEFAULT_PORT_BASES.http}-${DEFAULT_PORT_BASES.http + 3})
  HERODOTUS_CLUSTER_TCP_PORT          ${DEFAULT_PORT_BASES.tcp}  (${DEFAULT_PORT_BASES.tcp}-${DEFAULT_PORT_BASES.tcp + 3})
  HERODOTUS_CLUSTER_INTERSERVER_PORT  ${DEFAULT_PORT_BASES.interserver}  (${DEFAULT_PORT_BASES.interserver}-${DEFAULT_PORT_BASES.interserver + 3})`;

const OPTIONS = {
  'free-ports': { type: 'boolean' },
  'no-schema': { type: 'boolean' },
  json: { type: 'boolean' },
  wipe: { type: 'boolean' },
} as const;

const SCHEMAS = {
  up: z.object({ 'free-ports': z.boolean().default(false), 'no-schema': z.boolean().default(false) }),
  down: z.object({ wipe: z.boolean().default(false) }),
  status: z.object({ json: z.boolean().default(false) }),
  install: z.object({}),
};

const port = z.coerce
  .number()
  .int()
  .min(1)
  .max(65535 - 3);
const portEnv = z.object({
  HERODOTUS_CLUSTER_ZOOKEEPER_PORT: port.default(DEFAULT_PORT_BASES.zookeeper),
  HERODOTUS_CLUSTER_HTTP_PORT: port.default(DEFAULT_PORT_BASES.http),
  HERODOTUS_CLUSTER_TCP_PORT: port.default(DEFAULT_PORT_BASES.tcp),
  HERODOTUS_CLUSTER_INTERSERVER_PORT: port.default(DEFAULT_PORT_BASES.interserver),
});

/** Shell lines that point Herodotus at the cluster. */
function clusterEnv(cluster: string, shards: string): string[] {
  return [`export CLICKHOUSE_SHARDS='${shards}'`, `export CLICKHOUSE_CLUSTER=${cluster}`];
}

export function portBases(env: NodeJS.ProcessEnv): PortBases {
  const parsed = portEnv.safeParse(env);
  if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n'));
  const e = parsed.data;
  return {
    zookeeper: e.HERODOTUS_CLUSTER_ZOOKEEPER_PORT,
    http: e.HERODOTUS_CLUSTER_HTTP_PORT,
    tcp: e.HERODOTUS_CLUSTER_TCP_PORT,
    interserver: e.HERODOTUS_CLUSTER_INTERSERVER_PORT,
  };
}

const say = (line: string) => process.stderr.write(`cluster: ${line}\n`);
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export function formatStatus(s: ClusterStatus): string {
  if (!s.state) return `no cluster in ${s.dir} (run: herodotus cluster up)\n`;
  const lines = [`cluster ${s.state.cluster} (${s.dir})`, ''];
  const rows = s.members.map((m) => {
    const where =
      m.kind === 'zookeeper'
        ? `client ${m.ports.client}`
        : `shard ${m.shard} replica ${m.replica}  http ${m.ports.http}  tcp ${m.ports.tcp}  interserver ${m.ports.interserver}`;
    const state = !m.alive ? 'stopped' : m.responding ? 'alive' : 'alive, not answering';
    const repl = m.replication
      ? `  replicated tables ${m.replication.tables}, readonly ${m.replication.readonly}, queue ${m.replication.queue}`
      : '';
    return [
      m.name,
      where,
      m.pid ? `pid ${m.pid}` : 'pid -',
      state,
      m.version ? `version ${m.version}` : '',
      `${repl}${m.error ? `  (${m.error})` : ''}`,
    ];
  });
  const widths = [0, 1, 2, 3, 4].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows)
    lines.push(
      `  ${r
        .map((c, i) => (i < 5 ? c.padEnd(widths[i]!) : c))
        .join('  ')
        .trimEnd()}`,
    );
  lines.push('');
  if (s.topology) {
    lines.push(`system.clusters on ${s.topology.seenBy}:`);
    for (const t of s.topology.rows)
      lines.push(`  shard ${t.shard} replica ${t.replica}  ${t.host}:${t.port}  ${t.name ?? '(unknown server)'}`);
  } else {
    lines.push('system.clusters: no server answers');
  }
  lines.push('', `Distributed tables (ad-hoc queries): ${s.url}`, ...(s.state ? clusterEnv(s.state.cluster, clusterShards(s.state)) : []));
  return `${lines.join('\n')}\n`;
}

export async function cluster(argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  if (action === '--help' || action === '-h') {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (!action || !(action in SCHEMAS)) throw new UsageError(`expected up, down, status or install\n\n${HELP}`);
  const args = parseOptions(rest, OPTIONS, SCHEMAS[action as keyof typeof SCHEMAS] as z.ZodObject, HELP) as Record<string, unknown>;
  const config = loadConfig();

  switch (action) {
    case 'install': {
      const installed = await ensureClusterPackages(say);
      const versions = await clusterPackageVersions();
      say(
        `${installed ? 'installed' : 'already installed'}: ${Object.entries(versions)
          .map(([p, v]) => `${p} ${v ?? '?'}`)
          .join(', ')}`,
      );
      return 0;
    }
    case 'up': {
      const result = await clusterUp({
        stateDir: config.stateDir,
        ports: args['free-ports'] ? 'free' : portBases(process.env),
        database: args['no-schema'] ? null : config.clickhouse.database,
        progress: say,
      });
      const t = result.timings;
      say(
        result.started.length > 0
          ? `ready in ${secs(t.total)} (packages ${secs(t.packages)}, ZooKeeper ${secs(t.zookeeper)}, servers ${secs(t.servers)}, schema ${secs(t.schema)}); started ${result.started.join(', ')}`
          : `already running; checked in ${secs(t.total)}`,
      );
      say(
        `ClickHouse ${result.version}; pids ${Object.entries(result.pids)
          .map(([n, p]) => `${n}=${p}`)
          .join(' ')}`,
      );
      say(`state in ${config.stateDir}/cluster; stop with: herodotus cluster down`);
      process.stdout.write(`${clusterEnv(result.state.cluster, result.shards).join('\n')}\n`);
      return 0;
    }
    case 'down': {
      const stopped = await clusterDown(config.stateDir, { wipe: args.wipe as boolean });
      if (stopped.length === 0) say('nothing was running');
      for (const s of stopped) say(`stopped ${s.name} (pid ${s.pid}${s.how === 'killed' ? ', SIGKILL after SIGTERM timed out' : ''})`);
      if (args.wipe) say(`deleted ${config.stateDir}/cluster`);
      return 0;
    }
    case 'status': {
      const status = await clusterStatus(config.stateDir);
      process.stdout.write(args.json ? `${JSON.stringify(status)}\n` : formatStatus(status));
      const healthy = status.members.length > 0 && status.members.every((m) => m.alive && m.responding);
      return healthy ? 0 : 1;
    }
  }
  return 2;
}
