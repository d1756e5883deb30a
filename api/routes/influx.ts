import { gunzipSync } from 'node:zlib';
import { type Context, Hono } from 'hono';
import { encodeBatch } from '../../lib/batch/encode';
import type { BatchLimits } from '../../lib/batch/types';
import type { BatchPublisher } from '../../lib/kafka/batch-publisher';
import { parsePrecision, type Precision } from '../../lib/lineprotocol/points';
import { CatalogUnavailable, type SeriesCatalog } from '../../lib/series/catalog';
import { prepareLineWrite } from '../../lib/series/line-write';
import { needs } from '../middleware/scope';
import { ON_CONFLICT_HEADER } from '../../lib/ingest/conflicts';
import { limitBody, onConflictQuery } from './ingest';

export interface InfluxRouteDeps {
  publisher: BatchPublisher;
  limits: BatchLimits;
  maxBodyBytes: number;
  catalog: SeriesCatalog;
}

/** InfluxDB's own error shapes: 1.x `{"error": …}`, 2.x `{"code": …, "message": …}`; clients show these. */
type Dialect = 'v1' | 'v2';

function influxError(c: Context, dialect: Dialect, status: 400 | 413 | 503, code: string, message: string, extra: object = {}) {
  return c.json(dialect === 'v1' ? { error: message, ...extra } : { code, message, ...extra }, status);
}

/** Rejections shown in a message: the first few, by line. */
const MESSAGE_REJECTIONS = 10;

/** The body as text: gunzipped when sent with `Content-Encoding: gzip`, within the same byte limit once unpacked. */
function bodyText(c: Context, body: ArrayBuffer, maxBytes: number): string | 'too_large' {
  const encoding = (c.req.header('content-encoding') ?? '').trim().toLowerCase();
  if (encoding !== 'gzip') return Buffer.from(body).toString('utf8');
  try {
    return gunzipSync(Buffer.from(body), { maxOutputLength: maxBytes }).toString('utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') return 'too_large';
    throw err;
  }
}

/**
 * One write: parse every line, resolve series by name (creating them), hand
 * the batches to Kafka like POST /v1/ingest, answer 204 once Kafka has them.
 * Rejected lines and fields do not stop the others (InfluxDB's partial
 * write): the answer is then a 400 listing each with its line number, after
 * the accepted points are on Kafka.
 */
async function write(c: Context, deps: InfluxRouteDeps, dialect: Dialect, precision: Precision, replace: boolean) {
  const text = bodyText(c, await c.req.arrayBuffer(), deps.maxBodyBytes);
  if (text === 'too_large')
    return influxError(c, dialect, 413, 'request too large', `the unpacked body exceeds ${deps.maxBodyBytes} bytes`);
  const now = Date.now();
  const { minTs, maxTs, maxSensorId, ingest } = deps.limits;
  const ctx = { precision, now, minTs, maxTs: Math.min(maxTs, now + (ingest?.futureSkewMs ?? maxTs)), maxSensorId };
  let prepared: Awaited<ReturnType<typeof prepareLineWrite>>;
  try {
    prepared = await prepareLineWrite(text, ctx, deps.catalog, deps.limits);
  } catch (err) {
    if (err instanceof CatalogUnavailable) return influxError(c, dialect, 503, 'unavailable', err.message);
    throw err;
  }
  try {
    const headers = replace ? { headers: { [ON_CONFLICT_HEADER]: 'replace' } } : {};
    await deps.publisher.publish(prepared.batches.map((b) => ({ key: String(b.sensor), value: encodeBatch(b, deps.limits), ...headers })));
  } catch (err) {
    return influxError(c, dialect, 503, 'unavailable', `could not hand the points to Kafka: ${(err as Error).message}; retry later`);
  }
  if (prepared.rejected.length === 0) return c.body(null, 204);
  const shown = prepared.rejected
    .slice(0, MESSAGE_REJECTIONS)
    .map((r) => `line ${r.line}${r.field ? ` field ${JSON.stringify(r.field)}` : ''}: ${r.reason}`);
  const more = prepared.rejected.length > MESSAGE_REJECTIONS ? `; and ${prepared.rejected.length - MESSAGE_REJECTIONS} more` : '';
  return influxError(
    c,
    dialect,
    400,
    'invalid',
    `partial write: ${prepared.points} points written, ${prepared.rejected.length} rejected: ${shown.join('; ')}${more}`,
    { written: prepared.points, rejected: prepared.rejected },
  );
}

/** The query's precision (default ns, as InfluxDB), or the 400 naming it. */
function precisionOf(c: Context, dialect: Dialect): Precision | Response {
  const given = c.req.query('precision') ?? 'ns';
  return (
    parsePrecision(given) ??
    influxError(c, dialect, 400, 'invalid', `precision must be one of ns, us, ms, s (or n, u), got ${JSON.stringify(given)}`)
  );
}

/**
 * InfluxDB-compatible writes: POST /write?db=&precision= (1.x) and
 * POST /api/v2/write?org=&bucket=&precision= (2.x). The database, org and
 * bucket are required as InfluxDB requires them but do not scope anything
 * here: series are one namespace, named by docs/api.md#line-protocol.
 * `on_conflict=replace` (Herodotus's own parameter, as on POST /v1/ingest)
 * makes the write's points corrections of stored values.
 */
export function influxRoutes(deps: InfluxRouteDeps) {
  const route = (dialect: Dialect, required: string[]) => async (c: Context) => {
    const missing = required.find((q) => !c.req.query(q));
    if (missing) return influxError(c, dialect, 400, 'invalid', `the query parameter ${missing} is required`);
    const precision = precisionOf(c, dialect);
    if (precision instanceof Response) return precision;
    const onConflict = onConflictQuery.safeParse(c.req.query('on_conflict'));
    if (!onConflict.success) return influxError(c, dialect, 400, 'invalid', 'on_conflict must be keep or replace');
    return write(c, deps, dialect, precision, onConflict.data === 'replace');
  };
  return new Hono()
    .post('/write', needs('write'), limitBody(deps.maxBodyBytes), route('v1', ['db']))
    .post('/api/v2/write', needs('write'), limitBody(deps.maxBodyBytes), route('v2', ['bucket']));
}
