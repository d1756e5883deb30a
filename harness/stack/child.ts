/**
 * The one launcher of the stack's processes, for two lifetimes:
 *
 *   child   `ManagedProcess.start`: dies with us. Same process group,
 *           registered for `stopAllChildren()`, SIGTERMed when this process
 *           exits; its PID file goes when it exits.
 *   daemon  `ManagedProcess.startDaemon`: outlives us. Its own session (no
 *           terminal signals), not registered; its PID file stays for a later
 *           `down` or `status` (harness/stack/cluster.ts).
 *
 * Either way stdout and stderr are appended to a log file, the PID and exact
 * argv are recorded in a PID file (harness/stack/pid-file.ts), `waitFor`
 * watches the process while it gets ready, and `stop` ends it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '../../lib/log/logger';
import { runningRecorded, signal, stopPid, writePidFile } from './pid-file';

const log = createLogger('stack');

export type ExitInfo = { code: number | null; signal: NodeJS.Signals | null };

export type ManagedProcessOptions = {
  name: string;
  command: string;
  args: string[];
  /** Added to (and overriding) the parent's environment. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** stdout and stderr are appended here. */
  logFile: string;
  /** Logs the process writes itself, shown after logFile's when it fails to start. */
  moreLogFiles?: string[];
  /** Holds the child's PID while it runs; default `<logFile>.pid`. */
  pidFile?: string;
};

type Lifetime = 'child' | 'daemon';

/**
 * A long-running process (a broker, a server) whose output goes to a log
 * file: a child whose lifetime is tied to ours, or a daemon that outlives us.
 */
export class ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** logFile, then the process's own logs. */
  readonly logFiles: string[];
  readonly pidFile: string;
  /** Resolves when the process has exited, whatever the reason (a daemon: while we still watch it). */
  readonly exited: Promise<ExitInfo>;
  private exit: ExitInfo | undefined;
  private stopping = false;

  private constructor(
    private readonly child: ChildProcess,
    opts: ManagedProcessOptions,
    lifetime: Lifetime,
  ) {
    this.name = opts.name;
    this.pid = child.pid!;
    this.logFile = opts.logFile;
    this.logFiles = [opts.logFile, ...(opts.moreLogFiles ?? [])];
    this.pidFile = pidFileOf(opts);
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        if (lifetime === 'child') {
          children.delete(this);
          fs.rmSync(this.pidFile, { force: true });
          if (!this.stopping) {
            log.warn({ child: this.name, childPid: this.pid, code, signal, logFile: this.logFile }, 'child exited unexpectedly');
          }
        }
        resolve(this.exit);
      });
    });
  }

  /** Spawns a child; rejects if it cannot be started at all (e.g. command not found). */
  static async start(opts: ManagedProcessOptions): Promise<ManagedProcess> {
    await stopLeftover(pidFileOf(opts));
    const managed = new ManagedProcess(await spawnLogged(opts, 'child'), opts, 'child');
    children.add(managed);
    installExitHooks();
    log.debug({ child: managed.name, childPid: managed.pid, logFile: managed.logFile }, 'child started');
    return managed;
  }

  /** Spawns a daemon; rejects if it cannot be started at all. */
  static async startDaemon(opts: ManagedProcessOptions): Promise<ManagedProcess> {
    const child = await spawnLogged(opts, 'daemon');
    const managed = new ManagedProcess(child, opts, 'daemon');
    child.unref();
    return managed;
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  /** How it ended, once it has. */
  get exitInfo(): ExitInfo | undefined {
    return this.exit;
  }

  /** SIGTERM (by PID), wait up to timeoutMs for a clean exit, then SIGKILL. */
  async stop({ timeoutMs = 20_000 }: { timeoutMs?: number } = {}): Promise<ExitInfo> {
    if (this.exit) return this.exit;
    this.stopping = true;
    this.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs)));
    const first = await Promise.race([this.exited, timedOut]);
    clearTimeout(timer);
    if (first === 'timeout') {
      log.warn({ child: this.name, childPid: this.pid, timeoutMs }, 'child ignored SIGTERM; sending SIGKILL');
      this.child.kill('SIGKILL');
    }
    return this.exited;
  }

  /** Immediate SIGKILL, e.g. to simulate a crash. */
  kill9(): void {
    if (this.exit) return;
    this.stopping = true;
    this.child.kill('SIGKILL');
  }

  /**
   * The last `lines` lines of a log file, logFile unless told (for error
   * messages). When the child died of a Go panic, the excerpt starts at the
   * panic's message instead: the goroutine dump after it is long, and the
   * message is what explains the exit.
   */
  logTail(lines = 30, file = this.logFile): string {
    const tail = readTail(file, 400).split('\n');
    const panicAt = tail.findLastIndex((line) => /^(panic|fatal error): /.test(line));
    return (panicAt >= 0 ? tail.slice(panicAt, panicAt + lines) : tail.slice(-lines)).join('\n');
  }
}

const pidFileOf = (opts: ManagedProcessOptions) => opts.pidFile ?? `${opts.logFile}.pid`;

/**
 * Spawns the process with stdout and stderr appended to its log file and
 * records it in its PID file; rejects if it cannot be started at all.
 */
async function spawnLogged(opts: ManagedProcessOptions, lifetime: Lifetime): Promise<ChildProcess> {
  fs.mkdirSync(path.dirname(opts.logFile), { recursive: true });
  // The child writes straight into the file: no pipes to drain, and its output
  // keeps flowing even while our event loop is busy.
  const out = fs.openSync(opts.logFile, 'a');
  fs.writeSync(out, `\n--- ${new Date().toISOString()} starting ${opts.name}: ${opts.command} ${opts.args.join(' ')}\n`);
  let child: ChildProcess;
  try {
    child = spawn(opts.command, opts.args, {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', out, out],
      // A child stays in our process group: a terminal's Ctrl-C reaches it too.
      // A daemon gets a session of its own: no terminal signal does.
      detached: lifetime === 'daemon',
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
  } catch (err) {
    throw new Error(`could not start ${opts.name} (${opts.command}): ${(err as Error).message}`);
  } finally {
    fs.closeSync(out);
  }
  // Line 2 (the exact argv) lets a later run recognise this process if we die without stopping it.
  writePidFile(pidFileOf(opts), { pid: child.pid!, argv: [opts.command, ...opts.args] });
  return child;
}

/** The process waited for died before it became ready; `exit` says how. */
export class ChildExitedError extends Error {
  constructor(
    what: string,
    readonly child: ManagedProcess,
    readonly exit: ExitInfo,
  ) {
    super(
      `${what}: ${child.name} (pid ${child.pid}) exited (${exit.signal ?? `code ${exit.code}`}) before it was ready\n` +
        child.logFiles.map((file) => `--- log of ${file} ---\n${child.logTail(30, file)}`).join('\n'),
    );
  }
}

/**
 * Polls `check` until it returns true. A check that throws counts as "not yet";
 * the last error is reported on timeout. If `process` exits meanwhile it fails
 * at once, with the tail of that process's logs.
 */
export async function waitFor(
  check: () => Promise<boolean>,
  opts: { what: string; timeoutMs: number; intervalMs?: number; process?: ManagedProcess },
): Promise<void> {
  const { what, timeoutMs, intervalMs = 250, process: child } = opts;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  const childExited = () => {
    if (!child || child.running) return;
    throw new ChildExitedError(what, child, child.exitInfo!);
  };
  for (;;) {
    childExited();
    const remaining = deadline - Date.now();
    try {
      // A single hung attempt must neither outlive the deadline nor hide the child's death.
      const outcome = await raceWith(check(), remaining, child?.exited);
      if (outcome === true) return;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    childExited();
    if (Date.now() >= deadline) {
      const last = lastError ? ` (last error: ${(lastError as Error).message ?? String(lastError)})` : '';
      const tail = child ? `\n--- last lines of ${child.logFile} ---\n${child.logTail(30)}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last}${tail}`);
    }
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
  }
}

async function raceWith(attempt: Promise<boolean>, ms: number, exited?: Promise<ExitInfo>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), Math.max(0, ms))));
  attempt.catch(() => {}); // a late rejection after the race is lost must not surface as unhandled
  try {
    return await Promise.race([attempt, timeout, ...(exited ? [exited.then(() => false)] : [])]);
  } finally {
    clearTimeout(timer);
  }
}

function readTail(file: string, lines: number): string {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const length = Math.min(size, 64 * 1024);
      const buf = Buffer.alloc(length);
      fs.readSync(fd, buf, 0, length, size - length);
      return buf.toString('utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return '(no log output)';
  }
}

/**
 * A PID file left behind means a previous run of ours died without stopping its
 * child (e.g. it was SIGKILLed), and that child may still hold our ports and data
 * directory. Stop it, but only if that PID still runs exactly the argv we recorded,
 * so a recycled PID of an unrelated process is never touched.
 */
export async function stopLeftover(pidFile: string): Promise<void> {
  const leftover = runningRecorded(pidFile);
  fs.rmSync(pidFile, { force: true });
  if (!leftover) return;
  log.warn({ childPid: leftover.pid, pidFile }, 'stopping a leftover child from an earlier run');
  await stopPid(leftover.pid, 20_000);
}

// ---------------------------------------------------------------- registry ---

const children = new Set<ManagedProcess>();
let hooksInstalled = false;

/** Stops every running child in parallel (SIGTERM, then SIGKILL after timeoutMs). */
export async function stopAllChildren({ timeoutMs = 20_000 }: { timeoutMs?: number } = {}): Promise<void> {
  await Promise.all([...children].map((c) => c.stop({ timeoutMs })));
}

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  // 'exit' handlers must be synchronous: all we can do is SIGTERM; the children then shut
  // down cleanly on their own (Kafka flushes its logs, Temporal closes SQLite).
  process.on('exit', () => {
    for (const c of children) signal(c.pid, 'SIGTERM');
  });
  // Node's default for SIGINT/SIGTERM is to die at once, without running 'exit' handlers,
  // which would orphan the children. If nobody else handles the signal, do what the default
  // would have done plus terminate the children: re-raise the signal after removing ourselves.
  // If the application has its own handler (the CLI calls stopAllChildren from it), stay out
  // of its way.
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    const handler = () => {
      if (process.listenerCount(sig) > 1) return;
      for (const c of children) signal(c.pid, 'SIGTERM');
      process.off(sig, handler);
      process.kill(process.pid, sig);
    };
    process.on(sig, handler);
  }
}
