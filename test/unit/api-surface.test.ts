// The HTTP surface that needs no running stack: bearer-token checks, the
// refusal to listen beyond loopback without tokens, the OpenAPI document
// (validated against the official 3.1 schema), the docs page, /metrics and
// the viewer's static files. Components behind the routes are stubs that
// fail if a request reaches them when it should not.
import fs from 'node:fs';
import path from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, test } from 'vitest';
import { createApp, type AppDeps } from '../../api/app';
import { checkExposure, ConfigError, isLoopbackHost, loadConfig, PROJECT_ROOT } from '../../lib/config/config';
import { createLogger } from '../../lib/log/logger';
import { makeLadder } from '../../lib/model/ladder';
import { Health } from '../../lib/telemetry/health';
import { Metrics } from '../../lib/telemetry/metrics';

const TOKEN = 'test-token-0123456789abcdef';

function app(tokens: string[] = []) {
  const metrics = new Metrics();
  let published = 0;
  const deps: AppDeps = {
    health: new Health(['clickhouse']),
    log: createLogger('test', 'silent'),
    apiTokens: tokens,
    queryTimeoutMs: 30_000,
    ingest: {
      publisher: { publish: async () => void published++ } as never,
      limits: { ...loadConfig({}).limits, minTs: 0, maxTs: 1e13, maxPoints: 100_000 } as never,
      maxBodyBytes: 4096,
    },
    ops: { shards: () => null, offsets: async () => [], progress: async () => [] },
    lens: { shards: () => null, ladder: makeLadder(), maxSensorId: 999 },
    backfill: { client: () => null, taskQueue: 'q', uploadDir: '/nonexistent', maxSensorId: 999, maxUploadBytes: 4096 },
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
  return { request: (path: string, init?: RequestInit) => a.request(path, init), metrics, published: () => published };
}

describe('bearer tokens', () => {
  const { request } = app([TOKEN, 'second-token-0123456789']);
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
      const res = await request(path, auth(TOKEN));
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

  test('tokens are parsed, checked and trimmed', () => {
    expect(loadConfig({ HERODOTUS_API_TOKENS: ` ${TOKEN} , second-token-0123456789,` }).http.apiTokens).toEqual([
      TOKEN,
      'second-token-0123456789',
    ]);
    expect(() => loadConfig({ HERODOTUS_API_TOKENS: 'short' })).toThrow(/16 to 512/);
    expect(loadConfig({}).http.apiTokens).toEqual([]);
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
    expect(lensParams).toEqual(['sensors!', 'from!', 'to!', 'points', 'step', 'source']);
    const backfill = doc.paths['/v1/backfill'].post.requestBody.content['application/json'].schema;
    expect(JSON.stringify(backfill)).toContain('"recompact"');
    const ingest = doc.paths['/v1/ingest'].post.requestBody.content['application/json'].schema;
    expect(JSON.stringify(ingest)).toContain('period_ms');
    expect(doc.paths['/v1/health'].get.security).toEqual([]);
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
  test('Prometheus text with counters (expired offsets too), lags, dead letters, backlog source state and HTTP statuses', async () => {
    const { request, metrics } = app();
    metrics.chunkIngested(0, { inserted: 1200, deadLetters: 2, expired: 0 });
    metrics.chunkIngested(0, { inserted: 300, deadLetters: 0, expired: 40 });
    await request('/v1/lens?sensors=1&from=0&to=1');
    await request('/v1/backfill/0badc0de');
    const res = await request('/metrics');
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toContain('herodotus_ingested_points_total{partition="0"} 1500');
    expect(text).toContain('herodotus_dead_letters_total{partition="0"} 2');
    expect(text).toContain('herodotus_expired_offsets_total{partition="0"} 40');
    expect(text).toContain('herodotus_ingest_lag_records{partition="0"} 5');
    expect(text).not.toContain('herodotus_ingest_lag_records{partition="1"}');
    expect(text).toContain('herodotus_dead_letter_topic_records 3');
    expect(text).toContain('herodotus_metrics_source_up{source="compaction_backlog"} 0');
    expect(text).toContain('herodotus_http_requests_total{method="GET",route="/v1/lens",status="400"} 1');
    expect(text).toContain('herodotus_http_requests_total{method="GET",route="/v1/backfill/:id",status="503"} 1');
    expect(text).toMatch(/herodotus_lens_duration_seconds_count\{status="400"\} 1/);
  });
});
