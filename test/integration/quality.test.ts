// Quality per point (issue 12 item 3): OPC UA-style good / uncertain / bad,
// written in every input format (JSON and binary batches, line protocol,
// CSV import, MQTT), stored with each point and returned by /v1/raw. Lens
// buckets count good, uncertain and bad points; avg, min and max cover the
// good points by default and every point with quality=any; first and last
// cover every point. Checked bucket by bucket against the raw points, on
// raw, on every rollup level the lenses read after compaction, and on a
// bucket that holds bad points only.
import fs from 'node:fs';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../harness/stack/child';
import { Harness } from '../../harness/stack/harness';
import { encodeBatch } from '../../lib/batch/encode';
import type { SensorBatch } from '../../lib/batch/types';
import { createLogger } from '../../lib/log/logger';
import { tempStateDir } from '../support/ingest-run';
import { expectExact, fetchRaw, type LensBody, type Points } from '../support/lens-reference';
import { counterTotal } from '../support/metrics';

const T0 = Date.UTC(2025, 5, 1);
const N = 1200;
const PERIOD_MS = 100;
const NAMES = ['good', 'uncertain', 'bad'] as const;

let harness: Harness | undefined;
let stateDir = '';
const log = createLogger('quality-test', process.env.LOG_LEVEL ?? 'warn');

beforeAll(async () => {
  stateDir = tempStateDir('quality');
  harness = await Harness.start({
    stateDir,
    freePorts: true,
    mqtt: true,
    env: { HERODOTUS_MAX_FUTURE_SKEW_MS: String(10 * 365 * 86_400_000) },
    log,
  });
});

afterAll(async () => {
  try {
    await harness?.stop();
  } finally {
    if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
  }
});

function h(): Harness {
  if (!harness) throw new Error('the stack did not start');
  return harness;
}
const base = () => h().api.baseUrl;

/** Point i's quality: a whole 10 s bucket bad (points 300–399), and scattered uncertain and bad points elsewhere. */
function qualityAt(i: number): number {
  if (i >= 300 && i < 400) return 2;
  if (i % 7 === 3) return 1;
  if (i % 11 === 5) return 2;
  return 0;
}

/** Values far apart by quality, so that a point leaking into the wrong aggregate shows in min, max and avg. */
const valueAt = (i: number, q: number) => (q === 0 ? ((i * 37) % 101) * 0.1 - 5.3 : q === 1 ? 1000 + i * 0.25 : -1e6 - i);

function batch(sensor: number): SensorBatch {
  const quality = Uint8Array.from({ length: N }, (_, i) => qualityAt(i));
  const values = Float64Array.from({ length: N }, (_, i) => valueAt(i, quality[i]!) + sensor);
  return { kind: 'regular', sensor, start: T0, periodMs: PERIOD_MS, values, quality };
}

/** The points a sensor was written with, as fetchRaw gives them: a quality element only where a point is not good. */
function expectedPoints(b: SensorBatch): Points {
  return Array.from(b.values, (v, i) => {
    const ts = T0 + i * PERIOD_MS;
    const q = b.quality![i]!;
    return q === 0 ? ([ts, v] as [number, number]) : ([ts, v, q] as [number, number, number]);
  });
}

async function post(path: string, body: string | Buffer, contentType: string): Promise<Response> {
  return fetch(`${base()}${path}`, { method: 'POST', body, headers: { 'content-type': contentType } });
}

async function seriesId(name: string): Promise<number> {
  const res = await fetch(`${base()}/v1/series/${name}`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { id: number }).id;
}

async function lens(sensor: number, step: number, quality?: 'any'): Promise<LensBody> {
  const q = `sensors=${sensor}&from=${T0}&to=${T0 + N * PERIOD_MS}&step=${step}${quality ? `&quality=${quality}` : ''}`;
  const res = await fetch(`${base()}/v1/lens?${q}`);
  const body = (await res.json()) as LensBody;
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body;
}

const conflicting = () => counterTotal(base(), 'herodotus_points_conflicting_total');

async function drained(): Promise<void> {
  await h().waitCaughtUp();
  await waitFor(
    async () => ((await (await fetch(`${base()}/v1/compaction/status`)).json()) as { backlog_windows: number }).backlog_windows === 0,
    { timeoutMs: 120_000, intervalMs: 500, what: 'the compaction backlog to drain' },
  );
}

/** Every step from raw points up to the coarsest levels, with either quality, exact against raw. */
async function expectLensesExact(sensor: number, raw: Points): Promise<void> {
  for (const step of [100, 1000, 10_000, 60_000, 3_600_000, 86_400_000]) {
    for (const quality of [undefined, 'any'] as const) {
      const l = await lens(sensor, step, quality);
      expect(l.quality).toBe(quality ?? 'good');
      expectExact(l, new Map([[sensor, raw]]));
    }
  }
}

describe('quality per point', () => {
  const json = batch(1);
  const frame = batch(2);

  it('JSON and binary batches keep each point quality; /v1/raw returns it', { timeout: 240_000 }, async () => {
    const body = {
      v: 1,
      sensor: 1,
      start: T0,
      period_ms: PERIOD_MS,
      values: Array.from(json.values),
      quality: Array.from(json.quality!, (q, i) => (i % 2 === 0 ? NAMES[q] : q)),
    };
    expect((await post('/v1/ingest', JSON.stringify(body), 'application/json')).status).toBe(202);
    expect((await post('/v1/ingest', encodeBatch(frame), 'application/octet-stream')).status).toBe(202);
    await drained();
    expect(await fetchRaw(base(), 1, T0, T0 + N * PERIOD_MS)).toEqual(expectedPoints(json));
    expect(await fetchRaw(base(), 2, T0, T0 + N * PERIOD_MS)).toEqual(expectedPoints(frame));
  });

  it('lenses count each quality and aggregate the good points (quality=any: all), on raw and every rollup level', {
    timeout: 240_000,
  }, async () => {
    for (const b of [json, frame]) await expectLensesExact(b.sensor, expectedPoints(b));
    // After compaction the coarse steps read rollups, not raw points.
    expect((await lens(1, 60_000)).plan.level_ms).not.toBeNull();
    // The bucket of bad points only: counted, first and last kept, no good aggregate; quality=any has one.
    const good = await lens(1, 10_000);
    const any = await lens(1, 10_000, 'any');
    const s = good.sensors[0]!;
    expect([s.count[3], s.good[3], s.uncertain[3], s.bad[3]]).toEqual([100, 0, 0, 100]);
    expect([s.avg[3], s.min[3], s.max[3]]).toEqual([null, null, null]);
    expect([s.first[3], s.last[3]]).toEqual([json.values[300], json.values[399]]);
    expect(any.sensors[0]!.min[3]).toBe(json.values[399]);
  });

  it('a re-send with the same quality is silent; the same value with another quality is a conflict, the first stays', {
    timeout: 240_000,
  }, async () => {
    const before = await conflicting();
    expect((await post('/v1/ingest', encodeBatch(frame), 'application/octet-stream')).status).toBe(202);
    const relabelled: SensorBatch = {
      kind: 'irregular',
      sensor: 2,
      timestamps: Float64Array.of(T0),
      values: frame.values.subarray(0, 1),
      quality: Uint8Array.of(2),
    };
    expect((await post('/v1/ingest', encodeBatch(relabelled), 'application/octet-stream')).status).toBe(202);
    await waitFor(async () => (await conflicting()) === before + 1, { timeoutMs: 60_000, what: 'the conflict counted' });
    await drained();
    expect(await conflicting()).toBe(before + 1);
    expect(await fetchRaw(base(), 2, T0, T0 + N * PERIOD_MS)).toEqual(expectedPoints(frame));
  });

  it('line protocol, CSV and MQTT carry OPC codes and quality words to storage', { timeout: 300_000 }, async () => {
    const t = T0 + 86_400_000;
    const lp = [
      `qlp,site=a value=1.5,quality=192i ${t}`,
      `qlp,site=a value=2.5,quality=64i ${t + 1}`,
      `qlp,site=a value=3.5,quality=0i ${t + 2}`,
    ];
    expect((await post('/write?db=x&precision=ms', lp.join('\n'), 'text/plain')).status).toBe(204);
    const csv = ['Tag,Timestamp,Value,Status', `qcsv,${t},4.5,Good`, `qcsv,${t + 1},5.5,Uncertain`, `qcsv,${t + 2},6.5,24`].join('\n');
    const started = await post('/v1/backfill?series=Tag&ts=Timestamp&value=Value&quality=Status', csv, 'text/csv');
    expect(started.status).toBe(202);
    const { id } = (await started.json()) as { id: string };
    await waitFor(async () => ((await (await fetch(`${base()}/v1/backfill/${id}`)).json()) as { state: string }).state === 'completed', {
      timeoutMs: 240_000,
      intervalMs: 500,
      what: 'the CSV import',
    });
    const client = await mqtt.connectAsync(h().config.mqtt.url!, { clientId: 'quality-test', protocolVersion: 4 });
    try {
      const points = [
        { series: 'qmqtt', ts: t, value: 7.5, quality: 'bad' },
        { series: 'qmqtt', ts: t + 1, value: 8.5, quality: 216 },
        { series: 'qmqtt', ts: t + 2, value: 9.5, quality: 68 },
      ];
      await client.publishAsync('herodotus/quality', JSON.stringify(points), { qos: 1 });
      await waitFor(async () => (await fetch(`${base()}/v1/series/qmqtt`)).status === 200, { timeoutMs: 60_000, what: 'the MQTT series' });
    } finally {
      await client.endAsync(true);
    }
    await drained();
    const written: [string, Points][] = [
      [
        'qlp/site=a',
        [
          [t, 1.5],
          [t + 1, 2.5, 1],
          [t + 2, 3.5, 2],
        ],
      ],
      [
        'qcsv',
        [
          [t, 4.5],
          [t + 1, 5.5, 1],
          [t + 2, 6.5, 2],
        ],
      ],
      [
        'qmqtt',
        [
          [t, 7.5, 2],
          [t + 1, 8.5],
          [t + 2, 9.5, 1],
        ],
      ],
    ];
    for (const [name, points] of written) {
      const sensor = await seriesId(name);
      await waitFor(async () => (await fetchRaw(base(), sensor, t, t + 3)).length === 3, { timeoutMs: 60_000, what: `${name} stored` });
      expect(await fetchRaw(base(), sensor, t, t + 3), name).toEqual(points);
    }
  });
});
