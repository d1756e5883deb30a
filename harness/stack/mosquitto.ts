import fs from 'node:fs';
import path from 'node:path';
import { createLogger } from '../../lib/log/logger';
import { ManagedProcess, stopLeftover, waitFor } from './child';
import { isPortOpen } from './ports';

const log = createLogger('stack');

export type MosquittoOptions = {
  /** Debian's mosquitto binary (tools.json's `mosquitto`). */
  binary: string;
  /** Holds mosquitto.conf and the persistence file; reused across restarts, so sessions and queued messages survive one. */
  dataDir: string;
  port: number;
  logFile: string;
};

/**
 * The broker's configuration: loopback only, anonymous (nothing else can
 * reach it), persistence written after every change so that a broker killed
 * with -9 comes back with its QoS 1 sessions, subscriptions and queued
 * messages, and no limit on what it queues for an offline subscriber (the
 * bridge down for minutes). mosquitto 2.0 counts a message as a change only
 * when it is queued, not when it goes straight out in flight to an online
 * subscriber: with the default 20 in flight, a kill -9 lost messages it had
 * confirmed to their publisher but not yet saved (seen in the MQTT test).
 * One message in flight per subscriber makes every later one queued, hence
 * saved before the bridge sees it; the bridge handles one at a time anyway.
 */
function mosquittoConfig(opts: MosquittoOptions): string {
  return `${[
    `listener ${opts.port} 127.0.0.1`,
    'allow_anonymous true',
    'persistence true',
    `persistence_location ${opts.dataDir}/`,
    'autosave_on_changes true',
    'autosave_interval 1',
    'max_inflight_messages 1',
    'max_queued_messages 0',
    'max_queued_bytes 0',
    'user root',
    'log_dest stdout',
    'log_type error',
    'log_type warning',
    'log_type notice',
  ].join('\n')}\n`;
}

/** Starts Debian's mosquitto on 127.0.0.1:port with its own config and data dir, and waits until it listens. */
export async function startMosquitto(opts: MosquittoOptions): Promise<ManagedProcess> {
  const started = Date.now();
  if (!fs.existsSync(opts.binary)) throw new Error(`mosquitto not found at ${opts.binary}; run: node scripts/setup.mjs`);
  fs.mkdirSync(opts.dataDir, { recursive: true });
  const pidFile = path.join(opts.dataDir, 'mosquitto.pid');
  await stopLeftover(pidFile);
  if (await isPortOpen('127.0.0.1', opts.port)) throw new Error(`cannot start mosquitto: port ${opts.port} on 127.0.0.1 is already in use`);
  const conf = path.join(opts.dataDir, 'mosquitto.conf');
  fs.writeFileSync(conf, mosquittoConfig(opts));
  const child = await ManagedProcess.start({ name: 'mosquitto', command: opts.binary, args: ['-c', conf], logFile: opts.logFile, pidFile });
  try {
    await waitFor(() => isPortOpen('127.0.0.1', opts.port), {
      what: `mosquitto on 127.0.0.1:${opts.port}`,
      timeoutMs: 30_000,
      intervalMs: 100,
      process: child,
    });
  } catch (err) {
    await child.stop({ timeoutMs: 5000 });
    throw err;
  }
  log.info({ childPid: child.pid, port: opts.port, ms: Date.now() - started }, 'mosquitto ready');
  return child;
}
