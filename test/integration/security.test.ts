// Security of the HTTP API against the real stack with HERODOTUS_API_TOKENS
// set: missing and wrong tokens, injection strings in every query parameter
// and body field that could reach SQL, oversized bodies, absurd ranges. Each
// gets a clear 4xx with the error body; afterwards the stored data is
// unchanged, health is 200 and an ingest + lens round trip is still exact.
// Token scopes (read, write, admin) answer 403 naming the scope; lenses with
// a step that would read too much, raw lenses and audits are bounded in rows
// (422) and time (504: an in-process app over embedded ClickHouse with a tiny
// limit); an API without tokens refuses to listen beyond loopback.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SeriesCatalog } from '../../lib/series/catalog';
import { createApp } from '../../api/app';
import { loadConfig, PROJECT_ROOT } from '../../lib/config/config';
import { singleShard } from '../../lib/clickhouse/shards';
import { migrate } from '../../lib/clickhouse/migrate';
import type { Store } from '../../lib/clickhouse/store';
import { openStore } from '../../lib/clickhouse/store-open';
import { allocatePoints } from '../../lib/model/points';
import { createLogger } from '../../lib/log/logger';
import { makeLadder } from '../../lib/model/ladder';
import { Health } from '../../lib/telemetry/health';
import { Metrics } from '../../lib/telemetry/metrics';
import { waitFor } from '../../harness/stack/child';
import { Harness } from '../../harness/stack/harness';
import { tempStateDir } from '../support/ingest-run';

const TOKEN = 'sec-test-token-4f9a1c2e7b'; // admin
const PLAIN = 'second-token-0123456789'; // no scopes given: read and write
const READER = 'reader-token-0123456789';
const WRITER = 'writer-token-0123456789';
const RAW_LENS_MAX_ROWS = 10_000;
const AUDIT_MAX_ROWS = 7000;
const MAX_BODY_BYTES = 64 * 1024;
const MAX_UPLOAD_BYTES = 32 * 1024;
const FROM = Date.UTC(2025, 3, 1, 12, 0, 0);
const TO = FROM + 10 * 60_000;

/** Strings that would change a query if they reached SQL as text, and other garbage. */
const INJECTIONS = [
  '1; DROP TABLE herodotus.raw',
  "1' OR '1'='1",
  '1) UNION ALL SELECT name, 1, 1, 1 FROM system.users --',
  '1/**/OR/**/1=1',
  '1 SETTINGS max_execution_time=0',
  '1 FORMAT Native',
  'sleep(3)',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a log4j-style lookup string, sent as hostile input on purpose
  '${jndi:ldap://x}',
  '1e3',
  '0x10',
  '-1',
  '1.5',
  'NaN',
  'Infinity',
  '9'.repeat(400),
  '１２３', // full-width digits
  '1\u0000',
  '',
  '<script>alert(1)</script>',
  "2025-04-01T12:00:00'; DROP TABLE x; --Z",
];

type Body = { error?: { code: string; message: string; field?: string } } & Record<string, any>;

describe('security', () => {
  let harness: Harness;
  let stateDir: string;
  let base: string;
  const auth = { authorization: `Bearer ${TOKEN}` };

  const call = async (p: string, init: RequestInit = {}, token: string | null = TOKEN) => {
    const headers = new Headers(init.headers);
    if (token !== null) headers.set('authorization', `Bearer ${token}`);
    const res = await fetch(`${base}${p}`, { ...init, headers });
    const text = await res.text();
    let body: Body = {};
    try {
      body = JSON.parse(text) as Body;
    } catch {
      /* not JSON */
    }
    return { status: res.status, body, text, headers: res.headers };
  };
  const postJson = (p: string, body: unknown, token: string | null = TOKEN) =>
    call(p, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }, token);

  /** A clear client error: a 4xx with the error body (code and message), naming the field when given. */
  const expectClear4xx = (r: { status: number; body: Body; text: string }, what: string, field?: string) => {
    expect(r.status, `${what}: ${r.text}`).toBeGreaterThanOrEqual(400);
    expect(r.status, `${what}: ${r.text}`).toBeLessThan(500);
    expect(r.body.error?.code, `${what}: ${r.text}`).toMatch(/^[a-z_]+$/);
    expect(r.body.error?.message.length, what).toBeGreaterThan(5);
    if (field) expect(r.body.error?.field, what).toBe(field);
  };

  const finished = async (id: string) => {
    let last: Body = {};
    await waitFor(async () => (last = (await call(`/v1/backfill/${id}`)).body).state !== 'running', {
      timeoutMs: 240_000,
      intervalMs: 500,
      what: `backfill ${id}`,
    });
    return last;
  };
  const audit = () => harness.api.audit();

  beforeAll(async () => {
    stateDir = tempStateDir('security');
    harness = await Harness.start({
      stateDir,
      fresh: true,
      freePorts: true,
      env: {
        HERODOTUS_API_TOKENS: `${TOKEN}@admin,${PLAIN},${READER}@read,${WRITER}@write`,
        HERODOTUS_RAW_LENS_MAX_ROWS: String(RAW_LENS_MAX_ROWS),
        HERODOTUS_AUDIT_MAX_ROWS: String(AUDIT_MAX_ROWS),
        HERODOTUS_MAX_BODY_BYTES: String(MAX_BODY_BYTES),
        HERODOTUS_MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES),
      },
      log: createLogger('security-test', process.env.LOG_LEVEL ?? 'warn'),
    });
    base = harness.api.baseUrl;
    const started = await postJson('/v1/backfill', { kind: 'generate', sensors: [1, 2], from: FROM, to: TO, rate_hz: 10, seed: 5 });
    expect(started.status, started.text).toBe(202);
    expect((await finished(started.body.id)).state).toBe('completed');
    await waitFor(async () => (await call('/v1/compaction/status')).body.backlog_windows === 0, {
      timeoutMs: 120_000,
      intervalMs: 500,
      what: 'compaction',
    });
  });

  afterAll(async () => {
    await harness?.stop();
    if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
  });

  test('tokens: missing, malformed or wrong → 401 with the error body; health, metrics and the API description stay open', async () => {
    const routes: [string, string][] = [
      ['GET', `/v1/lens?sensors=1&from=${FROM}&to=${TO}`],
      ['GET', `/v1/raw?sensor=1&from=${FROM}&to=${TO}`],
      ['GET', '/v1/sensors'],
      ['GET', '/v1/audit'],
      ['GET', '/v1/ingest/status'],
      ['GET', '/v1/compaction/status'],
      ['POST', '/v1/ingest'],
      ['POST', '/v1/backfill'],
      ['GET', '/v1/backfill/0badc0de'],
    ];
    for (const [method, p] of routes) {
      for (const [token, header] of [
        [null, undefined],
        ['wrong-token-0123456789', undefined],
        [`${TOKEN} `.repeat(2).trim(), undefined],
        [null, `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}`],
        [null, TOKEN],
      ] as const) {
        const headers: Record<string, string> = header ? { authorization: header } : {};
        const r = await call(p, { method, headers }, token);
        expect(r.status, `${method} ${p} ${token ?? header}`).toBe(401);
        expect(r.headers.get('www-authenticate')).toContain('Bearer');
        expectClear4xx(r, `${method} ${p}`, 'authorization');
      }
    }
    expect((await call('/v1/health', {}, null)).status).toBe(200);
    expect((await call('/metrics', {}, null)).status).toBe(200);
    expect((await call('/openapi.json', {}, null)).status).toBe(200);
    expect((await call('/', {}, null)).status).toBe(200);
    expect((await call('/v1/sensors', {}, PLAIN)).status).toBe(200);
  });

  test('scopes: read, write and admin; a token without the scope gets 403 naming it, and nothing happens', async () => {
    const before = await audit();
    const lens = `/v1/lens?sensors=1&from=${FROM}&to=${TO}&points=100`;
    const batch = { v: 1, sensor: 5, start: FROM, period_ms: 1, values: [1, 2, 3] };
    const expect403 = (r: { status: number; body: Body; text: string }, scope: string, what: string) => {
      expect(r.status, `${what}: ${r.text}`).toBe(403);
      expectClear4xx(r, what, 'authorization');
      expect(r.body.error?.code).toBe('forbidden');
      expect(r.body.error?.message, what).toContain(`needs a token with the ${scope} scope`);
    };
    // read: lenses, raw, sensors, status; nothing else.
    for (const p of [lens, `/v1/raw?sensor=1&from=${FROM}&to=${TO}`, '/v1/sensors', '/v1/ingest/status', '/v1/compaction/status'])
      expect((await call(p, {}, READER)).status, p).toBe(200);
    expect403(await postJson('/v1/ingest', batch, READER), 'write', 'read ingest');
    expect403(await postJson('/v1/backfill', { kind: 'generate', sensors: [5], from: FROM, to: TO, rate_hz: 10 }, READER), 'write', 'read');
    expect403(await call('/v1/audit', {}, READER), 'admin', 'read audit');
    expect403(await call(`${lens}&source=raw`, {}, READER), 'admin', 'read source=raw');
    // write: ingest and generate, no reading.
    expect403(await call(lens, {}, WRITER), 'read', 'write lens');
    expect403(await call('/v1/sensors', {}, WRITER), 'read', 'write sensors');
    // A plain token reads and writes; server-file imports, recompaction, the audit and raw lenses need admin.
    expect((await call(lens, {}, PLAIN)).status).toBe(200);
    expect403(await call('/v1/audit', {}, PLAIN), 'admin', 'plain audit');
    expect403(await call(`${lens}&source=raw`, {}, PLAIN), 'admin', 'plain source=raw');
    expect403(await postJson('/v1/backfill', { kind: 'import', format: 'csv', path: 'x.csv' }, PLAIN), 'admin', 'plain import');
    expect403(await postJson('/v1/backfill', { kind: 'recompact', sensors: [1], from: FROM, to: TO }, PLAIN), 'admin', 'plain recompact');
    // Admin does all of it.
    expect((await call(`${lens}&source=raw`, {}, TOKEN)).status).toBe(200);
    expect((await call('/v1/audit', {}, TOKEN)).status).toBe(200);
    expect(await audit()).toEqual(before);
  });

  test('bounded reads: a costly step is a 422 naming cheap steps, a raw lens and an audit page are capped in rows', async () => {
    // 17 s is tiled by the 1 s level: planned on it, exact.
    const s17 = await call(`/v1/lens?sensors=1,2&from=${FROM}&to=${TO}&step=17000`);
    expect(s17.status, s17.text).toBe(200);
    expect(s17.body.plan.level_ms).toBe(1000);
    expect(s17.body.sensors[0].count.reduce((a: number, b: number) => a + b, 0)).toBe(6000);
    // 17 ms is tiled by no level: over 150 s × 10 sensors that is a raw scan beyond HERODOTUS_LENS_MAX_ROWS.
    const ten = '1,2,3,4,5,6,7,8,9,10';
    const s17ms = await call(`/v1/lens?sensors=${ten}&from=${FROM}&to=${FROM + 150_000}&step=17`);
    expect(s17ms.status, s17ms.text).toBe(422);
    expectClear4xx(s17ms, 'step=17', 'step');
    expect(s17ms.body.error?.code).toBe('step_too_costly');
    expect(s17ms.body.error?.message).toMatch(
      /no rollup level tiles a 17 ms bucket.*HERODOTUS_LENS_MAX_ROWS.*nearest steps within it: 20 ms$/,
    );
    // source=raw: what fits is answered (equal to the planned lens), what does not is a 422 naming the limit.
    const q = `sensors=1&from=${FROM}&to=${FROM + 60_000}&step=1000`;
    const [planned, raw] = [await call(`/v1/lens?${q}`), await call(`/v1/lens?${q}&source=raw`)];
    expect(raw.status, raw.text).toBe(200);
    expect(raw.body.sensors).toEqual(planned.body.sensors);
    const tooMuch = await call(`/v1/lens?sensors=1,2&from=${FROM}&to=${TO}&step=1000&source=raw`);
    expect(tooMuch.status, tooMuch.text).toBe(422);
    expect(tooMuch.body.error?.code).toBe('raw_too_large');
    expect(tooMuch.body.error?.message).toContain(`more than ${RAW_LENS_MAX_ROWS} raw rows (HERODOTUS_RAW_LENS_MAX_ROWS)`);
    // The audit comes in pages of whole sensors of at most HERODOTUS_AUDIT_MAX_ROWS rows (6000 a sensor here).
    const first = await call('/v1/audit');
    expect(first.body).toEqual({ sensors: [expect.objectContaining({ sensor: 1, points: 6000, distinct_points: 6000 })], next: 2 });
    const second = await call('/v1/audit?cursor=2');
    expect(second.body.sensors.map((a: { sensor: number }) => a.sensor)).toEqual([2]);
    expect((await call('/v1/audit?cursor=x')).status).toBe(400);
  });

  test('injection strings in every query parameter get a 400 naming the parameter; nothing changes', async () => {
    const before = await audit();
    const lens: Record<string, string> = { sensors: '1,2', from: String(FROM), to: String(TO), points: '100', source: 'plan' };
    const raw = { sensor: '1', from: String(FROM), to: String(TO), limit: '10', cursor: String(FROM) };
    let requests = 0;
    for (const bad of INJECTIONS) {
      for (const key of ['sensors', 'from', 'to', 'points', 'step', 'source'] as const) {
        const params: Record<string, string> = { ...lens, [key]: bad };
        if (key === 'step') delete params.points;
        const q = new URLSearchParams(params);
        const r = await call(`/v1/lens?${q}`);
        expectClear4xx(r, `lens ${key}=${JSON.stringify(bad)}`, key);
        // `sensors` also takes series names: a string that is a valid name is an unknown series (404), else a 400.
        if (key === 'sensors' && r.status === 404) expect(r.body.error?.code).toBe('unknown_series');
        else expect(r.status).toBe(400);
        requests++;
      }
      for (const key of ['sensor', 'from', 'to', 'limit', 'cursor'] as const) {
        const r = await call(`/v1/raw?${new URLSearchParams({ ...raw, [key]: bad })}`);
        expect(r.status, `raw ${key}=${JSON.stringify(bad)}: ${r.text}`).toBe(400);
        expectClear4xx(r, `raw ${key}`, key);
        requests++;
      }
      // An unknown parameter, an injected parameter name, a backfill id, an upload's precision.
      expect((await call(`/v1/lens?${new URLSearchParams({ ...lens, [bad || 'x']: '1' })}`)).status).toBe(400);
      expect([400, 404]).toContain((await call(`/v1/backfill/${encodeURIComponent(bad)}`)).status);
      const up = await call(`/v1/backfill?precision=${encodeURIComponent(bad)}`, {
        method: 'POST',
        headers: { 'content-type': 'text/csv' },
        body: 'ts,sensor,value\n',
      });
      expectClear4xx(up, `precision=${bad}`, 'precision');
      requests += 3;
    }
    expect(requests).toBeGreaterThan(200);
    expect(await audit()).toEqual(before);
  });

  test('injection strings in JSON bodies: ingest and backfill answer 400, nothing is stored or started', async () => {
    const before = await audit();
    for (const bad of INJECTIONS) {
      for (const batch of [
        { v: 1, sensor: bad, start: FROM, period_ms: 1, values: [1] },
        { v: 1, sensor: 1, start: bad, period_ms: 1, values: [1] },
        { v: 1, sensor: 1, ts: [bad], values: [1] },
        { v: 1, sensor: 1, start: FROM, period_ms: 1, values: [bad] },
        { v: 1, sensor: 1, start: FROM, period_ms: 1, values: [1], [bad || 'x']: 1 },
      ]) {
        expectClear4xx(await postJson('/v1/ingest', batch), `ingest ${JSON.stringify(batch)}`);
      }
      for (const body of [
        { kind: 'generate', sensors: [bad], from: FROM, to: TO, rate_hz: 10 },
        { kind: 'generate', sensors: [1], from: bad, to: TO, rate_hz: 10 },
        { kind: 'recompact', sensors: [1], from: FROM, to: bad },
        { kind: bad, sensors: [1], from: FROM, to: TO },
        { kind: 'import', format: bad, path: '/tmp/x.csv' },
        { kind: 'import', format: 'csv', path: `/nonexistent/${bad}` },
        { kind: 'import', format: 'csv', path: `../${bad}` },
      ]) {
        expectClear4xx(await postJson('/v1/backfill', body), `backfill ${JSON.stringify(body)}`);
      }
    }
    expect(await audit()).toEqual(before);
  });

  test('oversized bodies: 413 with the limit in the message, by declared length and by counting a chunked stream', async () => {
    const big = JSON.stringify({ v: 1, sensor: 3, start: FROM, period_ms: 1, values: new Array(40_000).fill(1.5) });
    expect(big.length).toBeGreaterThan(MAX_BODY_BYTES);
    const ingest = await call('/v1/ingest', { method: 'POST', headers: { 'content-type': 'application/json' }, body: big });
    expect(ingest.status).toBe(413);
    expectClear4xx(ingest, 'ingest too large', 'body');

    const backfill = await postJson('/v1/backfill', {
      kind: 'generate',
      sensors: new Array(40_000).fill(1),
      from: FROM,
      to: TO,
      rate_hz: 10,
    });
    expect(backfill.status).toBe(413);
    expectClear4xx(backfill, 'backfill JSON too large', 'body');

    const csv = `ts,sensor,value\n${Array.from({ length: 3000 }, (_, i) => `${FROM + i},9,${i}`).join('\n')}`;
    expect(csv.length).toBeGreaterThan(MAX_UPLOAD_BYTES);
    const upload = await call('/v1/backfill', { method: 'POST', headers: { 'content-type': 'text/csv' }, body: csv });
    expect(upload.status).toBe(413);
    expect(upload.body.error?.message).toContain(String(MAX_UPLOAD_BYTES));

    // Without a length (chunked): the stream is counted and cut off.
    for (const [p, type, body] of [
      ['/v1/ingest', 'application/json', big],
      ['/v1/backfill', 'text/csv', csv],
      ['/v1/backfill', 'application/json', JSON.stringify({ kind: 'recompact', sensors: new Array(40_000).fill(1), from: FROM, to: TO })],
    ] as const) {
      const r = await chunkedPost(`${base}${p}`, type, body, auth);
      expect(r.status, `${p} ${type} chunked: ${r.text}`).toBe(413);
    }
    // A URL longer than any query needs: Node refuses the headers.
    const long = await fetch(`${base}/v1/lens?sensors=1&from=${FROM}&to=${TO}&x=${'a'.repeat(70_000)}`, { headers: auth });
    expect(long.status).toBeGreaterThanOrEqual(400);
    expect(long.status).toBeLessThan(500);
    expect(fs.readdirSync(path.join(stateDir, 'uploads')).length).toBe(0); // refused uploads leave no file
  });

  test('absurd ranges and sizes: a clear 400, or an answer bounded by the bucket limit', async () => {
    const cases: [string, string][] = [
      [`sensors=1&from=0&to=${TO}`, 'from'],
      [`sensors=1&from=${FROM}&to=9000000000000000`, 'to'],
      [`sensors=1&from=${TO}&to=${FROM}`, 'to'],
      [`sensors=1&from=${FROM}&to=${FROM}`, 'to'],
      [`sensors=1&from=${FROM}&to=${TO}&points=0`, 'points'],
      [`sensors=1&from=${FROM}&to=${TO}&points=10001`, 'points'],
      [`sensors=1&from=${FROM}&to=${TO}&step=0`, 'step'],
      [`sensors=1&from=${Date.UTC(2000, 0, 1)}&to=${Date.UTC(2100, 0, 1)}&step=1`, 'step'],
      [`sensors=1&from=${FROM}&to=${TO}&points=10&step=1000`, 'step'],
      [`sensors=1,2,3,4,5,6,7,8,9,10,11&from=${FROM}&to=${TO}`, 'sensors'],
      [`sensors=1,1&from=${FROM}&to=${TO}`, 'sensors'],
      [`sensors=1000000&from=${FROM}&to=${TO}`, 'sensors'],
      [`sensors=1&from=2025-04-01T12:00:00&to=${TO}`, 'from'],
      [`from=${FROM}&to=${TO}`, 'sensors'],
    ];
    for (const [q, field] of cases) {
      const r = await call(`/v1/lens?${q}`);
      expect(r.status, `${q}: ${r.text}`).toBe(400);
      expectClear4xx(r, q, field);
    }
    expect((await call(`/v1/raw?sensor=1&from=${FROM}&to=${TO}&limit=1000001`)).status).toBe(400);
    expect((await call(`/v1/raw?sensor=1&from=${FROM}&to=${TO}&cursor=${TO + 5}`)).status).toBe(400);
    expect((await call(`/v1/lens?sensors=77&from=${FROM}&to=${TO}`)).status).toBe(404);
    // The whole century is a valid lens: bounded buckets, no raw scan.
    const century = await call(`/v1/lens?sensors=1,2&from=${Date.UTC(2000, 0, 1)}&to=${Date.UTC(2100, 0, 1)}&points=10000`);
    expect(century.status, century.text).toBe(200);
    expect(century.body.sensors[0].t.length).toBeLessThanOrEqual(10_000);
    expect(century.body.sensors[0].count.reduce((a: number, b: number) => a + b, 0)).toBe(6000);
    const back = await postJson('/v1/backfill', {
      kind: 'generate',
      sensors: [1],
      from: Date.UTC(2000, 0, 1),
      to: Date.UTC(2099, 0, 1),
      rate_hz: 1000,
    });
    expectClear4xx(back, 'century backfill', 'to');
  });

  test('afterwards: health 200, an ingest + lens round trip exact', async () => {
    expect((await call('/v1/health', {}, null)).status).toBe(200);
    const t0 = Date.UTC(2025, 3, 2);
    const values = Array.from({ length: 1000 }, (_, i) => (i % 100) / 8);
    const accepted = await postJson('/v1/ingest', { v: 1, sensor: 42, start: t0, period_ms: 1, values });
    expect(accepted.status, accepted.text).toBe(202);
    await harness.waitCaughtUp();
    const r = await call(`/v1/lens?sensors=42&from=${t0}&to=${t0 + 1000}&step=100`);
    expect(r.status, r.text).toBe(200);
    const s = r.body.sensors[0];
    expect(s.count).toEqual(new Array(10).fill(100));
    expect(s.min).toEqual(new Array(10).fill(0));
    expect(s.max).toEqual(new Array(10).fill(99 / 8));
    expect(s.first).toEqual(new Array(10).fill(0));
    expect(s.last).toEqual(new Array(10).fill(99 / 8));
    for (const avg of s.avg) expect(Math.abs(avg - 4950 / 8 / 100)).toBeLessThan(1e-9);
    const lens = await call(`/v1/lens?sensors=1,2&from=${FROM}&to=${TO}&step=60000`);
    expect(lens.body.sensors.map((x: { count: number[] }) => x.count)).toEqual([new Array(10).fill(600), new Array(10).fill(600)]);

    // /metrics saw it all: the ingest activity's counter, lag 0, the backlog gauge, lens timings, the 401s.
    const metrics = (await call('/metrics', {}, null)).text;
    const value = (re: RegExp) => [...metrics.matchAll(re)].reduce((n, m) => n + Number(m[1]), 0);
    expect(value(/^herodotus_ingested_points_total\{partition="\d+"\} (\d+)$/gm)).toBeGreaterThanOrEqual(1000);
    expect(metrics).toMatch(/^herodotus_ingest_lag_records\{partition="0"\} 0$/m);
    expect(metrics).toMatch(/^herodotus_compaction_backlog_windows \d+$/m);
    expect(metrics).toMatch(/^herodotus_dead_letter_topic_records \d+$/m);
    expect(value(/^herodotus_lens_duration_seconds_count\{status="200"\} (\d+)$/gm)).toBeGreaterThan(0);
    expect(value(/^herodotus_http_requests_total\{[^}]*status="401"\} (\d+)$/gm)).toBeGreaterThan(40);
  });
});

describe('query limits in time and rows', () => {
  let store: Store;
  let roomy: Store;
  let dir: string;
  const t0 = Date.UTC(2025, 0, 1);

  /** The API in-process over `query` (lens and audit queries) with the given row limits. */
  const appOver = (query: Store, limits: { rawLensMaxRows: number; auditMaxRows: number }, timeoutMs: number) =>
    createApp({
      health: new Health([]),
      log: createLogger('limits-test', 'silent'),
      apiTokens: [],
      queryTimeoutMs: timeoutMs,
      ingest: { publisher: {} as never, limits: {} as never, maxBodyBytes: 1024 },
      ops: {
        shards: () => singleShard(query),
        auditShards: () => singleShard(query),
        auditMaxRows: limits.auditMaxRows,
        offsets: async () => [],
        progress: async () => [],
      },
      lens: {
        shards: () => singleShard(query),
        ladder: makeLadder(),
        maxSensorId: 10,
        lensMaxRows: 1_000_000,
        rawLensMaxRows: limits.rawLensMaxRows,
      },
      series: { catalog: new SeriesCatalog({ shards: () => null }) },
      backfill: { client: () => null, taskQueue: 'q', uploadDir: dir, importDir: dir, maxSensorId: 10, maxUploadBytes: 1024 },
      docs: { maxSensorId: 10, maxBodyBytes: 1024, maxUploadBytes: 1024, tokensRequired: false },
      metrics: {
        metrics: new Metrics(),
        sources: { lag: async () => [], deadLetterRecords: async () => 0, compactionBacklog: async () => 0 },
      },
    });

  beforeAll(async () => {
    dir = tempStateDir('timeout');
    const config = loadConfig({ HERODOTUS_STATE_DIR: dir });
    const writer = await openStore(config, { name: 'writer' });
    await migrate(singleShard(writer));
    const n = 2_000_000;
    const points = allocatePoints(n);
    const t0 = Date.UTC(2025, 0, 1);
    for (let i = 0; i < n; i++) {
      points.sensor[i] = 1;
      points.ts[i] = t0 + i;
      points.value[i] = Math.sin(i / 1000);
    }
    points.length = n;
    await writer.insertPoints(points, 'timeout-test');
    await writer.close();
    store = await openStore(config, { name: 'query', readOnly: true, maxExecutionMs: 1 });
    roomy = await openStore(config, { name: 'roomy', readOnly: true, maxExecutionMs: 60_000 });
  });

  afterAll(async () => {
    await store?.close();
    await roomy?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a raw lens and an audit stopped at max_execution_time answer 504 query_timeout with a plain message', async () => {
    const app = appOver(store, { rawLensMaxRows: 100_000_000, auditMaxRows: 100_000_000 }, 1);
    for (const p of [`/v1/lens?sensors=1&from=${t0}&to=${t0 + 2_000_000}&points=1000&source=raw`, '/v1/audit']) {
      const res = await app.request(p);
      const body = (await res.json()) as Body;
      expect(res.status, `${p}: ${JSON.stringify(body)}`).toBe(504);
      expect(body.error?.code).toBe('query_timeout');
      expect(body.error?.message).toMatch(/longer than .* stopped/);
    }
    // The connection is fine afterwards (this one query without the limit: a busy machine may take over 1 ms).
    expect((await store.queryWithStats<[number]>('SELECT 1 AS x', { max_execution_time: 0 })).rows).toEqual([[1]]);
  });

  test('rows: a raw lens past HERODOTUS_RAW_LENS_MAX_ROWS and an audit page past HERODOTUS_AUDIT_MAX_ROWS are 422s naming them', async () => {
    const lens = `/v1/lens?sensors=1&from=${t0}&to=${t0 + 2_000_000}&points=1000`;
    const tight = appOver(roomy, { rawLensMaxRows: 100_000, auditMaxRows: 1_000_000 }, 60_000);
    const raw = await tight.request(`${lens}&source=raw`);
    const rawBody = (await raw.json()) as Body;
    expect(raw.status, JSON.stringify(rawBody)).toBe(422);
    expect(rawBody.error).toMatchObject({ code: 'raw_too_large', field: 'source' });
    expect(rawBody.error?.message).toContain('more than 100000 raw rows (HERODOTUS_RAW_LENS_MAX_ROWS)');
    const audit = await tight.request('/v1/audit');
    const auditBody = (await audit.json()) as Body;
    expect(audit.status, JSON.stringify(auditBody)).toBe(422);
    expect(auditBody.error?.code).toBe('audit_too_large');
    expect(auditBody.error?.message).toContain('sensor 1 alone holds 2000000 raw rows, more than the 1000000');
    // Within the limits: answered. The audit runs on the connection the refused raw lens used, and sends no row
    // limit of its own: the 100000 went with its query (chdb keeps per-call settings for the session otherwise).
    const roomyApp = appOver(roomy, { rawLensMaxRows: 3_000_000, auditMaxRows: 3_000_000 }, 60_000);
    expect(await (await roomyApp.request('/v1/audit')).json()).toEqual({
      sensors: [{ sensor: 1, points: 2_000_000, distinct_points: 2_000_000, checksum: expect.any(Number) }],
      next: null,
    });
    const naive = (await (await roomyApp.request(`${lens}&source=raw`)).json()) as Body;
    expect(naive.sensors[0].count.reduce((a: number, b: number) => a + b, 0)).toBe(2_000_000);
  });
});

test('without tokens the API refuses a non-loopback host, saying why', () => {
  const r = spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'herodotus.mjs'), 'serve'], {
    env: { ...process.env, HERODOTUS_HOST: '0.0.0.0', HERODOTUS_API_TOKENS: '', HERODOTUS_STATE_DIR: tempStateDir('exposure') },
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(r.status, r.stderr).toBe(2);
  expect(r.stderr).toContain('refusing to listen on HERODOTUS_HOST=0.0.0.0 without HERODOTUS_API_TOKENS');
});

/** POST with Transfer-Encoding: chunked (no Content-Length), as a streaming client sends it. */
function chunkedPost(url: string, type: string, body: string, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: 'POST', headers: { ...headers, 'content-type': type, 'transfer-encoding': 'chunked' } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    for (let i = 0; i < body.length; i += 4096) req.write(body.slice(i, i + 4096));
    req.end();
  });
}
