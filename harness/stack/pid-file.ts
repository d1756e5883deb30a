import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * PID files of the processes the stack starts: line 1 the PID, line 2 the
 * exact argv as JSON. The argv lets a later run recognise the process:
 * anything that acts on a recorded PID first checks that it still runs exactly
 * that argv, so a recycled PID of an unrelated process is never touched, and
 * nothing is ever found by name.
 */
export interface Recorded {
  pid: number;
  argv: string[];
}

export function writePidFile(pidFile: string, rec: Recorded): void {
  fs.writeFileSync(pidFile, `${rec.pid}\n${JSON.stringify(rec.argv)}\n`);
}

/** The process a PID file names, if that PID still runs exactly the recorded argv. */
export function runningRecorded(pidFile: string): Recorded | undefined {
  let rec: Recorded;
  try {
    const [first, second] = fs.readFileSync(pidFile, 'utf8').split('\n');
    rec = { pid: Number.parseInt(first ?? '', 10), argv: JSON.parse(second ?? '[]') as string[] };
  } catch {
    return undefined;
  }
  if (!(rec.pid > 0) || rec.argv.length === 0) return undefined;
  try {
    const cmdline = fs.readFileSync(`/proc/${rec.pid}/cmdline`, 'utf8').replace(/\0$/, '');
    return cmdline === rec.argv.join('\0') ? rec : undefined;
  } catch {
    return undefined; // gone, or no /proc (then we cannot prove it is ours)
  }
}

/** Running (a zombie nobody reaped yet counts as gone: it holds no ports or files). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // /proc/<pid>/stat: "pid (comm) S …"; comm may contain spaces and parentheses.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc: trust kill(0)
  }
}

export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** SIGTERM, wait up to timeoutMs, then SIGKILL; resolves when the PID is gone. */
export async function stopPid(pid: number, timeoutMs: number): Promise<'terminated' | 'killed'> {
  signal(pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (pidAlive(pid) && Date.now() < deadline) await sleep(100);
  if (!pidAlive(pid)) return 'terminated';
  await killPid(pid);
  return 'killed';
}

/** SIGKILL; resolves when the PID is gone. */
export async function killPid(pid: number): Promise<void> {
  signal(pid, 'SIGKILL');
  while (pidAlive(pid)) await sleep(50);
}
