// Nothing vanishes (issue 12 item 4): a point whose (sensor, ts) is stored
// with another value is never dropped silently. The first value stays; over
// Kafka the record offering the newcomer is dead-lettered as
// conflicting_value (naming sensor, ts, stored and offered value) and
// counted in /metrics; a backfill import counts it in its progress.
// Identical re-sends stay silent. Corrections (on_conflict=replace) arrive
// by POST /v1/ingest, backfill, line protocol and MQTT correction topics.
// Every check is on data: raw's points and values, the dead letters, the
// counters.
import fs from 'node:fs';
import { Partitioners, type Producer } from 'kafkajs';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../harness/stack/child';
import { Harness } from '../../harness/stack/harness';
import { encodeBatch } from '../../lib/batch/encode';
import { timestampAt, type SensorBatch } from '../../lib/batch/types';
import { OffsetWatcher } from '../../lib/kafka/offsets';
import { PartitionReader } from '../../lib/kafka/range-reader';
import { topicOffsets } from '../../lib/kafka/topics';
import { createLogger } from '../../lib/log/logger';
import { tempStateDir } from '../support/ingest-run';
import { expectExact, fetchRaw, type LensBody, type Points } from '../support/lens-reference';
import { counterTotal } from '../support/metrics';

const T0 = Date.UTC(2025, 3, 1);
const PARTITION = 0;

let harness: Harness | undefined;
let producer: Producer | undefined;
let stateDir = '';
const log = createLogger('conflicts-test', process.env.LOG_LEVEL ?? 'warn');

beforeAll(async () => {
  stateDir = tempStateDir('conflicts');
  harness = await Harness.start({
    stateDir,
    freePorts: true,
    mqtt: true,
    env: { HERODOTUS_MQTT_CORRECTION_TOPICS: 'herodotus/corrections/#', HERODOTUS_MAX_FUTURE_SKEW_MS: String(10 * 365 * 86_400_000) },
    log,
  });
  producer = harness.kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
});

afterAll(async () => {
  try {
    await producer?.disconnect();
    await harness?.stop();
  } finally {
    if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
  }
});

function h(): Harness {
  if (!harness) throw new Error('the stack did not start');
  return harness;
}

/** Decimal values (not exact in binary): equality is bit identity of doubles. */
function regular(sensor: number, start: number, n: number, offset = 0): SensorBatch {
  const values = Float64Array.from({ length: n }, (_, i) => (i + offset) * 0.1 - 20.9);
  return { kind: 'regular', sensor, start, periodMs: 1000, values };
}

/** The same batch with other values at the given indices. */
function changed(b: SensorBatch, at: number[]): SensorBatch {
  const values = Float64Array.from(b.values);
  for (const i of at) values[i] = values[i]! + 1e-9;
  return { ...b, values };
}

/** Publishes the batches in one request to one partition (one planned range holds them); returns their offsets. */
async function publish(batches: SensorBatch[]): Promise<number[]> {
  const [meta] = await producer!.send({
    topic: h().config.kafka.topic,
    acks: -1,
    messages: batches.map((b) => ({ key: String(b.sensor), value: encodeBatch(b), partition: PARTITION })),
  });
  const base = Number(meta!.baseOffset);
  return batches.map((_, i) => base + i);
}

const caughtUp = () => h().waitCaughtUp(120_000);

const points = (b: SensorBatch) => Array.from(b.values, (v, i) => [timestampAt(b, i), v]);
const raw = (sensor: number) => fetchRaw(h().api.baseUrl, sensor, T0, T0 + 86_400_000);

interface Letter {
  key: string;
  code: string;
  message: string;
  body: { sensor: number; conflicts: { ts: number; stored: number; offered: number }[] } | null;
}

/** Dead letters of this file's partition by source offset (all of them: a repeated one shows as two). */
async function deadLetters(): Promise<Map<number, Letter[]>> {
  const out = new Map<number, Letter[]>();
  const topic = h().config.kafka.dlqTopic;
  const offsets = new OffsetWatcher(h().kafka);
  for (const { partition, low, high } of await topicOffsets(h().kafka, topic)) {
    const reader = new PartitionReader(h().kafka, topic, partition, offsets, log);
    try {
      for (const r of (await reader.read(low, high, 60_000)).records) {
        if (r.headers['source-partition'] !== String(PARTITION)) continue;
        const code = r.headers['error-code'] ?? 'unknown';
        const letter = {
          key: r.key?.toString() ?? '',
          code,
          message: r.headers['error-message'] ?? '',
          body: code === 'conflicting_value' ? JSON.parse(r.value.toString()) : null,
        };
        const at = Number(r.headers['source-offset']);
        out.set(at, [...(out.get(at) ?? []), letter]);
      }
    } finally {
      await reader.close();
    }
  }
  await offsets.close();
  return out;
}

/** A counter of /metrics, summed over its partitions. */
const counter = (name: string) => counterTotal(h().api.baseUrl, name);
const conflictingCounter = () => counter('herodotus_points_conflicting_total');

describe('conflicting values over Kafka', () => {
  const first = regular(950, T0, 200);

  it('a re-sent identical batch (in the same chunk and later) is deduplicated silently', async () => {
    const offsets = await publish([first, first]);
    await caughtUp();
    const again = await publish([first]);
    await caughtUp();
    expect(await raw(950)).toEqual(points(first));
    const letters = await deadLetters();
    for (const o of [...offsets, ...again]) expect(letters.has(o)).toBe(false);
    expect(await conflictingCounter()).toBe(0);
  });

  it('another value for a stored (sensor, ts): the first stays, one conflicting_value letter names each point', async () => {
    // 3 points differ from stored ones, 100 points are new: those are stored.
    const late = changed(regular(950, T0 + 100_000, 200, 100), [0, 50, 99]);
    const [offset] = await publish([late]);
    await caughtUp();
    expect(await raw(950)).toEqual([...points(first), ...points(late).slice(100)]);
    const letters = (await deadLetters()).get(offset!);
    expect(letters).toHaveLength(1);
    expect(letters![0]).toMatchObject({
      key: `${h().config.kafka.topic}/${PARTITION}/${offset}/conflicting_value`,
      code: 'conflicting_value',
    });
    expect(letters![0]!.body).toEqual({
      sensor: 950,
      conflicts: [100, 150, 199].map((i) => ({ ts: T0 + i * 1000, stored: first.values[i], offered: late.values[i - 100] })),
    });
    expect(letters![0]!.message).toContain(`ts ${T0 + 100_000}`);
    expect(await conflictingCounter()).toBe(3);
  });

  it('within one chunk the lower offset wins and the higher one is dead-lettered', async () => {
    const a = regular(951, T0, 50);
    const b = changed(a, [7, 8]);
    const [oa, ob] = await publish([a, b]);
    await caughtUp();
    expect(await raw(951)).toEqual(points(a));
    const letters = await deadLetters();
    expect(letters.has(oa!)).toBe(false);
    expect(letters.get(ob!)?.map((l) => l.body)).toEqual([
      { sensor: 951, conflicts: [7, 8].map((i) => ({ ts: T0 + i * 1000, stored: a.values[i], offered: b.values[i] })) },
    ]);
    expect(await conflictingCounter()).toBe(5);
  });
});

const apiJson = async (p: string, init?: RequestInit) => {
  const res = await fetch(`${h().api.baseUrl}${p}`, init);
  return { status: res.status, body: (await res.json()) as any };
};
const drained = () =>
  waitFor(async () => (await apiJson('/v1/compaction/status')).body.backlog_windows === 0, {
    timeoutMs: 120_000,
    intervalMs: 500,
    what: 'compaction backlog to drain',
  });

describe('on_conflict=replace over POST /v1/ingest', () => {
  const sensor = 970;
  const hour = (k: number) => regular(sensor, T0 + k * 3_600_000, 3600, k * 3600);
  const history = [0, 1].map(hour);

  it('rejects an unknown policy at the edge', async () => {
    const r = await apiJson('/v1/ingest?on_conflict=overwrite', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '[]',
    });
    expect(r).toMatchObject({ status: 400, body: { error: { code: 'invalid_parameter', field: 'on_conflict' } } });
  });

  it('replaces the stored values once; rollups are re-aggregated and lenses over every level exact', async () => {
    await publish(history);
    await caughtUp();
    await drained();
    const conflictsBefore = await conflictingCounter();
    // 3 corrected points (one in each hour, one on the hour boundary), the rest identical, and one new point.
    const fix = [10, 3600, 7000];
    const correction = { v: 1, sensor, start: T0, period_ms: 1000, values: [...history[0]!.values, ...history[1]!.values, 42.125] };
    for (const i of fix) correction.values[i] = correction.values[i]! * 3 + 0.5;
    const posted = await apiJson('/v1/ingest?on_conflict=replace', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(correction),
    });
    expect(posted.status).toBe(202);
    await caughtUp();
    await drained();
    const stored: Points = correction.values.map((v, i) => [T0 + i * 1000, v]);
    expect(await raw(sensor)).toEqual(stored);
    expect(await conflictingCounter()).toBe(conflictsBefore);
    expect(await counter('herodotus_points_replaced_total')).toBe(3);
    const to = T0 + 86_400_000;
    for (const q of ['step=600000', 'step=3600000', 'step=86400000', 'points=100', 'step=60000']) {
      const r = await apiJson(`/v1/lens?sensors=${sensor}&from=${T0}&to=${to}&${q}`);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      const lens = r.body as LensBody;
      expect(lens.plan.raw_windows).toBe(0);
      expectExact(lens, new Map([[sensor, stored]]));
    }
  });
});

describe('conflicting values in a backfill import', () => {
  const json = async (p: string, init?: RequestInit) => {
    const res = await fetch(`${h().api.baseUrl}${p}`, init);
    return { status: res.status, body: (await res.json()) as any };
  };
  const importCsv = async (csv: string) => {
    const up = await json('/v1/backfill', { method: 'POST', headers: { 'content-type': 'text/csv' }, body: csv });
    expect(up.status).toBe(202);
    let last: any;
    await waitFor(async () => (last = (await json(`/v1/backfill/${up.body.id}`)).body).state !== 'running', {
      timeoutMs: 120_000,
      intervalMs: 500,
      what: `backfill ${up.body.id}`,
    });
    expect(last.state).toBe('completed');
    return last.progress;
  };
  const lines = (values: (i: number) => number) => [
    'ts,sensor,value',
    ...Array.from({ length: 100 }, (_, i) => `${T0 + i * 10},960,${values(i)}`),
  ];

  it('counts the conflicts in its progress and keeps the first values; an identical re-import is silent', async () => {
    const value = (i: number) => i * 0.1 - 3.3;
    const once = await importCsv(lines(value).join('\n'));
    expect(once).toMatchObject({ inserted: 100, alreadyStored: 0, conflicting: 0, conflicts: [] });
    const same = await importCsv(lines(value).join('\n'));
    expect(same).toMatchObject({ inserted: 0, alreadyStored: 100, conflicting: 0, conflicts: [] });
    const other = await importCsv(lines((i) => (i === 4 || i === 60 ? value(i) + 0.5 : value(i))).join('\n'));
    expect(other).toMatchObject({ inserted: 0, alreadyStored: 98, conflicting: 2 });
    expect(other.conflicts).toEqual(
      [4, 60].map(
        (i) =>
          `sensor 960 at ${new Date(T0 + i * 10).toISOString()} (${T0 + i * 10}): stored ${value(i)}, offered ${value(i) + 0.5} (conflicting_value)`,
      ),
    );
    expect(await fetchRaw(h().api.baseUrl, 960, T0, T0 + 1000)).toEqual(Array.from({ length: 100 }, (_, i) => [T0 + i * 10, value(i)]));
  });

  it('with on_conflict=replace applies the new values as corrections, once', async () => {
    const value = (i: number) => i * 0.25 - 7.1;
    const corrected = (i: number) => (i % 25 === 3 ? value(i) + 0.125 : value(i));
    const csv = (v: (i: number) => number) => lines(v).join('\n').replaceAll(',960,', ',961,');
    await importCsv(csv(value));
    const up = await fetch(`${h().api.baseUrl}/v1/backfill?on_conflict=replace`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body: csv(corrected),
    });
    expect(up.status).toBe(202);
    const id = ((await up.json()) as { id: string }).id;
    let last: any;
    await waitFor(async () => (last = (await json(`/v1/backfill/${id}`)).body).state !== 'running', {
      timeoutMs: 120_000,
      intervalMs: 500,
      what: `backfill ${id}`,
    });
    expect(last.progress).toMatchObject({ inserted: 4, replaced: 4, alreadyStored: 96, conflicting: 0 });
    await drained();
    expect(await fetchRaw(h().api.baseUrl, 961, T0, T0 + 1000)).toEqual(Array.from({ length: 100 }, (_, i) => [T0 + i * 10, corrected(i)]));
    const lens = (await json(`/v1/lens?sensors=961&from=${T0}&to=${T0 + 86_400_000}&step=3600000`)).body as LensBody;
    expectExact(lens, new Map([[961, await fetchRaw(h().api.baseUrl, 961, T0, T0 + 1000)]]));
  });
});

describe('corrections by line protocol and MQTT', () => {
  /** Every stored point of a series by name, as [ts, value]. */
  const rawOf = async (name: string) => {
    const q = new URLSearchParams({ series: name, from: String(T0), to: String(T0 + 86_400_000) });
    const r = await apiJson(`/v1/raw?${q}`);
    return r.status === 404 ? [] : (r.body.points as [number, number][]);
  };

  it('a line-protocol write keeps the stored value by default and corrects it with on_conflict=replace', async () => {
    const write = (body: string, q = '') => fetch(`${h().api.baseUrl}/write?db=d&precision=ms${q}`, { method: 'POST', body });
    const name = 'conflicts/site=lp/flow';
    expect((await write(`conflicts,site=lp flow=1.5 ${T0}\nconflicts,site=lp flow=2.5 ${T0 + 1000}`)).status).toBe(204);
    await caughtUp();
    const [conflicting, replaced] = [await conflictingCounter(), await counter('herodotus_points_replaced_total')];
    expect((await write(`conflicts,site=lp flow=9.5 ${T0}`)).status).toBe(204);
    await caughtUp();
    expect(await rawOf(name)).toEqual([
      [T0, 1.5],
      [T0 + 1000, 2.5],
    ]);
    expect(await conflictingCounter()).toBe(conflicting + 1);
    expect((await write(`conflicts,site=lp flow=7.25 ${T0 + 1000}`, '&on_conflict=replace')).status).toBe(204);
    await caughtUp();
    expect(await rawOf(name)).toEqual([
      [T0, 1.5],
      [T0 + 1000, 7.25],
    ]);
    expect(await counter('herodotus_points_replaced_total')).toBe(replaced + 1);
    const bad = await write(`conflicts,site=lp flow=1 ${T0}`, '&on_conflict=overwrite');
    expect([bad.status, ((await bad.json()) as { error: string }).error]).toEqual([400, 'on_conflict must be keep or replace']);
  });

  it('an MQTT message on a correction topic corrects; on the other topics the stored value stays', async () => {
    const client = await mqtt.connectAsync(h().config.mqtt.url!, { clientId: 'conflicts-test', protocolVersion: 4 });
    const name = 'conflicts/mqtt/pump1';
    const send = (topic: string, points: [number, number][]) =>
      client.publishAsync(topic, JSON.stringify(points.map(([ts, value]) => ({ series: name, ts, value }))), { qos: 1 });
    try {
      await send('herodotus/plant1/pump1', [
        [T0, 1],
        [T0 + 1000, 2],
      ]);
      await waitFor(async () => (await rawOf(name)).length === 2, { timeoutMs: 60_000, what: 'the first MQTT points stored' });
      const [conflicting, replaced] = [await conflictingCounter(), await counter('herodotus_points_replaced_total')];
      await send('herodotus/plant1/pump1', [[T0, 5]]);
      await waitFor(async () => (await conflictingCounter()) === conflicting + 1, { timeoutMs: 60_000, what: 'the conflict counted' });
      await send('herodotus/corrections/plant1/pump1', [[T0 + 1000, 6.5]]);
      await waitFor(async () => (await counter('herodotus_points_replaced_total')) === replaced + 1, {
        timeoutMs: 60_000,
        what: 'the correction applied',
      });
      await caughtUp();
      expect(await rawOf(name)).toEqual([
        [T0, 1],
        [T0 + 1000, 6.5],
      ]);
    } finally {
      await client.endAsync(true);
    }
  });
});
