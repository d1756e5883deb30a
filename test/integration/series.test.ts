// Series by name against the real stack: the catalog (PUT, versions, search,
// a hash collision refused), line protocol through the InfluxDB-compatible
// endpoints (gzip, partial writes with line numbers), lens and raw by name,
// the PyPI InfluxDB clients (2.x batching writes, 1.x writes) with every
// point compared with what they sent, and 503 while Kafka is down.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../lib/config/config';
import { createLogger } from '../../lib/log/logger';
import { seriesIdOf } from '../../lib/model/series-name';
import { waitFor } from '../../harness/stack/child';
import { Harness } from '../../harness/stack/harness';
import { loadTools } from '../../harness/stack/tools';

let harness: Harness | undefined;
let stateDir = '';
const T0 = Date.UTC(2026, 0, 1);

beforeAll(async () => {
  stateDir = path.join(os.tmpdir(), `herodotus-series-test-${process.pid}-${randomUUID()}`);
  harness = await Harness.start({
    stateDir,
    fresh: true,
    freePorts: true,
    env: { HERODOTUS_MAX_FUTURE_SKEW_MS: String(10 * 365 * 86_400_000) },
    log: createLogger('series-test', process.env.LOG_LEVEL ?? 'warn'),
  });
});

afterAll(async () => {
  try {
    await harness?.stop();
  } finally {
    if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
  }
});

const h = () => {
  if (!harness) throw new Error('the stack did not start');
  return harness;
};
const base = () => `http://${h().config.http.host}:${h().config.http.port}`;

async function call(method: string, p: string, body?: string | Buffer, headers: Record<string, string> = {}) {
  const res = await fetch(`${base()}${p}`, { method, body, headers });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, body: json as Record<string, unknown> & { error?: { code: string } } };
}

const put = (name: string, meta: object) => call('PUT', `/v1/series/${name}`, JSON.stringify(meta), { 'content-type': 'application/json' });
const writeV2 = (lines: string, precision = 'ms', headers: Record<string, string> = {}) =>
  call('POST', `/api/v2/write?org=o&bucket=b&precision=${precision}`, lines, headers);

/** Every stored point of a series by name, as [ts, value]. */
async function rawOf(name: string): Promise<[number, number][]> {
  const q = new URLSearchParams({ series: name, from: String(T0 - 86_400_000), to: String(T0 + 30 * 86_400_000), limit: '1000000' });
  const r = await call('GET', `/v1/raw?${q}`);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.points as [number, number][];
}

describe('the series catalog', () => {
  const name = 'plant1/line2/pump3/discharge_pressure';

  it('creates a series by PUT, versions every change, and finds it', async () => {
    const created = await put(name, { unit: 'bar', asset: 'plant1/line2/pump3', tags: { site: 'plant1' }, description: 'outlet' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name, id: seriesIdOf(name), unit: 'bar', value_type: 'float', interpolation: 'linear' });
    const changed = await put(name, { unit: 'kPa', interpolation: 'step' });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ unit: 'kPa', asset: 'plant1/line2/pump3', tags: { site: 'plant1' }, interpolation: 'step' });
    const got = await call('GET', `/v1/series/${name}`);
    expect(got.body).toMatchObject({ unit: 'kPa', versions: [{ unit: 'bar', interpolation: 'linear' }, { unit: 'kPa' }] });
    const versions = got.body.versions as { version: number }[];
    expect(versions[1]!.version).toBeGreaterThan(versions[0]!.version);
    for (const q of ['prefix=plant1/line2', 'tag=site=plant1', 'q=OUTLET', 'asset=plant1/line2']) {
      const found = await call('GET', `/v1/series?${q}`);
      expect(
        (found.body.series as { name: string }[]).map((s) => s.name),
        q,
      ).toEqual([name]);
    }
    expect((await call('GET', '/v1/series?tag=site=elsewhere')).body.series).toEqual([]);
    expect((await call('GET', '/v1/series/no/such/series')).status).toBe(404);
    expect((await put('a//b', {})).body.error?.code).toBe('invalid_series_name');
    expect((await put(name, { interpolation: 'cubic' })).status).toBe(400);
  });

  it('refuses a second name with the same id, by PUT and by write', async () => {
    const seen = new Map<number, string>();
    let pair: [string, string] | undefined;
    for (let i = 0; !pair; i++) {
      const n = `collide/n${i}`;
      const id = seriesIdOf(n);
      const other = seen.get(id);
      if (other) pair = [other, n];
      else seen.set(id, n);
    }
    const [first, second] = pair;
    expect((await put(first, { unit: 'V' })).status).toBe(201);
    const refused = await put(second, { unit: 'A' });
    expect(refused.status).toBe(409);
    expect(refused.body.error?.code).toBe('series_id_collision');
    const w = await writeV2(`${second} value=1 ${T0}\n${first} value=2 ${T0}`);
    expect(w.status).toBe(400);
    expect(w.body.rejected).toEqual([{ line: 1, field: second, reason: expect.stringMatching(/already holds/) }]);
    await h().waitCaughtUp();
    expect(await rawOf(first)).toEqual([[T0, 2]]);
    expect((await call('GET', `/v1/series/${second}`)).status).toBe(404);
  });
});

describe('line protocol writes', () => {
  it('takes the nine lines of issue 14 (gzip), names them, reports the string field, and serves them by name', async () => {
    const lines = [
      `my\\ measurement,site=a value=1.5 ${T0}`,
      'nots,site=a value=2',
      `cpu,host=a usage_idle=99.5 ${T0 + 1}`,
      `m,site=plant\\ 1 value=3 ${T0 + 2}`,
      `m,site=b value=1,quality=192i ${T0 + 3}`,
      `vibration,sensor=8 value=4 ${T0 + 4}`,
      `ints,site=a n=5i,u=6u,ok=true ${T0 + 5}`,
      `strs,site=a s="text",x=7 ${T0 + 6}`,
      `neg,site=a value=-0.25 ${T0 + 7}`,
    ].join('\n');
    const before = Date.now();
    const gz = await fetch(`${base()}/api/v2/write?org=o&bucket=b&precision=ms`, {
      method: 'POST',
      body: gzipSync(lines),
      headers: { 'content-encoding': 'gzip', authorization: 'Token anything' },
    });
    const body = (await gz.json()) as { written: number; rejected: unknown[] };
    expect(gz.status).toBe(400);
    expect(body.written).toBe(11);
    expect(body.rejected).toEqual([{ line: 8, field: 's', reason: 'string fields are not stored: a series holds numbers' }]);
    await h().waitCaughtUp();
    expect(await rawOf('my measurement/site=a')).toEqual([[T0, 1.5]]);
    expect(await rawOf('cpu/host=a/usage_idle')).toEqual([[T0 + 1, 99.5]]);
    expect(await rawOf('m/site=plant 1')).toEqual([[T0 + 2, 3]]);
    expect(await rawOf('ints/site=a/u')).toEqual([[T0 + 5, 6]]);
    expect(await rawOf('ints/site=a/ok')).toEqual([[T0 + 5, 1]]);
    expect(await rawOf('strs/site=a/x')).toEqual([[T0 + 6, 7]]);
    const serverTime = await call('GET', `/v1/raw?series=nots/site=a&from=${before - 1000}&to=${Date.now() + 1000}`);
    expect((serverTime.body.points as unknown[]).length).toBe(1);
    const cpu = await call('GET', '/v1/series?prefix=cpu');
    expect(cpu.body.series).toEqual([expect.objectContaining({ name: 'cpu/host=a/usage_idle', tags: { host: 'a' }, value_type: 'float' })]);
    const ints = await call('GET', '/v1/series?prefix=ints');
    expect((ints.body.series as { value_type: string }[]).map((s) => s.value_type)).toEqual(['integer', 'boolean', 'unsigned']);
    // A lens by names (repeated `series`, or names among `sensors`) and ids together.
    const lens = await call('GET', `/v1/lens?sensors=8,cpu/host=a/usage_idle&from=${T0}&to=${T0 + 10}&step=10`);
    expect(lens.status, JSON.stringify(lens.body)).toBe(200);
    const sensors = lens.body.sensors as { sensor: number; count: number[] }[];
    expect(sensors.map((s) => [s.sensor, s.count])).toEqual([
      [8, [1]],
      [seriesIdOf('cpu/host=a/usage_idle'), [1]],
    ]);
    const byName = await call('GET', `/v1/lens?series=${encodeURIComponent('my measurement/site=a')}&from=${T0}&to=${T0 + 10}&step=10`);
    expect((byName.body.sensors as { count: number[] }[])[0]!.count).toEqual([1]);
    expect((await call('GET', `/v1/lens?series=no/such&from=${T0}&to=${T0 + 10}&step=10`)).status).toBe(404);
  });

  it('refuses a bad precision, sub-millisecond timestamps and a missing bucket with reasons', async () => {
    expect((await writeV2('m v=1', 'h')).status).toBe(400);
    const sub = await writeV2(`sub v=1 ${T0 * 1000 + 1}`, 'us');
    expect(sub.status).toBe(400);
    expect(sub.body.rejected).toEqual([{ line: 1, reason: expect.stringMatching(/sub-millisecond/) }]);
    expect((await call('POST', '/api/v2/write?org=o', 'm v=1')).status).toBe(400);
    expect((await call('POST', '/write', 'm v=1')).body).toEqual({ error: 'the query parameter db is required' });
    expect((await call('POST', `/write?db=x&precision=ms`, `v1/plain v=1 ${T0}`)).status).toBe(204);
  });
});

describe('imports without hand editing', () => {
  async function imported(body: string, contentType: string, query: string) {
    const started = await call('POST', `/v1/backfill${query}`, body, { 'content-type': contentType });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    let last: Record<string, unknown> = {};
    await waitFor(async () => (last = (await call('GET', `/v1/backfill/${started.body.id}`)).body).state !== 'running', {
      what: 'the import',
      timeoutMs: 240_000,
      intervalMs: 500,
    });
    return last;
  }

  it('imports a Tag,Timestamp,Value,Status export by a header mapping', { timeout: 300_000 }, async () => {
    const t = T0 + 4 * 86_400_000;
    const csv = [
      'Tag,Timestamp,Value,Status',
      `"hist/boiler/temp",${new Date(t).toISOString()},81.5,Good`,
      `hist/boiler/temp,${t + 1000},82.25,192`,
      `hist/boiler/flow,${new Date(t).toISOString()},3.5,Bad`,
      `hist/boiler/flow,${t + 1000},oops,Good`,
    ].join('\n');
    const done = await imported(csv, 'text/csv', '?series=Tag&ts=Timestamp&value=Value&quality=Status');
    expect(done).toMatchObject({
      state: 'completed',
      progress: { rejected: 1, examples: ['line 5: column Value is not a finite number'] },
    });
    expect(await rawOf('hist/boiler/temp')).toEqual([
      [t, 81.5],
      [t + 1000, 82.25],
    ]);
    expect(await rawOf('hist/boiler/flow')).toEqual([[t, 3.5]]);
    const refused = await call('POST', '/v1/backfill?series=Tag', csv, { 'content-type': 'text/csv' });
    expect(refused.status).toBe(400);
  });

  it('imports line protocol by the same grammar and names', { timeout: 300_000 }, async () => {
    const t = T0 + 5 * 86_400_000;
    const lp = [`lpfile,site=plant\\ 2 temp=1.5,count=3i ${t}`, `lpfile,site=plant\\ 2 temp=2.5 ${t + 1}`, 'lpfile temp=1'].join('\n');
    const done = await imported(lp, 'text/plain', '?precision=ms');
    expect(done).toMatchObject({ progress: { rejected: 1, examples: [expect.stringMatching(/^line 3: the line has no timestamp/)] } });
    expect(await rawOf('lpfile/site=plant 2/temp')).toEqual([
      [t, 1.5],
      [t + 1, 2.5],
    ]);
    expect(await rawOf('lpfile/site=plant 2/count')).toEqual([[t, 3]]);
  });
});

describe('InfluxDB clients', () => {
  const tools = path.resolve(process.env.HERODOTUS_TOOLS_DIR || path.join(PROJECT_ROOT, '.tools'));
  const python = loadTools(tools).influxPython ?? path.join(tools, 'influx-clients', 'bin', 'python');
  const script = path.join(PROJECT_ROOT, 'test', 'integration', 'influx-clients.py');
  const run = (mode: string, count: number, t0: number) =>
    JSON.parse(
      execFileSync(python, [script, mode, base(), String(count), String(t0)], { encoding: 'utf8' })
        .trim()
        .split('\n')
        .at(-1)!,
    ) as [string, number, number][];

  async function expectStored(sent: [string, number, number][]) {
    await h().waitCaughtUp();
    const byName = new Map<string, [number, number][]>();
    for (const [n, ts, v] of sent) byName.set(n, [...(byName.get(n) ?? []), [ts, v]]);
    for (const [n, points] of byName) expect(await rawOf(n), n).toEqual(points);
  }

  it('influxdb-client (2.x, batching, gzip) writes every point exactly as sent', { timeout: 300_000 }, async () => {
    const sent = run('v2', 5000, T0 + 86_400_000);
    expect(sent.length).toBe(15_000);
    await expectStored(sent);
  });

  it('influxdb (1.x write_points) writes every point exactly as sent', { timeout: 300_000 }, async () => {
    const sent = run('v1', 3000, T0 + 2 * 86_400_000);
    await expectStored(sent);
  });
});

describe('Kafka down', () => {
  it('answers 503, and the retry after Kafka returns is stored once', { timeout: 600_000 }, async () => {
    const lines = `outage/s value=1 ${T0 + 3 * 86_400_000}\noutage/s value=2 ${T0 + 3 * 86_400_000 + 1}`;
    await h().infra.stopKafka();
    const refused = await writeV2(lines);
    expect(refused.status).toBe(503);
    await h().infra.startKafka();
    await waitFor(async () => (await writeV2(lines)).status === 204, {
      what: 'a write after Kafka returns',
      timeoutMs: 180_000,
      intervalMs: 1000,
    });
    // Sent again: stored once.
    expect((await writeV2(lines)).status).toBe(204);
    await h().waitCaughtUp();
    expect(await rawOf('outage/s')).toEqual([
      [T0 + 3 * 86_400_000, 1],
      [T0 + 3 * 86_400_000 + 1, 2],
    ]);
  });
});
