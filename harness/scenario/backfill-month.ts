import { sensorValues } from '../../generator/signal';
import { waitFor } from '../stack/child';
import { SensorChecksum } from '../../lib/model/checksum';
import type { ExpectedSensor } from '../verify/manifest-check';
import { drainCompaction, finalCheck, seconds, type ScenarioContext, type ScenarioResult } from './common';

const DAY = 86_400_000;

/** What the backfill generator writes for one sensor, computed the same way (generator/signal.ts), an hour at a time. */
function expectedSensor(seed: number, sensor: number, from: number, to: number, rateHz: number): ExpectedSensor {
  const period = 1000 / rateHz;
  const sum = new SensorChecksum();
  for (let h = from; h < to; h += 3_600_000) {
    const count = Math.min(3_600_000, to - h) / period;
    const values = sensorValues(seed, sensor, h, period, count);
    for (let i = 0; i < count; i++) sum.add(h + i * period, values[i]!);
  }
  return { points: sum.points, checksum: sum.checksum };
}

/** 30 days of 2 sensors generated server-side through a backfill workflow, then storage and lenses (incl. 30-day lenses) checked. */
export async function backfillMonth({ harness, step }: ScenarioContext): Promise<ScenarioResult> {
  const sensors = [1, 2];
  const rateHz = 10;
  const seed = 606;
  const to = Date.UTC(2026, 0, 1);
  const from = to - 30 * DAY;
  const base = harness.api.baseUrl;
  step(
    `back-filling 30 days × ${sensors.length} sensors × ${rateHz} Hz = ${((30 * 86_400 * rateHz * sensors.length) / 1e6).toFixed(1)} M points…`,
  );
  const t0 = performance.now();
  const res = await fetch(`${base}/v1/backfill`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ kind: 'generate', sensors, from, to, rate_hz: rateHz, seed }),
  });
  if (res.status !== 202) throw new Error(`POST /v1/backfill: ${res.status} ${await res.text()}`);
  const { id } = (await res.json()) as { id: string };
  type State = { state: string; progress: { done: number; total: number; inserted?: number; alreadyStored?: number } };
  let state: State | undefined;
  let lastLog = 0;
  await waitFor(
    async () => {
      const st = (await (await fetch(`${base}/v1/backfill/${id}`)).json()) as State;
      state = st;
      if (performance.now() - lastLog > 15_000) {
        lastLog = performance.now();
        step(`  ${st.progress.done}/${st.progress.total} (${seconds(performance.now() - t0)} s)`);
      }
      if (st.state === 'failed') throw new Error(`backfill ${id} failed`);
      return st.state === 'completed';
    },
    { timeoutMs: 3 * 3_600_000, intervalMs: 1000, what: 'the backfill' },
  );
  const backfillS = seconds(performance.now() - t0);
  step(`backfill done in ${backfillS} s; waiting for compaction…`);
  const compactionS = await drainCompaction(harness, 3 * 3_600_000);
  step('computing the expected checksums and checking storage and lenses…');
  const expected = new Map(sensors.map((s) => [s, expectedSensor(seed, s, from, to, rateHz)]));
  const points = [...expected.values()].reduce((n, e) => n + e.points, 0);
  const { outcome } = await finalCheck(harness, expected, { from, to, lenses: 100 });
  // 30-day lenses over the whole month, the preset the random check does not cover.
  const month = await fetch(`${base}/v1/lens?sensors=1,2&from=${from}&to=${to}&points=2500`);
  const monthBody = (await month.json()) as { plan: { rows_read: number; level_ms: number | null } };
  const monthRaw = await fetch(`${base}/v1/lens?sensors=1,2&from=${from}&to=${to}&points=2500&source=raw`);
  const { lensDifferences } = await import('../verify/lens-check');
  const monthDiff = lensDifferences(monthBody as never, (await monthRaw.json()) as never);
  return {
    details: {
      sensors: sensors.length,
      days: 30,
      rate_hz: rateHz,
      points,
      backfill_s: backfillS,
      backfill_points_per_s: Math.round(points / backfillS),
      compaction_s: compactionS,
      inserted: (state as State | undefined)?.progress.inserted,
      month_lens: { rows_read: monthBody.plan.rows_read, level_ms: monthBody.plan.level_ms, differences: monthDiff.length },
    },
    checks: { month_lens_exact: monthDiff.length === 0 },
    outcome,
    lines: [
      `  backfill    ${points.toLocaleString('en')} points in ${backfillS} s (${Math.round(points / backfillS).toLocaleString('en')} points/s), compaction ${compactionS} s more`,
      `  30-day lens ${monthBody.plan.rows_read} rows read (level ${monthBody.plan.level_ms} ms), ${monthDiff.length} buckets differ from raw`,
    ],
  };
}
