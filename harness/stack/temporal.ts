import fs from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { createLogger } from '../../lib/log/logger';
import { ChildExitedError, ManagedProcess, stopLeftover, waitFor } from './child';
import { isPortOpen } from './ports';

const log = createLogger('stack');

export type TemporalOptions = {
  /** The `temporal` CLI installed by scripts/setup.mjs. */
  binary: string;
  /** SQLite file holding all state; survives restarts. */
  dbFile: string;
  port: number;
  /** Web UI port, or null for none (--headless). */
  uiPort: number | null;
  namespace: string;
  logFile: string;
  /** How long to wait for the frontend to answer; default 60 s. */
  readyTimeoutMs?: number;
};

/** Starts `temporal server start-dev` on 127.0.0.1 and waits until `namespace` can be described. */
export async function startTemporal(opts: TemporalOptions): Promise<ManagedProcess> {
  const started = Date.now();
  if (!fs.existsSync(opts.binary)) throw new Error(`Temporal CLI not found at ${opts.binary}; run: node scripts/setup.mjs`);
  const pidFile = `${opts.dbFile}.pid`;
  await stopLeftover(pidFile); // a server orphaned by an earlier crash of ours holds the port and the db
  for (const port of [opts.port, opts.uiPort]) {
    if (port !== null && (await isPortOpen('127.0.0.1', port))) {
      throw new Error(`cannot start Temporal: port ${port} on 127.0.0.1 is already in use`);
    }
  }
  // start-dev no longer creates the folder of the db file itself.
  fs.mkdirSync(path.dirname(opts.dbFile), { recursive: true });

  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1', // also where its internal services, HTTP API and metrics ports bind
    '--port',
    String(opts.port),
    '--db-filename',
    opts.dbFile,
    '--namespace',
    opts.namespace, // created if missing; 'default' always exists
    '--log-level',
    'warn',
    // WAL with synchronous=NORMAL: one fsync per checkpoint instead of two per transaction,
    // which is most of the dev server's cost on a small machine. Safe against process
    // crashes; only an OS crash can lose the last moments of a local dev store.
    '--sqlite-pragma',
    'journal_mode=wal',
    '--sqlite-pragma',
    'synchronous=NORMAL',
    // One partition per task queue (default 4): with a handful of local pollers, more
    // partitions only add forwarding hops and idle long-polls on 2 cores.
    '--dynamic-config-value',
    'matching.numTaskqueueReadPartitions=1',
    '--dynamic-config-value',
    'matching.numTaskqueueWritePartitions=1',
    ...(opts.uiPort === null ? ['--headless'] : ['--ui-port', String(opts.uiPort), '--ui-disable-news-fetch']),
  ];
  const address = `127.0.0.1:${opts.port}`;
  for (let attempt = 1; ; attempt++) {
    const child = await ManagedProcess.start({ name: 'temporal', command: opts.binary, args, logFile: opts.logFile, pidFile });
    try {
      await waitFor(() => temporalReady(address, opts.namespace), {
        what: `Temporal on ${address} (namespace ${opts.namespace})`,
        timeoutMs: opts.readyTimeoutMs ?? 60_000,
        intervalMs: 250,
        process: child,
      });
      log.info({ childPid: child.pid, port: opts.port, uiPort: opts.uiPort, attempt, ms: Date.now() - started }, 'temporal ready');
      return child;
    } catch (err) {
      await child.stop({ timeoutMs: 5000 });
      // start-dev picks its internal ports (history, matching, HTTP, metrics) as "free a
      // moment ago" and panics when another process binds one first; a fresh start
      // picks new ones. A server that never answers is not that race: no retry.
      if (!(err instanceof ChildExitedError) || attempt >= START_ATTEMPTS) throw err;
      log.warn({ attempt, exit: err.exit, log: child.logTail(3) }, 'temporal exited while starting; starting it again');
    }
  }
}

const START_ATTEMPTS = 3;

/** Ready = the frontend answers GetSystemInfo and knows the namespace. */
async function temporalReady(address: string, namespace: string): Promise<boolean> {
  const connection = await Connection.connect({ address, connectTimeout: 1000 });
  try {
    const deadline = () => new Date(Date.now() + 2000);
    await connection.withDeadline(deadline(), () => connection.workflowService.getSystemInfo({}));
    await connection.withDeadline(deadline(), () => connection.workflowService.describeNamespace({ namespace }));
    return true;
  } finally {
    await connection.close();
  }
}
