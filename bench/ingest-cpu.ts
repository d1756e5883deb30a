import { setTimeout as sleep } from 'node:timers/promises';
/**
 * CPU and RSS over a stretch of bench-ingest's samples: mean cores and peak
 * RSS per process, busy cores of the machine and what of them was not the
 * stack's, cores per thread group of the Herodotus process.
 */
import { log } from './ingest-log';
import { PROCS, type ProcName, type Sample } from './ingest-sampler';
import { coresBetween, machineCoresBetween, readMachine, threadCoresBetween } from './process-stats';
import { round } from './round';

export interface ProcessStats {
  cpu_cores: number | null;
  rss_mb_max: number | null;
}

/** Mean cores and max RSS per process, and machine cores, over the samples in [from, to]. */
export function summarize(samples: Sample[], from: number, to: number, cores: number) {
  const inside = samples.filter((s) => s.t >= from && s.t <= to);
  const first = inside[0];
  const last = inside[inside.length - 1];
  const processes = {} as Record<ProcName, ProcessStats>;
  for (const name of PROCS) {
    const rss = inside.map((s) => s.procs[name]?.rssMb).filter((x): x is number => x !== undefined);
    const cpu = first && last ? coresBetween(first.procs[name], last.procs[name], (last.t - first.t) / 1000) : null;
    processes[name] = {
      cpu_cores: cpu === null ? null : round(cpu, 2),
      rss_mb_max: rss.length ? Math.round(Math.max(...rss)) : null,
    };
  }
  const machine = first && last ? machineCoresBetween(first.machine, last.machine, cores) : null;
  const ours = PROCS.reduce((n, p) => n + (processes[p].cpu_cores ?? 0), 0);
  return {
    processes,
    machine_cpu_cores: machine === null ? null : round(machine, 2),
    // Whatever else ran on the machine meanwhile (other work on a shared box distorts the result).
    other_cpu_cores: machine === null ? null : round(Math.max(0, machine - ours), 2),
    herodotus_threads: first && last ? threadCoresBetween(first.serviceThreads, last.serviceThreads, (last.t - first.t) / 1000) : {},
  };
}

export type CpuSummary = ReturnType<typeof summarize>;

/** Waits up to maxS for a 5 s stretch in which the machine is (nearly) idle; the busy cores last seen. */
export async function waitIdle(maxS: number, cores: number): Promise<number | null> {
  const deadline = performance.now() + maxS * 1000;
  let busy: number | null = null;
  while (performance.now() < deadline) {
    const a = readMachine();
    await sleep(5000);
    busy = machineCoresBetween(a, readMachine(), cores);
    if (busy !== null && busy < 0.25) return busy;
    log(`  machine busy (${busy?.toFixed(2)} cores); waiting for it to be idle…`);
  }
  return busy;
}
