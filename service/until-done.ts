import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../lib/log/logger';

/** Retries a start-up step until it succeeds: a dependency may still be starting or briefly down. */
export async function untilDone<T>(what: string, log: Logger, signal: AbortSignal, step: () => Promise<T>): Promise<T> {
  let delay = 250;
  for (;;) {
    try {
      return await step();
    } catch (err) {
      if (signal.aborted) throw err;
      log.warn({ err: (err as Error).message, retryInMs: delay }, `${what} not available yet`);
      await sleep(delay);
      delay = Math.min(delay * 2, 5000);
    }
  }
}
