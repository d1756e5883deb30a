import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runGenerator } from '../../generator/run';
import { Harness } from '../../harness/stack/harness';
import { waitFor } from '../../harness/stack/child';
import { expectExact, fetchRaw, rng, type LensBody, type Points } from '../support/lens-reference';

/** Whether every bucket of a lens equals the raw aggregate of `raw` (one state of the data). */
function exactFor(l: LensBody, raw: Map<number, Points>): boolean {
  try {
    expectExact(l, raw);
    return true;
  } catch {
    return false;
  }
}
import { tempStateDir } from '../support/ingest-run';

const SENSORS = [1, 2, 3, 4];
const RATE = 500; // even milliseconds only, so late points can land in between
// Two minutes before midnight: the data crosses a day, exercising the day ledger.
const START = Date.UTC(2025, 11, 31, 23, 58, 0);
const DURATION_S = 240;
const END = START + DURATION_S * 1000;

describe('exact lenses', () => {
  let harness: Harness;
  let stateDir: string;
  const raw = new Map<number, Points>();

  const lens = async (query: string): Promise<LensBody> => {
    const res = await fetch(`${harness.api.baseUrl}/v1/lens?${query}`);
    const body = await res.json();
    expect(res.status, JSON.stringify(body)).toBe(200);
    return body as LensBody;
  };

  const backlog = async () =>
    ((await (await fetch(`${harness.api.baseUrl}/v1/compaction/status`)).json()) as { backlog_windows: number }).backlog_windows;

  async function refreshRaw(): Promise<void> {
    for (const s of SENSORS) raw.set(s, await fetchRaw(harness.api.baseUrl, s, START - 60_000, END + 60_000));
  }

  /** Random sensors, interval, and `points` or `step` (including steps below the finest level and odd multiples). */
  function randomQuery(next: () => number): string {
    const n = 1 + Math.floor(next() * SENSORS.length);
    const sensors = [...SENSORS].sort(() => next() - 0.5).slice(0, n);
    const span = Math.max(1, Math.floor(next() ** 3 * (END - START + 20_000)));
    const from = START - 10_000 + Math.floor(next() * (END - START + 20_000 - span));
    const to = from + span;
    const steps = [1, 3, 10, 20, 50, 100, 700, 1000, 2000, 5000, 30_000, 60_000, 120_000];
    const tail = next() < 0.5 ? `points=${1 + Math.floor(next() * 3000)}` : `step=${steps[Math.floor(next() * steps.length)]}`;
    const step = /step=(\d+)/.exec(tail);
    // Keep explicit steps within the API's bucket limit.
    if (step && Math.ceil(span / Number(step[1])) > 9000) return `sensors=${sensors.join(',')}&from=${from}&to=${to}&points=2500`;
    return `sensors=${sensors.join(',')}&from=${from}&to=${to}&${tail}`;
  }

  beforeAll(async () => {
    stateDir = tempStateDir('lens');
    harness = await Harness.start({ stateDir, freePorts: true });
    await runGenerator(harness.kafka, {
      topic: harness.config.kafka.topic,
      sensors: SENSORS.length,
      rateHz: RATE,
      durationS: DURATION_S,
      startMs: START,
      seed: 21,
      lateFraction: 0.05,
      maxLateMs: 120_000,
      dupFraction: 0.05,
      reorder: true,
      corruptFraction: 0,
      realtime: false,
    });
    await harness.waitCaughtUp();
    await refreshRaw();
  });

  afterAll(async () => {
    await harness?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  test('random lenses right after ingest, while windows are hot, dirty or being compacted, equal raw aggregates', async () => {
    const next = rng(1);
    let rawWindows = 0;
    for (let i = 0; i < 60; i++) {
      const l = await lens(randomQuery(next));
      rawWindows += l.plan.raw_windows;
      expectExact(l, raw);
    }
    // The run must really have met windows not yet compacted.
    expect(rawWindows).toBeGreaterThan(0);
  });

  test('after compaction: random lenses are exact and read rollups only, within 6 × points × sensors rows', async () => {
    await waitFor(async () => (await backlog()) === 0, { timeoutMs: 60_000, what: 'the compaction backlog to drain' });
    const next = rng(2);
    for (let i = 0; i < 60; i++) {
      const l = await lens(randomQuery(next));
      expectExact(l, raw);
      if (l.plan.level_ms !== null) expect(l.plan.raw_windows).toBe(0);
    }
    for (const points of [500, 2500, 10_000]) {
      const l = await lens(`sensors=${SENSORS.join(',')}&from=${START}&to=${END}&points=${points}`);
      expectExact(l, raw);
      expect(l.plan.raw_windows).toBe(0);
      expect(l.plan.rows_read).toBeLessThanOrEqual(6 * l.sensors[0]!.t.length * SENSORS.length);
    }
    // rows_read is what the engine scanned, not the rows it returned: a GROUP BY over raw reads every point it counts.
    const naive = await lens(`sensors=${SENSORS.join(',')}&from=${START}&to=${END}&points=500&source=raw`);
    const counted = naive.sensors.reduce((n, s) => n + s.count.reduce((a, c) => a + c, 0), 0);
    expect(counted).toBeGreaterThan(0);
    expect(naive.plan.rows_read).toBeGreaterThanOrEqual(counted);
  });

  test('late data into a compacted window: exact at once, re-aggregated within 10 s, counted once', async () => {
    const window = START + 60_000; // a whole minute, long compacted
    const lateTs = Array.from({ length: 500 }, (_, i) => window + 2 * i + 1); // odd ms: new points
    const before = await lens(`sensors=1&from=${window}&to=${window + 60_000}&step=60000`);
    expect(before.plan.raw_windows).toBe(0);
    const res = await fetch(`${harness.api.baseUrl}/v1/ingest`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ v: 1, sensor: 1, ts: lateTs, values: lateTs.map((_, i) => 10_000 + i) }),
    });
    expect(res.status).toBe(202);
    await harness.waitCaughtUp();
    await refreshRaw();
    const query = `sensors=1&from=${window}&to=${window + 60_000}&step=60000`;
    const landed = Date.now();
    const hot = await lens(query);
    expectExact(hot, raw);
    expect(hot.sensors[0]!.count[0]).toBe(before.sensors[0]!.count[0]! + 500);
    await waitFor(async () => (await lens(query)).plan.raw_windows === 0, {
      timeoutMs: 10_000,
      intervalMs: 200,
      what: 're-aggregation of the late window',
    });
    expect(Date.now() - landed).toBeLessThan(10_000);
    const compacted = await lens(query);
    expectExact(compacted, raw);
    expect(compacted.sensors[0]!.count[0]).toBe(before.sensors[0]!.count[0]! + 500);
    // Coarse levels (10 min, 1 h, 1 d) were rewritten too.
    const day = await lens(`sensors=1&from=${Date.UTC(2025, 11, 31)}&to=${Date.UTC(2026, 0, 2)}&step=86400000`);
    expectExact(day, raw);
  });

  test('late data into a cached, compacted window: the first lens once raw shows it is exact; concurrent lenses show one state or the other', async () => {
    const sensor = 2;
    const window = START + 180_000; // compacted long ago, and its ledger held by the service from the lenses above
    const query = `sensors=${sensor}&from=${window}&to=${window + 60_000}&step=1000`;
    for (let i = 0; i < 3; i++) {
      const warm = await lens(query);
      expect(warm.plan.raw_windows).toBe(0);
      expectExact(warm, raw);
    }
    const before = new Map(raw);
    const lateTs = Array.from({ length: 300 }, (_, i) => window + 200 * i + 1); // odd ms across the whole window: new points
    const late: Points = lateTs.map((ts, i) => [ts, 20_000 + i]);
    const after = new Map(raw);
    after.set(
      sensor,
      [...raw.get(sensor)!, ...late].sort((a, b) => a[0] - b[0]),
    );

    // Lenses run back to back while the late batch lands and is compacted.
    let stop = false;
    const seen: LensBody[] = [];
    const concurrent = (async () => {
      while (!stop) seen.push(await lens(query));
    })();
    const res = await fetch(`${harness.api.baseUrl}/v1/ingest`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ v: 1, sensor, ts: lateTs, values: late.map((p) => p[1]) }),
    });
    expect(res.status).toBe(202);
    // The insert has completed once raw shows the late points; the next lens must have them all.
    await waitFor(
      async () =>
        (await fetchRaw(harness.api.baseUrl, sensor, window, window + 60_000)).length ===
        after.get(sensor)!.filter((p) => p[0] >= window && p[0] < window + 60_000).length,
      {
        timeoutMs: 60_000,
        intervalMs: 50,
        what: 'the late points in raw',
      },
    );
    const first = await lens(query);
    expectExact(first, after);
    await waitFor(async () => (await lens(query)).plan.raw_windows === 0, { timeoutMs: 30_000, intervalMs: 200, what: 're-aggregation' });
    const compacted = await lens(query);
    expectExact(compacted, after);
    stop = true;
    await concurrent;
    // Every lens answered meanwhile is the whole window before the batch or the whole window after it, never a mix.
    const states = seen.map((l) => (exactFor(l, after) ? 'after' : exactFor(l, before) ? 'before' : 'mixed'));
    expect(states.filter((s) => s === 'mixed')).toEqual([]);
    expect(states).toContain('after');
    raw.set(sensor, after.get(sensor)!);
  });
});
