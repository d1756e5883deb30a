/**
 * HAProxy (Debian's haproxy, see cluster-packages.ts) in front of several
 * Herodotus API instances on this machine, as a child process with a config
 * written here. Requests are spread round-robin; an instance that is stopped
 * or restarting is taken out by the health check on /v1/health, and a request
 * that met a refused or dropped connection is sent again to another instance
 * (GETs are safe to repeat), so a rolling restart fails no request.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ManagedProcess, waitFor } from './child';
import { HAPROXY_BIN } from './cluster-packages';
import { isPortOpen } from './ports';

export interface HaproxyOptions {
  /** Folder for the config and the log. */
  dir: string;
  /** Port the balancer listens on (127.0.0.1). */
  port: number;
  /** API instances as host:port. */
  backends: string[];
}

export function haproxyConfig(opts: Pick<HaproxyOptions, 'port' | 'backends'>): string {
  return `# Written by harness/stack/haproxy.ts; edits are overwritten.
global
  maxconn 2000

defaults
  mode http
  timeout connect 2s
  timeout client 120s
  timeout server 120s
  # A request whose connection was refused, reset or closed before any answer
  # goes again, to another instance when there is one.
  retries 3
  option redispatch 1
  retry-on conn-failure empty-response response-timeout 0rtt-rejected
  option http-server-close

frontend api
  bind 127.0.0.1:${opts.port}
  default_backend herodotus

backend herodotus
  balance roundrobin
  option httpchk GET /v1/health
  http-check expect status 200
  default-server inter 500 fall 2 rise 2
${opts.backends.map((b, i) => `  server api${i + 1} ${b} check`).join('\n')}
`;
}

export async function startHaproxy(opts: HaproxyOptions): Promise<ManagedProcess> {
  fs.mkdirSync(opts.dir, { recursive: true });
  const cfg = path.join(opts.dir, 'haproxy.cfg');
  fs.writeFileSync(cfg, haproxyConfig(opts));
  const proc = await ManagedProcess.start({
    name: 'haproxy',
    command: HAPROXY_BIN,
    // -db: stay in the foreground, log to stderr; -W: master-worker, so a stop reaches the worker too.
    args: ['-db', '-W', '-f', cfg],
    cwd: opts.dir,
    logFile: path.join(opts.dir, 'haproxy.log'),
  });
  await waitFor(() => isPortOpen('127.0.0.1', opts.port), {
    what: `haproxy on 127.0.0.1:${opts.port}`,
    timeoutMs: 15_000,
    intervalMs: 100,
    process: proc,
  });
  return proc;
}
