/**
 * The cluster's ZooKeeper: Debian's zookeeper jar run as a standalone
 * QuorumPeerMain daemon on 127.0.0.1, its zoo.cfg, data and log in
 * `<cluster dir>/zookeeper/`, probed with four-letter words.
 */
import fs from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import { ManagedProcess } from './child';
import { zooCfg } from './clickhouse-config';
import { zkDir, zkPidFile } from './cluster-state';
import { JAVA, SLF4J_SIMPLE_JAR, ZOOKEEPER_JAR } from './cluster-packages';

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

/** zoo.cfg and the data folder (rewritten on every `up`: same port, same content). */
export function writeZookeeperConfig(dir: string, port: number): void {
  const zk = zkDir(dir);
  fs.mkdirSync(path.join(zk, 'data'), { recursive: true });
  fs.writeFileSync(path.join(zk, 'zoo.cfg'), zooCfg({ dataDir: path.join(zk, 'data'), port }));
}

/** Starts ZooKeeper as a daemon recorded in `zookeeper/zookeeper.pid`; ready once `zookeeperReady`. */
export function startZookeeper(dir: string): Promise<ManagedProcess> {
  const zk = zkDir(dir);
  return ManagedProcess.startDaemon({
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
}

export async function zookeeperReady(port: number): Promise<boolean> {
  return /Mode: standalone/.test(await zookeeperCommand(port, 'srvr'));
}

export interface ZookeeperProbe {
  /** It answered srvr with its mode. */
  responding: boolean;
  version?: string;
  error?: string;
}

export async function probeZookeeper(port: number): Promise<ZookeeperProbe> {
  try {
    const srvr = await zookeeperCommand(port, 'srvr');
    return { responding: /Mode:/.test(srvr), version: /Zookeeper version: ([0-9.]+)/.exec(srvr)?.[1] };
  } catch (err) {
    return { responding: false, error: (err as Error).message };
  }
}
