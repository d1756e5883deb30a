export type ComponentName = 'clickhouse' | 'kafka' | 'temporal' | 'worker' | 'mqtt';
export type ComponentState = 'starting' | 'ready' | 'down';

export interface ComponentReport {
  state: ComponentState;
  detail?: string;
  since: string;
}

export type Probe = () => Promise<void>;

const PROBE_TIMEOUT_MS = 2000;
/**
 * A probed answer is reused this long: a health check costs a map look-up,
 * not a query, a metadata request and a Temporal call each time (load
 * balancers and monitors ask often). A component that goes down shows within
 * this time plus a probe.
 */
const PROBED_FOR_MS = 1000;

type Checked = { ready: boolean; components: Record<string, ComponentReport> };

/**
 * What each component of this process is doing. Components report their own
 * lifecycle; live probes (a query, a metadata request) confirm "ready" when
 * someone asks.
 */
export class Health {
  private readonly reports = new Map<ComponentName, ComponentReport>();
  private readonly probes = new Map<ComponentName, Probe>();

  constructor(names: ComponentName[]) {
    for (const n of names) this.set(n, 'starting');
  }

  set(name: ComponentName, state: ComponentState, detail?: string): void {
    const prev = this.reports.get(name);
    if (prev && prev.state === state && prev.detail === detail) return;
    this.reports.set(name, { state, detail, since: new Date().toISOString() });
    this.generation++;
    this.last = null;
  }

  probe(name: ComponentName, probe: Probe): void {
    this.probes.set(name, probe);
  }

  private last: { at: number; result: Checked } | null = null;
  private probing: Promise<Checked> | null = null;
  /** Bumped by every reported change: a probed answer from before it is not reused. */
  private generation = 0;

  /** Each component's state; probes run at most once per PROBED_FOR_MS whoever asks, and a reported change shows at once. */
  check(): Promise<Checked> {
    const last = this.last;
    if (last && performance.now() - last.at < PROBED_FOR_MS) return Promise.resolve(last.result);
    if (!this.probing) {
      const generation = this.generation;
      const at = performance.now();
      this.probing = this.probeAll().then(
        (result) => {
          if (generation === this.generation) this.last = { at, result };
          this.probing = null;
          return result;
        },
        (err: unknown) => {
          this.probing = null;
          throw err;
        },
      );
    }
    return this.probing;
  }

  private async probeAll(): Promise<Checked> {
    const components: Record<string, ComponentReport> = {};
    await Promise.all(
      [...this.reports].map(async ([name, report]) => {
        const probe = this.probes.get(name);
        if (report.state !== 'ready' || !probe) {
          components[name] = report;
          return;
        }
        try {
          await withTimeout(probe(), PROBE_TIMEOUT_MS);
          components[name] = report;
        } catch (err) {
          components[name] = { state: 'down', detail: (err as Error).message, since: report.since };
        }
      }),
    );
    return { ready: Object.values(components).every((c) => c.state === 'ready'), components };
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    p.then(resolve, reject).finally(() => clearTimeout(t));
  });
}
