import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  DefaultLogger,
  NativeConnection,
  Runtime,
  Worker,
  bundleWorkflowCode,
  type LogEntry,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import type { Logger } from '../lib/log/logger';

export interface WorkerOptions {
  address: string;
  namespace: string;
  taskQueue: string;
  activities: object;
  maxConcurrentActivities: number;
  log: Logger;
  /** Told whenever the worker starts polling or stops. */
  onState(state: 'running' | 'reconnecting', detail?: string): void;
}

let bundle: Promise<WorkflowBundleWithSourceMap> | null = null;
let runtimeInstalled = false;

const PINO_LEVEL = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const;

/** The SDK's own log lines (worker state, poll errors) go through pino like everything else; once per process. */
function installRuntimeLogging(log: Logger): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const sdk = log.child({ temporal: 'sdk' });
  Runtime.install({
    logger: new DefaultLogger('INFO', (entry: LogEntry) => sdk[PINO_LEVEL[entry.level]](entry.meta ?? {}, entry.message)),
  });
}

/** Workflow code is bundled once per process; restarts of the worker reuse it. */
function workflowBundle(log: Logger): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: fileURLToPath(new URL('../workflows/index.ts', import.meta.url)),
    logger: {
      log: () => undefined,
      trace: () => undefined,
      debug: () => undefined,
      info: () => undefined,
      warn: (m) => log.warn(m),
      error: (m) => log.error(m),
    },
  });
  return bundle;
}

/**
 * Runs a Temporal worker until `signal` aborts. When the server goes away the
 * worker fails; it is then rebuilt on a fresh connection, with back-off, for
 * as long as the process lives.
 */
export async function superviseWorker(opts: WorkerOptions, signal: AbortSignal): Promise<void> {
  installRuntimeLogging(opts.log);
  const workflowBundleCode = await workflowBundle(opts.log);
  let delay = 500;
  while (!signal.aborted) {
    let connection: NativeConnection | null = null;
    try {
      connection = await NativeConnection.connect({ address: opts.address });
      const worker = await Worker.create({
        connection,
        namespace: opts.namespace,
        taskQueue: opts.taskQueue,
        workflowBundle: workflowBundleCode,
        activities: opts.activities,
        maxConcurrentActivityTaskExecutions: opts.maxConcurrentActivities,
        shutdownGraceTime: '5s',
      });
      const stop = () => worker.shutdown();
      signal.addEventListener('abort', stop, { once: true });
      opts.onState('running');
      delay = 500;
      await worker.run();
      signal.removeEventListener('abort', stop);
    } catch (err) {
      if (signal.aborted) break;
      opts.log.warn({ err: (err as Error).message }, 'temporal worker stopped; reconnecting');
      opts.onState('reconnecting', (err as Error).message);
      await sleep(delay);
      delay = Math.min(delay * 2, 5000);
    } finally {
      await connection?.close().catch(() => undefined);
    }
  }
}
