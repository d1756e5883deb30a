// The HTTP surface that needs no running stack: bearer-token checks, the
// refusal to listen beyond loopback without tokens, the OpenAPI document
// (validated against the official 3.1 schema), the docs page, /metrics and
// the viewer's static files. Components behind the routes are stubs that
// fail if a request reaches them when it should not.
import fs from 'node:fs';
import path from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, test } from 'vitest';
import { SeriesCatalog } from '../../lib/series/catalog';
import { backfillBodySchema } from '../../api/routes/backfill';
import { ON_CONFLICT_HEADER } from '../../lib/ingest/conflicts';
import type { KeyedRecord } from '../../lib/kafka/batch-publisher';
import { createApp, type AppDeps } from '../../api/app';
import { checkExposure, ConfigError, configEnv, isLoopbackHost, loadConfig, PROJECT_ROOT } from '../../lib/config/config';
import { parseApiTokens, type ApiToken } from '../../lib/config/tokens';
import { createLogger } from '../../lib/log/logger';
import { makeLadder } from '../../lib/model/ladder';
import { Health } from '../../lib/telemetry/health';
import { Metrics } from '../../lib/telemetry/metrics';

const TOKEN = 'test-token-0123456789abcdef';

/** `tokens` as HERODOTUS_API_TOKENS spells them: `secret` or `secret@scope+scope`. */
function app(tokens: string[] = []) {
  const metrics = new Metrics();
  let published = 0;
  let lastRecords: KeyedRecord[] = [];
  const deps: AppDeps = {
    health: new Health(['clickhouse']),
    log: createLogger('test', 'silent'),
    apiTokens: parseApiTokens(tokens.join(',')) as ApiToken[],
    queryTimeoutMs: 30_000,
    ingest: {
      publisher: {
        publish: async (records: KeyedRecord[]) => {
          published++;
          lastRecords = records;
        },
      } as never,
      limits: { ...loadConfig({}).limits, minTs: 0, maxTs: 1e13, maxPoints: 100_000 } as never,
      maxBodyBytes: 4096,
    },
    ops: { shards: () => null, auditShards: () => null, auditMaxRows: 1000, offsets: async () => [], progress: async () => [] },
    lens: { shards: () => null, ladder: makeLadder(), maxSensorId: 999, lensMaxRows: 1_000_000, rawLensMaxRows: 10_000 },
    series: { catalog: new SeriesCatalog({ shards: () => null }) },
    backfill: {
      client: () => null,
      taskQueue: 'q',
      uploadDir: '/nonexistent',
      importDir: '/nonexistent',
      maxSensorId: 999,
      maxUploadBytes: 4096,
    },
    docs: { maxSensorId: 999, maxBodyBytes: 4096, maxUploadBytes: 4096, tokensRequired: tokens.length > 0 },
    metrics: {
      metrics,
      sources: {
        lag: async () => [
          { partition: 0, lag: 5 },
          { partition: 1, lag: null },
        ],
        deadLetterRecords: async () => 3,
        compactionBacklog: async () => Promise.reject(new Error('down')),
      },
    },
  };
  const a = createApp(deps);
  return {
    request: (path: string, init?: RequestInit) => a.request(path, init),
    metrics,
    published: () => published,
    lastRecords: () => lastRecords,
  };
}

const ADMIN = 'second-token-0123456789';

describe('bearer tokens', () => {
  const { request } = app([TOKEN, `${ADMIN}@admin`]);
  const auth = (t: string) => ({ headers: { authorization: `Bearer ${t}` } });

  test('missing, malformed and wrong tokens get 401 with the error body', async () => {
    for (const [init, code] of [
      [undefined, 'unauthorized'],
      [{ headers: { authorization: TOKEN } }, 'unauthorized'],
      [{ headers: { authorization: `Basic ${TOKEN}` } }, 'unauthorized'],
      [auth('wrong-token-0123456789abcdef'), 'invalid_token'],
      [auth(`${TOKEN}x`), 'invalid_token'],
    ] as const) {
      const res = await request('/v1/sensors', init);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toContain('Bearer');
      const body = (await res.json()) as { error: { code: string; message: string; field: string } };
      expect(body.error.code).toBe(code);
      expect(body.error.field).toBe('authorization');
    }
  });

  test('every /v1 route but health needs the token; unknown paths too', async () => {
    for (const [method, path] of [
      ['GET', '/v1/lens?sensors=1&from=0&to=1'],
      ['GET', '/v1/raw?sensor=1&from=0&to=1'],
      ['POST', '/v1/ingest'],
      ['POST', '/v1/backfill'],
      ['GET', '/v1/backfill/0badc0de'],
      ['GET', '/v1/ingest/status'],
      ['GET', '/v1/compaction/status'],
      ['GET', '/v1/audit'],
      ['GET', '/v1/nothing-here'],
      ['GET', '/v1/health/'],
      ['POST', '/v1/health'],
    ]) {
      expect((await request(path!, { method })).status, `${method} ${path}`).toBe(method === 'POST' && path === '/v1/health' ? 404 : 401);
    }
    expect((await request('/v1/health')).status).toBe(503); // the stub's component is not ready: 503, not 401
  });

  test('either configured token opens the API', async () => {
    expect((await request('/v1/sensors', auth(TOKEN))).status).toBe(503); // past auth: the stub has no ClickHouse
    expect((await request('/v1/sensors', auth('second-token-0123456789'))).status).toBe(503);
    expect((await request('/v1/sensors', { headers: { authorization: `bearer   ${TOKEN}` } })).status).toBe(503);
  });

  test('before ClickHouse is open: 503 clickhouse_unavailable, but a bad lens request is still a 400', async () => {
    for (const path of [
      '/v1/sensors',
      '/v1/compaction/status',
      '/v1/audit',
      '/v1/lens?sensors=1&from=1750000000000&to=1750000001000',
      '/v1/raw?sensor=1&from=1750000000000&to=1750000001000',
    ]) {
      const res = await request(path, auth(ADMIN));
      expect(res.status, path).toBe(503);
      expect(await res.json(), path).toEqual({
        error: { code: 'clickhouse_unavailable', message: 'ClickHouse is not open yet; retry shortly' },
      });
    }
    expect((await request('/v1/lens?sensors=1&from=1750000001000&to=1750000000000', auth(TOKEN))).status).toBe(400);
    expect((await request('/v1/raw?sensor=x&from=0&to=1', auth(TOKEN))).status).toBe(400);
  });

  test('the viewer, docs, OpenAPI document and metrics need no token', async () => {
    for (const path of [
      '/',
      '/app.js',
      '/style.css',
      '/vendor/uplot/uPlot.esm.js',
      '/vendor/uplot/uPlot.min.css',
      '/docs',
      '/openapi.json',
      '/metrics',
    ]) {
      expect((await request(path)).status, path).toBe(200);
    }
  });

  test('every ES module of the viewer is served as JavaScript without a token', async () => {
    const modules = fs.readdirSync(path.join(PROJECT_ROOT, 'api', 'viewer')).filter((f) => f.endsWith('.js'));
    expect(modules).toContain('app.js');
    for (const m of modules) {
      const res = await request(`/${m}`);
      expect(res.status, m).toBe(200);
      expect(res.headers.get('content-type'), m).toBe('text/javascript; charset=utf-8');
    }
  });
});

describe('token scopes', () => {
  const READER = 'reader-token-0123456789';
  const WRITER = 'writer-token-0123456789';
  const { request, published } = app([TOKEN, `${READER}@read`, `${WRITER}@write`, `${ADMIN}@admin`]);
  const as = (token: string, init: RequestInit = {}) => ({ ...init, headers: { ...init.headers, authorization: `Bearer ${token}` } });
  const lens = '/v1/lens?sensors=1&from=1750000000000&to=1750000001000';
  const ingest = {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ v: 1, sensor: 1, start: 1.75e12, period_ms: 1, values: [1] }),
  };
  const json = (body: unknown): RequestInit => ({
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const importPath = json({ kind: 'import', format: 'csv', path: 'x.csv' });
  const recompact = json({ kind: 'recompact', sensors: [1], from: 1.75e12, to: 1.75e12 + 1000 });
  const generate = json({ kind: 'generate', sensors: [1], from: 1.75e12, to: 1.75e12 + 1000, rate_hz: 10 });

  /** 403 with a message naming the scope, or past the scope check (anything but 401/403). */
  const expectScope = async (path: string, init: RequestInit, needed: string | null, what: string) => {
    const res = await request(path, init);
    const body = (await res.json()) as { error?: { code: string; message: string; field?: string } };
    if (needed === null) {
      expect([401, 403], `${what}: ${JSON.stringify(body)}`).not.toContain(res.status);
      return;
    }
    expect(res.status, `${what}: ${JSON.stringify(body)}`).toBe(403);
    expect(body.error?.code).toBe('forbidden');
    expect(body.error?.field).toBe('authorization');
    expect(body.error?.message, what).toContain(`needs a token with the ${needed} scope`);
  };

  test('read: lenses, raw, sensors and status; not ingest, backfills, audit or source=raw', async () => {
    for (const p of [
      lens,
      '/v1/raw?sensor=1&from=0&to=1',
      '/v1/sensors',
      '/v1/ingest/status',
      '/v1/compaction/status',
      '/v1/backfill/0badc0de',
    ])
      await expectScope(p, as(READER), null, `read ${p}`);
    await expectScope('/v1/ingest', as(READER, ingest), 'write', 'read ingest');
    await expectScope('/v1/backfill', as(READER, generate), 'write', 'read generate');
    await expectScope('/v1/audit', as(READER), 'admin', 'read audit');
    await expectScope(`${lens}&source=raw`, as(READER), 'admin', 'read source=raw');
    expect(published()).toBe(0);
  });

  test('write: ingest, generate and uploads; not reading', async () => {
    await expectScope('/v1/ingest', as(WRITER, ingest), null, 'write ingest');
    expect(published()).toBeGreaterThan(0);
    await expectScope('/v1/backfill', as(WRITER, generate), null, 'write generate');
    await expectScope(lens, as(WRITER), 'read', 'write lens');
    await expectScope('/v1/sensors', as(WRITER), 'read', 'write sensors');
  });

  test('a plain token reads and writes; server-file imports, recompaction, audit and source=raw need admin', async () => {
    await expectScope(lens, as(TOKEN), null, 'plain lens');
    await expectScope('/v1/backfill', as(TOKEN, generate), null, 'plain generate');
    await expectScope('/v1/backfill', as(TOKEN, importPath), 'admin', 'plain import path');
    await expectScope('/v1/backfill', as(TOKEN, recompact), 'admin', 'plain recompact');
    await expectScope('/v1/audit', as(TOKEN), 'admin', 'plain audit');
    await expectScope(`${lens}&source=raw`, as(TOKEN), 'admin', 'plain source=raw');
    for (const [p, init] of [
      ['/v1/audit', {}],
      [`${lens}&source=raw`, {}],
      ['/v1/backfill', recompact],
      [lens, {}],
      ['/v1/ingest', ingest],
    ] as const)
      await expectScope(p, as(ADMIN, init), null, `admin ${p}`);
  });

  test('a lens whose step would read more rows than HERODOTUS_LENS_MAX_ROWS: 422 naming the nearest cheap steps, before any query', async () => {
    const t0 = 84 * 17 * 1_234_567 * 1000; // 2025-11-12, on the grid of every step below
    const cases: [string, RegExp][] = [
      // No rollup level tiles 17 ms: a raw scan of 153 s × 10 sensors; 20 ms is tiled by the 10 ms level.
      [
        `sensors=1,2,3,4,5,6,7,8,9,10&from=${t0}&to=${t0 + 9000 * 17}&step=17`,
        /no rollup level tiles a 17 ms bucket.*1530000 rows.*: 20 ms$/,
      ],
      // 17 s is tiled by the 1 s level (17 rows a bucket): over 9000 buckets of 10 sensors that is too much.
      [`sensors=1,2,3,4,5,6,7,8,9,10&from=${t0}&to=${t0 + 9000 * 17_000}&step=17000`, /1000 ms rollup level .*17 rows a bucket.*20000 ms$/],
      // An odd step over months: no level tiles it, and only multiples of a minute fit.
      [`sensors=1&from=${t0}&to=${t0 + 9000 * 1_234_567}&step=1234567`, /no rollup level tiles.*: 1200000 ms or 1260000 ms$/],
    ];
    for (const [q, message] of cases) {
      const res = await request(`/v1/lens?${q}`, as(TOKEN));
      const body = (await res.json()) as { error: { code: string; message: string; field: string } };
      expect(res.status, q).toBe(422);
      expect(body.error.code).toBe('step_too_costly');
      expect(body.error.field).toBe('step');
      expect(body.error.message, q).toMatch(message);
      expect(body.error.message).toContain('HERODOTUS_LENS_MAX_ROWS');
    }
    // Within the budget: past the check (503: the stub has no ClickHouse).
    for (const q of [`sensors=1&from=${t0}&to=${t0 + 170_000}&step=17`, `sensors=1,2&from=${t0}&to=${t0 + 86_400_000}&step=17000`])
      expect((await request(`/v1/lens?${q}`, as(TOKEN))).status, q).toBe(503);
  });
});

describe('exposure', () => {
  test('loopback hosts', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.2', 'example.com', '128.0.0.1']) expect(isLoopbackHost(h), h).toBe(false);
  });

  test('no tokens: refuses a non-loopback host with the reason; tokens or loopback: fine', () => {
    expect(() => checkExposure(loadConfig({ HERODOTUS_HOST: '0.0.0.0' }))).toThrow(ConfigError);
    expect(() => checkExposure(loadConfig({ HERODOTUS_HOST: '0.0.0.0' }))).toThrow(/HERODOTUS_API_TOKENS/);
    expect(() => checkExposure(loadConfig({ HERODOTUS_HOST: '0.0.0.0', HERODOTUS_API_TOKENS: TOKEN }))).not.toThrow();
    expect(() => checkExposure(loadConfig({}))).not.toThrow();
  });

  test('tokens are parsed, checked and trimmed; a plain token reads and writes, scopes follow the last @', () => {
    expect(loadConfig({ HERODOTUS_API_TOKENS: ` ${TOKEN} , second-token-0123456789@admin,` }).http.apiTokens).toEqual([
      { secret: TOKEN, scopes: ['read', 'write'] },
      { secret: 'second-token-0123456789', scopes: ['admin'] },
    ]);
    expect(parseApiTokens('reader-token-0123456789@read,ops@token-0123456789@write+admin+write,mail@example.com-token@nope')).toEqual([
      { secret: 'reader-token-0123456789', scopes: ['read'] },
      { secret: 'ops@token-0123456789', scopes: ['write', 'admin'] },
      { secret: 'mail@example.com-token@nope', scopes: ['read', 'write'] },
    ]);
    expect(() => loadConfig({ HERODOTUS_API_TOKENS: 'short' })).toThrow(/16 to 512/);
    expect(() => loadConfig({ HERODOTUS_API_TOKENS: 'short@admin' })).toThrow(/16 to 512/);
    expect(loadConfig({}).http.apiTokens).toEqual([]);
    // What the harness hands its children reads back the same.
    const config = loadConfig({ HERODOTUS_API_TOKENS: `${TOKEN},second-token-0123456789@read` });
    expect(loadConfig(configEnv(config)).http.apiTokens).toEqual(config.http.apiTokens);
  });
});

describe('request limits without a stack', () => {
  const { request, published } = app();

  test('an oversized ingest body is refused unread', async () => {
    const big = JSON.stringify({ v: 1, sensor: 1, start: 1.7e12, period_ms: 1, values: new Array(5000).fill(1) });
    // As HTTP clients send it: with its length, so the limit applies before reading.
    const headers = { 'content-type': 'application/json', 'content-length': String(big.length) };
    const res = await request('/v1/ingest', { method: 'POST', headers, body: big });
    expect(res.status).toBe(413);
    expect(published()).toBe(0);
  });
});

describe('on_conflict at the edge', () => {
  const batch = JSON.stringify({ v: 1, sensor: 1, start: 1.7e12, period_ms: 1000, values: [1, 2] });
  const post = (request: ReturnType<typeof app>['request'], query: string) =>
    request(`/v1/ingest${query}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: batch });

  test('POST /v1/ingest: an unknown policy is a 400 naming on_conflict; replace travels as the on-conflict header', async () => {
    const { request, published, lastRecords } = app();
    const bad = await post(request, '?on_conflict=overwrite');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: 'invalid_parameter', field: 'on_conflict' } });
    expect(published()).toBe(0);
    expect((await post(request, '')).status).toBe(202);
    expect(lastRecords()[0]!.headers).toBeUndefined();
    expect((await post(request, '?on_conflict=replace')).status).toBe(202);
    expect(lastRecords()[0]!.headers).toEqual({ [ON_CONFLICT_HEADER]: 'replace' });
  });

  test('POST /v1/backfill: on_conflict is keep or replace (default keep)', () => {
    const schema = backfillBodySchema(999);
    const generate = { kind: 'generate', sensors: [1], from: 1.7e12, to: 1.7e12 + 3_600_000, rate_hz: 10 };
    expect(schema.parse(generate)).toMatchObject({ on_conflict: 'keep' });
    expect(schema.parse({ ...generate, on_conflict: 'replace' })).toMatchObject({ on_conflict: 'replace' });
    expect(schema.safeParse({ ...generate, on_conflict: 'overwrite' }).success).toBe(false);
  });
});

describe('OpenAPI', () => {
  test('is a valid OpenAPI 3.1 document covering every route, built from the zod schemas', async () => {
    const res = await app().request('/openapi.json');
    const doc = (await res.json()) as any;
    const result = await new Validator().validate(doc);
    expect(result.errors ?? [], JSON.stringify(result.errors, null, 1)).toEqual([]);
    expect(result.valid).toBe(true);
    expect(doc.openapi).toBe('3.1.0');
    for (const p of [
      '/v1/health',
      '/v1/lens',
      '/v1/raw',
      '/v1/sensors',
      '/v1/ingest',
      '/v1/ingest/status',
      '/v1/compaction/status',
      '/v1/audit',
      '/v1/backfill',
      '/v1/backfill/{id}',
      '/metrics',
    ]) {
      expect(doc.paths[p], p).toBeDefined();
    }
    const lensParams = doc.paths['/v1/lens'].get.parameters.map((p: any) => `${p.name}${p.required ? '!' : ''}`);
    expect(lensParams).toEqual(['sensors!', 'from!', 'to!', 'points', 'step', 'quality', 'source']);
    const backfill = doc.paths['/v1/backfill'].post.requestBody.content['application/json'].schema;
    expect(JSON.stringify(backfill)).toContain('"recompact"');
    const ingest = doc.paths['/v1/ingest'].post.requestBody.content['application/json'].schema;
    expect(JSON.stringify(ingest)).toContain('period_ms');
    expect(doc.paths['/v1/health'].get.security).toEqual([]);
    // Each operation names the token scope it needs, with its 403; bounded reads document their 422.
    const scopes = Object.fromEntries(
      Object.entries(doc.paths).flatMap(([p, ops]: [string, any]) =>
        Object.entries(ops).map(([m, op]: [string, any]) => [`${m.toUpperCase()} ${p}`, op.security?.[0]?.bearer?.[0] ?? 'public']),
      ),
    );
    expect(scopes).toMatchObject({
      'GET /v1/lens': 'read',
      'GET /v1/raw': 'read',
      'GET /v1/sensors': 'read',
      'POST /v1/ingest': 'write',
      'GET /v1/ingest/status': 'read',
      'GET /v1/compaction/status': 'read',
      'GET /v1/audit': 'admin',
      'POST /v1/backfill': 'write',
      'GET /v1/backfill/{id}': 'read',
      'GET /v1/health': 'public',
    });
    expect(doc.paths['/v1/audit'].get.responses['403']).toBeDefined();
    expect(Object.keys(doc.paths['/v1/lens'].get.responses)).toEqual(expect.arrayContaining(['403', '422', '504']));
    expect(doc.paths['/v1/audit'].get.parameters.map((p: any) => p.name)).toEqual(['cursor']);
    expect(doc.paths['/v1/audit'].get.responses['200'].content['application/json'].schema.properties.next).toBeDefined();
  });

  test('/docs renders it as one self-contained page', async () => {
    const res = await app().request('/docs');
    expect(res.headers.get('content-type')).toContain('text/html');
    const html = await res.text();
    expect(html).toContain('/v1/lens');
    expect(html).toContain('sensors');
    expect(html).not.toMatch(/<script|https?:\/\/(?!json-schema\.org)/);
  });
});

describe('/metrics', () => {
  test('Prometheus text with counters (expired offsets and conflicting points too), lags, dead letters, backlog source state and HTTP statuses', async () => {
    const { request, metrics } = app();
    metrics.chunkIngested(0, { inserted: 1200, deadLetters: 2, expired: 0, conflicting: 7, replaced: 3 });
    metrics.chunkIngested(0, { inserted: 300, deadLetters: 0, expired: 40, conflicting: 0, replaced: 0 });
    await request('/v1/lens?sensors=1&from=0&to=1');
    await request('/v1/backfill/0badc0de');
    const res = await request('/metrics');
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toContain('herodotus_ingested_points_total{partition="0"} 1500');
    expect(text).toContain('herodotus_dead_letters_total{partition="0"} 2');
    expect(text).toContain('herodotus_expired_offsets_total{partition="0"} 40');
    expect(text).toContain('herodotus_points_conflicting_total{partition="0"} 7');
    expect(text).toContain('herodotus_points_replaced_total{partition="0"} 3');
    expect(text).toContain('herodotus_ingest_lag_records{partition="0"} 5');
    expect(text).not.toContain('herodotus_ingest_lag_records{partition="1"}');
    expect(text).toContain('herodotus_dead_letter_topic_records 3');
    expect(text).toContain('herodotus_metrics_source_up{source="compaction_backlog"} 0');
    expect(text).toContain('herodotus_http_requests_total{method="GET",route="/v1/lens",status="400"} 1');
    expect(text).toContain('herodotus_http_requests_total{method="GET",route="/v1/backfill/:id",status="503"} 1');
    expect(text).toMatch(/herodotus_lens_duration_seconds_count\{status="400"\} 1/);
  });
});
