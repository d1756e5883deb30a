import fs from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { waitFor } from '../../harness/stack/child';
import { Harness } from '../../harness/stack/harness';
import { readEcg } from '../../harness/verify/ecg';
import { encodeBatch } from '../../lib/batch/encode';
import { loadConfig } from '../../lib/config/config';
import { DEFAULT_LEVELS_MS, MS } from '../../lib/model/ladder';
import { exactSum, withinRelative } from '../support/exact-sum';
import { tempStateDir } from '../support/ingest-run';
import { expectExact, fetchRaw, type LensBody, type Points } from '../support/lens-reference';

const T0 = Date.UTC(2025, 3, 1);
const N = 400;
// The 5 minutes of recording cross midnight, inside one 2-day lens bucket (day 20210 is even).
const ECG_T0 = Date.UTC(2025, 4, 2, 23, 59, 0);

/** Any finite double: fast-check's doubles plus raw bit patterns (subnormals, huge, ±0) and named edge cases. */
function anyDoubles(): number[] {
  const edge = [-0, 0, 5e-324, -5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, -1.7976931348623157e308, 0.1, 123456.789];
  const bits = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((b) => new Float64Array(BigUint64Array.of(b).buffer)[0]!);
  const doubles = fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), bits.filter(Number.isFinite));
  return [...edge, ...fc.sample(doubles, { numRuns: N - edge.length, seed: 12 })];
}

const same = (a: number | null | undefined, b: number) => Object.is(a, b);

describe('what is written is what is read (Float64)', () => {
  let harness: Harness;
  let stateDir: string;
  const values = anyDoubles();
  const ts = values.map((_, i) => T0 + i * 1000);

  const api = (p: string, init?: RequestInit) => fetch(`${harness.api.baseUrl}${p}`, init);
  const lens = async (q: string) => {
    const res = await api(`/v1/lens?${q}`);
    const body = await res.json();
    expect(res.status, JSON.stringify(body)).toBe(200);
    return body as LensBody;
  };
  const drained = () =>
    waitFor(async () => ((await (await api('/v1/compaction/status')).json()) as { backlog_windows: number }).backlog_windows === 0, {
      timeoutMs: 120_000,
      intervalMs: 500,
      what: 'the compaction backlog to drain',
    });

  /** Raw points bit-identical to `expected`, and every 1 s bucket (one point each) holding it as min, max, first, last and avg. */
  async function expectOnePointBuckets(sensor: number, expected: number[]): Promise<number> {
    const raw = await fetchRaw(harness.api.baseUrl, sensor, T0, T0 + N * 1000);
    expect(raw.map((p) => p[0])).toEqual(ts);
    const wrong = raw.filter((p, i) => !same(p[1], expected[i]!));
    expect(wrong).toEqual([]);
    const l = await lens(`sensors=${sensor}&from=${T0}&to=${T0 + N * 1000}&step=1000`);
    const s = l.sensors[0]!;
    const bad = expected.filter(
      (v, i) =>
        s.count[i] !== 1 || !same(s.min[i], v) || !same(s.max[i], v) || !same(s.first[i], v) || !same(s.last[i], v) || s.avg[i] !== v,
    );
    expect(bad).toEqual([]);
    return l.plan.raw_windows;
  }

  beforeAll(async () => {
    stateDir = tempStateDir('values');
    harness = await Harness.start({ stateDir, freePorts: true });
  });

  afterAll(async () => {
    await harness?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  test('any finite double comes back bit-identical from /v1/raw and as min/max/first/last of a one-point bucket', async () => {
    const frame = encodeBatch({ kind: 'irregular', sensor: 301, timestamps: Float64Array.from(ts), values: Float64Array.from(values) });
    const json = { v: 1, sensor: 302, ts, values };
    const bin = await api('/v1/ingest', { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: frame });
    expect(bin.status).toBe(202);
    const js = await api('/v1/ingest', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(json) });
    expect(js.status).toBe(202);
    await harness.waitCaughtUp();
    // JSON text has no -0: JSON.stringify writes it as 0.
    const viaJson = values.map((v) => (Object.is(v, -0) ? 0 : v));
    // Before compaction the buckets come from raw, after it from the rollups.
    await expectOnePointBuckets(301, values);
    await expectOnePointBuckets(302, viaJson);
    await drained();
    expect(await expectOnePointBuckets(301, values)).toBe(0);
    expect(await expectOnePointBuckets(302, viaJson)).toBe(0);
  });

  test('a real ECG imported by CSV in millivolts: stored as written, lens averages the exact mean at every rollup level', async () => {
    const ecg = readEcg(loadConfig().toolsDir, ECG_T0);
    const mv = Array.from(ecg.millivolts);
    const times = Array.from(ecg.times);
    const csv = ['sensor,ts,value', ...mv.map((v, i) => `360,${times[i]},${v}`)].join('\n');
    const up = await api('/v1/backfill', { method: 'POST', headers: { 'content-type': 'text/csv' }, body: csv });
    expect(up.status).toBe(202);
    const id = ((await up.json()) as { id: string }).id;
    let done: { state: string; progress: { inserted: number; rejected: number } } | undefined;
    await waitFor(async () => (done = (await (await api(`/v1/backfill/${id}`)).json()) as typeof done)!.state !== 'running', {
      timeoutMs: 240_000,
      intervalMs: 500,
      what: 'the ECG import',
    });
    expect(done!.state).toBe('completed');
    expect(done!.progress).toMatchObject({ inserted: 108_000, rejected: 0 });
    await drained();

    const to = times[times.length - 1]! + 1;
    const raw = await fetchRaw(harness.api.baseUrl, 360, ECG_T0, to);
    expect(raw.length).toBe(108_000);
    expect(raw.filter((p, i) => p[0] !== times[i] || !same(p[1], mv[i]!))).toEqual([]);
    const points = new Map<number, Points>([[360, raw]]);
    // Every level of the pyramid up to a day, each read alone (a step equal to the level), and the whole recording.
    for (const step of DEFAULT_LEVELS_MS.filter((l) => l <= MS.day)) {
      const from = step < 1000 ? ECG_T0 + 30_000 : ECG_T0;
      const l = await lens(`sensors=360&from=${from}&to=${step < 1000 ? from + 20_000 : to}&step=${step}`);
      expect(l.plan.level_ms, `step ${step}`).toBe(step);
      expect(l.plan.raw_windows).toBe(0);
      expectExact(l, points);
    }
    const whole = await lens(
      `sensors=360&from=${ECG_T0 - (ECG_T0 % MS.day)}&to=${ECG_T0 - (ECG_T0 % MS.day) + 2 * MS.day}&step=${2 * MS.day}`,
    );
    const mean = exactSum(mv) / mv.length;
    expect(whole.sensors[0]!.count[0]).toBe(108_000);
    expect(withinRelative(whole.sensors[0]!.avg[0]!, mean, 1e-12), `${whole.sensors[0]!.avg[0]} vs ${mean}`).toBe(true);
  });
});
