/**
 * The system packages the local ClickHouse cluster runs on: Debian's
 * clickhouse-server (18.16) and zookeeper (3.8), and haproxy (2.6) for a load
 * balancer in front of several API instances, installed with apt-get when
 * missing. Only cluster users need them, so this is not part of
 * scripts/setup.mjs; `herodotus cluster up` (and `cluster install`) and the
 * cluster test call it. Idempotent: when the files are there it only stats them.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const CLICKHOUSE_SERVER_BIN = '/usr/sbin/clickhouse-server';
export const ZOOKEEPER_JAR = '/usr/share/java/zookeeper.jar';
/** ZooKeeper logs through SLF4J; the simple binding writes to stderr (= our log file). */
export const SLF4J_SIMPLE_JAR = '/usr/share/java/slf4j-simple.jar';
export const JAVA = '/usr/bin/java';
export const HAPROXY_BIN = '/usr/sbin/haproxy';

export const CLUSTER_PACKAGES = ['clickhouse-server', 'clickhouse-client', 'zookeeper', 'libslf4j-java', 'haproxy'] as const;

const REQUIRED_FILES = [CLICKHOUSE_SERVER_BIN, ZOOKEEPER_JAR, SLF4J_SIMPLE_JAR, JAVA, HAPROXY_BIN];

export function missingClusterFiles(): string[] {
  return REQUIRED_FILES.filter((f) => !fs.existsSync(f));
}

/** Installed versions of the packages, by dpkg (undefined when not installed through dpkg). */
export async function clusterPackageVersions(): Promise<Record<string, string | undefined>> {
  const out: Record<string, string | undefined> = {};
  for (const pkg of ['clickhouse-server', 'zookeeper', 'haproxy']) {
    try {
      const { stdout } = await run('dpkg-query', ['-W', '-f=${Version}', pkg], { encoding: 'utf8' });
      out[pkg] = stdout.trim() || undefined;
    } catch {
      out[pkg] = undefined;
    }
  }
  return out;
}

/**
 * Installs the packages when one of their files is missing: `apt-get update`
 * then `apt-get install -y`, as root or through password-less sudo. Returns
 * true when it installed something.
 */
export async function ensureClusterPackages(progress: (line: string) => void = () => {}): Promise<boolean> {
  const missing = missingClusterFiles();
  if (missing.length === 0) return false;
  if (process.platform !== 'linux' || !fs.existsSync('/usr/bin/apt-get')) {
    throw new Error(
      `the local cluster needs ${missing.join(', ')}; this is not a Debian-like system with apt-get: install ${CLUSTER_PACKAGES.join(' ')} yourself`,
    );
  }
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  // Without root, sudo must work without a prompt (this runs unattended, e.g. from a test).
  const [cmd, pre] = root ? ['apt-get', [] as string[]] : ['sudo', ['-n', 'apt-get']];
  // Noninteractive, and no service start by the packages' scripts where policy-rc.d is honoured:
  // the cluster runs its own processes with its own configs.
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive', RUNLEVEL: '1' };
  const apt = async (args: string[]) => {
    try {
      await run(cmd, [...pre, ...args], { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 20 * 60_000 });
    } catch (err) {
      const e = err as Error & { stdout?: string; stderr?: string };
      const tail = `${e.stdout ?? ''}${e.stderr ?? ''}`.trimEnd().split('\n').slice(-30).join('\n');
      throw new Error(`${cmd} ${[...pre, ...args].join(' ')} failed: ${e.message}\n${tail}`);
    }
  };
  progress(`installing ${CLUSTER_PACKAGES.join(', ')} (apt-get; missing: ${missing.join(', ')})`);
  await apt(['update', '-q']);
  await apt(['install', '-y', '-q', '--no-install-recommends', ...CLUSTER_PACKAGES]);
  const still = missingClusterFiles();
  if (still.length > 0) throw new Error(`apt-get installed ${CLUSTER_PACKAGES.join(' ')} but ${still.join(', ')} is still missing`);
  return true;
}
