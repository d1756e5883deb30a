import { createServer, connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A port that was free a moment ago on 127.0.0.1 (the OS picks it). There is an
 * unavoidable window before the caller binds it; fine for tests and local stacks.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('could not determine a free port'))));
    });
  });
}

/** True when something accepts TCP connections on host:port right now. */
export function isPortOpen(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Polls until host:port accepts connections; throws after timeoutMs. */
export async function waitForPort(
  host: string,
  port: number,
  { timeoutMs = 30_000, intervalMs = 100 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await isPortOpen(host, port)) return;
    if (Date.now() >= deadline) throw new Error(`nothing listening on ${host}:${port} after ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
}
