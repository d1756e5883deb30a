/**
 * CPU and memory of processes and of the machine, read from /proc (Linux).
 *
 * A process's CPU is utime + stime from /proc/<pid>/stat (clock ticks, summed
 * over all its threads); the difference of two readings divided by the wall
 * time between them is the number of cores it kept busy. RSS is VmRSS from
 * /proc/<pid>/status. Machine CPU is the first line of /proc/stat.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';

/** Clock ticks per second (USER_HZ): 100 on every mainstream Linux, asked of getconf to be sure. */
export const CLOCK_TICKS: number = (() => {
  try {
    const n = Number.parseInt(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim(), 10);
    return n > 0 ? n : 100;
  } catch {
    return 100;
  }
})();

export interface ProcReading {
  /** utime + stime of the process (and of its descendants when asked), in seconds. */
  cpuS: number;
  /** Resident set size in MB (of the process and its descendants when asked). */
  rssMb: number;
}

/** Fields 14 and 15 (utime, stime) and 4 (ppid) of /proc/<pid>/stat; undefined when the process is gone. */
function readStat(pid: number): { ticks: number; ppid: number } | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // comm (field 2) may contain spaces and parentheses: the fields after it start after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); field n is rest[n - 3].
  const ppid = Number(rest[1]);
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return { ticks: utime + stime, ppid };
}

function readRssKb(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** All live descendants of pid (children, grandchildren, …), from a single scan of /proc. */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (!stat) continue;
    let list = children.get(stat.ppid);
    if (!list) children.set(stat.ppid, (list = []));
    list.push(Number(name));
  }
  const out: number[] = [];
  const stack = [...(children.get(pid) ?? [])];
  while (stack.length > 0) {
    const p = stack.pop()!;
    out.push(p);
    stack.push(...(children.get(p) ?? []));
  }
  return out;
}

/**
 * One reading of a process; with `tree`, its descendants are added (a wrapper
 * that forks the real server would otherwise read as idle). Undefined when the
 * process is gone.
 */
export function readProcess(pid: number, tree = false): ProcReading | undefined {
  const stat = readStat(pid);
  if (!stat) return undefined;
  let ticks = stat.ticks;
  let rssKb = readRssKb(pid);
  if (tree) {
    for (const d of descendants(pid)) {
      ticks += readStat(d)?.ticks ?? 0;
      rssKb += readRssKb(d);
    }
  }
  return { cpuS: ticks / CLOCK_TICKS, rssMb: rssKb / 1024 };
}

export interface MachineReading {
  /** Busy time summed over all cores (everything but idle and iowait), seconds. */
  busyS: number;
  /** All time summed over all cores, seconds. */
  totalS: number;
}

export function readMachine(): MachineReading {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  // cpu  user nice system idle iowait irq softirq steal guest guest_nice
  const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  return { busyS: (total - idle) / CLOCK_TICKS, totalS: total / CLOCK_TICKS };
}

export function machineInfo(): { cores: number; mem_gb: number; node: string; cpu_model: string } {
  const cpus = os.cpus();
  return {
    cores: cpus.length,
    mem_gb: Number((os.totalmem() / 1024 ** 3).toFixed(1)),
    node: process.version,
    cpu_model: cpus[0]?.model ?? 'unknown',
  };
}

/** Cores kept busy between two readings taken `seconds` apart. */
export function coresBetween(a: ProcReading | undefined, b: ProcReading | undefined, seconds: number): number | null {
  if (!a || !b || seconds <= 0) return null;
  return (b.cpuS - a.cpuS) / seconds;
}

/** Busy cores of the whole machine between two readings (0..cores). */
export function machineCoresBetween(a: MachineReading, b: MachineReading, cores: number): number | null {
  const total = b.totalS - a.totalS;
  if (total <= 0) return null;
  return ((b.busyS - a.busyS) / total) * cores;
}

/**
 * CPU seconds of a process's threads, grouped by thread name (comm); the main
 * thread is 'main'. Native pools that do not name their threads (libuv's, on
 * Node 20) show under the process's own name.
 */
export function readThreads(pid: number): Map<string, number> | undefined {
  let tids: string[];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  const out = new Map<string, number>();
  for (const tid of tids) {
    let text: string;
    try {
      text = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread ended meanwhile
    }
    const comm = text.slice(text.indexOf('(') + 1, text.lastIndexOf(')'));
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const name = Number(tid) === pid ? 'main' : comm;
    out.set(name, (out.get(name) ?? 0) + (Number(rest[11]) + Number(rest[12])) / CLOCK_TICKS);
  }
  return out;
}

/** Cores per thread group between two readings, busiest first, idle groups dropped. */
export function threadCoresBetween(
  a: Map<string, number> | undefined,
  b: Map<string, number> | undefined,
  seconds: number,
): Record<string, number> {
  const out: [string, number][] = [];
  if (!a || !b || seconds <= 0) return {};
  for (const [name, cpu] of b) {
    const cores = (cpu - (a.get(name) ?? 0)) / seconds;
    if (cores >= 0.005) out.push([name, Math.round(cores * 100) / 100]);
  }
  out.sort((x, y) => y[1] - x[1]);
  return Object.fromEntries(out);
}
