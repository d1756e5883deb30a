/**
 * Once a second, while bench-ingest runs: /proc readings of every process of
 * the stack, of the Herodotus process's threads and of the machine, and the
 * partitions' checkpoints and inserted totals from /v1/ingest/status (which
 * give the throughput-over-time series).
 */
import type { Harness } from '../harness/stack/harness';
import { readMachine, readProcess, readThreads, type MachineReading, type ProcReading } from './process-stats';

export type ProcName = 'kafka' | 'temporal' | 'herodotus' | 'bench';
export const PROCS: readonly ProcName[] = ['kafka', 'temporal', 'herodotus', 'bench'];

const SAMPLE_MS = 1000;

interface IngestStatusSample {
  /** Σ high watermarks: records published. */
  high: number;
  /** Σ checkpoints: records ingested. */
  checkpoint: number;
  /** Σ totals.inserted: points inserted into raw. */
  inserted: number;
}

export interface Sample {
  /** ms since the bench started. */
  t: number;
  procs: Partial<Record<ProcName, ProcReading>>;
  machine: MachineReading;
  /** CPU seconds of the Herodotus process's threads, by thread name. */
  serviceThreads: Map<string, number> | undefined;
}

export interface StatusSample extends IngestStatusSample {
  t: number;
}

interface StatusBody {
  caught_up: boolean;
  lag: number | null;
  partitions: { partition: number; high: number; checkpoint: number | null; totals: { inserted: number } | null }[];
}

/**
 * Once a second: /proc readings of every process (synchronous, on time) and,
 * without ever overlapping itself, /v1/ingest/status.
 */
export class Sampler {
  readonly samples: Sample[] = [];
  readonly status: StatusSample[] = [];
  statusErrors = 0;
  private timer: NodeJS.Timeout | null = null;
  private statusBusy = false;

  constructor(
    private readonly pids: () => Partial<Record<ProcName, number>>,
    private readonly baseUrl: string,
    private readonly t0: number,
    private readonly headers: Record<string, string>,
  ) {}

  start(): void {
    this.tick();
    this.timer = setInterval(() => this.tick(), SAMPLE_MS);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** A reading now, outside the 1 s rhythm (step boundaries). */
  tick(): Sample {
    const procs: Sample['procs'] = {};
    for (const [name, pid] of Object.entries(this.pids()) as [ProcName, number | undefined][]) {
      if (pid === undefined) continue;
      // The bench's own children are the stack itself: count only this process.
      const r = readProcess(pid, name !== 'bench');
      if (r) procs[name] = r;
    }
    const service = this.pids().herodotus;
    const serviceThreads = service === undefined ? undefined : readThreads(service);
    const sample = { t: performance.now() - this.t0, procs, machine: readMachine(), serviceThreads };
    this.samples.push(sample);
    if (!this.statusBusy) {
      this.statusBusy = true;
      void this.readStatus().finally(() => (this.statusBusy = false));
    }
    return sample;
  }

  private async readStatus(): Promise<void> {
    try {
      const res = await fetch(`${this.baseUrl}/v1/ingest/status`, { headers: this.headers, signal: AbortSignal.timeout(10_000) });
      if (!res.ok) throw new Error(`status ${res.status}`);
      const body = (await res.json()) as StatusBody;
      let high = 0;
      let checkpoint = 0;
      let inserted = 0;
      for (const p of body.partitions) {
        high += p.high;
        checkpoint += p.checkpoint ?? 0;
        inserted += p.totals?.inserted ?? 0;
      }
      this.status.push({ t: performance.now() - this.t0, high, checkpoint, inserted });
    } catch {
      this.statusErrors++;
    }
  }
}

/** A sampler of a running stack's processes (Kafka, Temporal, the service) and of this process, from t0. */
export function stackSampler(harness: Harness, t0: number): Sampler {
  const pids = () => ({
    kafka: harness.infra.kafka?.pid,
    temporal: harness.infra.temporal?.pid,
    herodotus: harness.service?.pid,
    bench: process.pid,
  });
  return new Sampler(pids, harness.api.baseUrl, t0, harness.api.headers);
}
