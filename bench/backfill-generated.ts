import { waitFor } from '../harness/stack/child';

/** What a generated backfill covers: sensors × [from, to) at rate_hz, as POST /v1/backfill takes it. */
export interface GeneratedRange {
  sensors: number[];
  from: number;
  to: number;
  rate_hz: number;
}

/**
 * Server-side generation through a backfill workflow (bench-lens' and
 * bench-serve's history), waited for with a progress line every 30 s.
 */
export async function backfillGenerated(base: string, range: GeneratedRange, log: (line: string) => void): Promise<void> {
  const t0 = performance.now();
  const res = await fetch(`${base}/v1/backfill`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ kind: 'generate', ...range, seed: 1 }),
  });
  if (res.status !== 202) throw new Error(`POST /v1/backfill answered ${res.status}: ${await res.text()}`);
  const started = (await res.json()) as { id: string };
  let last = 0;
  await waitFor(
    async () => {
      const s = (await (await fetch(`${base}/v1/backfill/${started.id}`)).json()) as {
        state: string;
        progress: { done: number; total: number };
      };
      if (performance.now() - last > 30_000) {
        last = performance.now();
        log(`  ${s.progress.done}/${s.progress.total} hours (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
      }
      if (s.state === 'failed') throw new Error('backfill failed');
      return s.state === 'completed';
    },
    { timeoutMs: 4 * 3_600_000, intervalMs: 2000, what: 'the backfill' },
  );
}
