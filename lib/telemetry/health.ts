export type ComponentName = 'clickhouse' | 'kafka' | 'temporal' | 'worker';
export type ComponentState = 'starting' | 'ready' | 'down';

export interface ComponentReport {
  state: ComponentState;
  detail?: string;
  since: string;
}

export type Probe = () => Promise<void>;

const PROBE_TIMEOUT_MS = 2000;

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
  }

  probe(name: ComponentName, probe: Probe): void {
    this.probes.set(name, probe);
  }

  async check(): Promise<{ ready: boolean; components: Record<string, ComponentReport> }> {
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
