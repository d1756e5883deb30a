import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import type { CsvMapping } from '../../lib/backfill/csv-mapping';
import { resolveImportPath } from '../../lib/backfill/import-path';
import { DEFAULT_BATCH_LIMITS } from '../../lib/batch/types';
import { backfillProgressQuery, backfillWorkflowId, type BackfillRequest } from '../../workflows/backfill';
import { apiError, sendError, type ApiError } from '../errors';
import { needs, scopeRefusal, type ScopeEnv } from '../middleware/scope';

export interface BackfillRouteDeps {
  client(): Client | null;
  taskQueue: string;
  uploadDir: string;
  /** The only directory `{"kind": "import", "path": …}` reads from (HERODOTUS_IMPORT_DIR). */
  importDir: string;
  maxSensorId: number;
  /** Largest CSV or line-protocol upload accepted. */
  maxUploadBytes: number;
}

/** A JSON backfill request is small (at most 1000 sensor ids): anything larger is refused unread. */
export const MAX_JSON_BODY_BYTES = 64 * 1024;

class TooLarge extends Error {}

/** Passes bytes through until more than `max` went by, then fails the pipeline. */
function byteLimit(max: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      done(seen > max ? new TooLarge() : null, seen > max ? undefined : chunk);
    },
  });
}

/** Reads a whole (small) body as text, refusing more than `max` bytes. */
async function readLimited(body: ReadableStream<Uint8Array>, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  await pipeline(Readable.fromWeb(body as WebReadableStream<Uint8Array>), byteLimit(max), async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) chunks.push(chunk);
  });
  return Buffer.concat(chunks).toString('utf8');
}

const declaredLength = (req: Request): number | null => {
  const h = req.headers.get('content-length');
  return h !== null && /^\d+$/.test(h) ? Number(h) : null;
};

const { minTs, maxTs } = DEFAULT_BATCH_LIMITS;
const instant = z
  .union([
    z.number().int(),
    z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}T.*(Z|[+-]\d{2}:?\d{2})$/, 'expected epoch ms or an ISO 8601 date-time with a zone')
      .transform((s) => Date.parse(s)),
  ])
  .pipe(z.number().int().min(minTs).max(maxTs));

const MAX_SPAN_MS = 400 * 86_400_000;

const column = z.string().min(1).max(256);
/** CSV columns by header name (lib/backfill/csv-mapping.ts). */
const csvMappingSchema = z.strictObject({ series: column, ts: column, value: column, quality: column.optional() });

/** An upload's mapping from its query: `series=Tag&ts=Timestamp&value=Value&quality=Status` (all or none of the first three). */
function uploadMapping(query: Record<string, string>): { mapping?: CsvMapping } | Refusal {
  const { series, ts, value, quality } = query;
  if (series === undefined && ts === undefined && value === undefined && quality === undefined) return {};
  const parsed = csvMappingSchema.safeParse({ series, ts, value, ...(quality === undefined ? {} : { quality }) });
  if (!parsed.success)
    return {
      error: apiError(400, 'invalid_parameter', 'a CSV mapping names the series, ts and value columns (and optionally quality)', 'series'),
    };
  return { mapping: parsed.data };
}

/** The JSON body of POST /v1/backfill; exported for the OpenAPI document. */
export function backfillBodySchema(maxSensorId: number) {
  const sensors = z.array(z.number().int().min(0).max(maxSensorId)).min(1).max(1000);
  const range = { from: instant, to: instant };
  const on_conflict = onConflictSchema.meta({
    description:
      'A point whose (sensor, ts) is stored with another value: keep the stored one and count the newcomer as conflicting (default), or replace it as a correction (rollups re-aggregated)',
  });
  return z
    .discriminatedUnion('kind', [
      z.strictObject({
        kind: z.literal('generate'),
        sensors,
        ...range,
        rate_hz: z
          .number()
          .int()
          .min(1)
          .max(1000)
          .refine((r) => 1000 % r === 0, 'must divide 1000'),
        seed: z
          .number()
          .int()
          .min(0)
          .max(2 ** 32 - 1)
          .default(1),
        on_conflict,
      }),
      z.strictObject({
        kind: z.literal('import'),
        format: z.enum(['csv', 'influx']),
        path: z
          .string()
          .min(1)
          .max(4096)
          .meta({ description: 'A file in the import directory (HERODOTUS_IMPORT_DIR), relative to it or absolute' }),
        precision: z.enum(['ns', 'us', 'ms', 's']).default('ns'),
        mapping: csvMappingSchema.optional().meta({
          description: 'CSV only: the columns by header name, e.g. {"series":"Tag","ts":"Timestamp","value":"Value","quality":"Status"}',
        }),
        on_conflict,
      }),
      z.strictObject({ kind: z.literal('recompact'), sensors, ...range }),
    ])
    .superRefine((b, ctx) => {
      if (b.kind === 'import') return;
      if (b.from >= b.to) ctx.addIssue({ code: 'custom', message: 'from must be before to', path: ['to'] });
      else if (b.to - b.from > MAX_SPAN_MS) ctx.addIssue({ code: 'custom', message: 'a backfill spans at most 400 days', path: ['to'] });
    });
}

const onConflictSchema = z.enum(['keep', 'replace']).default('keep');

/** Only a replacing request names its policy: the requests (and fingerprints) of keeping ones stay as they were. */
const conflictPolicy = (p: 'keep' | 'replace') => (p === 'replace' ? { onConflict: 'replace' as const } : {});

const UPLOAD_TYPES: Record<string, 'csv' | 'influx'> = { 'text/csv': 'csv', 'text/plain': 'influx' };

type Refusal = { error: ApiError };

const jsonTooLarge = apiError(413, 'body_too_large', `a JSON backfill request is at most ${MAX_JSON_BODY_BYTES} bytes`, 'body');

/** A CSV or line-protocol upload, streamed to a new file under uploadDir and imported from there. */
async function uploadRequest(
  req: Request,
  uploadFormat: 'csv' | 'influx',
  query: Record<string, string>,
  deps: BackfillRouteDeps,
): Promise<BackfillRequest | Refusal> {
  const uploadTooLarge = apiError(
    413,
    'body_too_large',
    `the upload exceeds ${deps.maxUploadBytes} bytes (HERODOTUS_MAX_UPLOAD_BYTES); split the file`,
    'body',
  );
  if (!req.body) return { error: apiError(400, 'empty_upload', 'the upload has no body', 'body') };
  if ((declaredLength(req) ?? 0) > deps.maxUploadBytes) return { error: uploadTooLarge };
  const precision = z.enum(['ns', 'us', 'ms', 's']).default('ns').safeParse(query.precision);
  if (!precision.success) return { error: apiError(400, 'invalid_parameter', 'precision must be ns, us, ms or s', 'precision') };
  const onConflict = onConflictSchema.safeParse(query.on_conflict);
  if (!onConflict.success) return { error: apiError(400, 'invalid_parameter', 'on_conflict must be keep or replace', 'on_conflict') };
  const mapping = uploadMapping(query);
  if ('error' in mapping) return mapping;
  await mkdir(deps.uploadDir, { recursive: true });
  const path = join(deps.uploadDir, `${randomUUID()}.${uploadFormat === 'csv' ? 'csv' : 'lp'}`);
  try {
    await pipeline(Readable.fromWeb(req.body as WebReadableStream<Uint8Array>), byteLimit(deps.maxUploadBytes), createWriteStream(path));
  } catch (err) {
    await rm(path, { force: true });
    if (err instanceof TooLarge) return { error: uploadTooLarge };
    throw err;
  }
  return {
    kind: 'import',
    format: uploadFormat,
    path,
    precision: precision.data,
    upload: true,
    ...mapping,
    ...conflictPolicy(onConflict.data),
  };
}

/**
 * A JSON request: generate (write scope), or import a file already on the
 * server or recompact (admin scope: they read or rewrite what the server holds).
 */
async function jsonRequest(
  c: Context<ScopeEnv>,
  schema: ReturnType<typeof backfillBodySchema>,
  importDir: string,
): Promise<BackfillRequest | Refusal> {
  const req = c.req.raw;
  if ((declaredLength(req) ?? 0) > MAX_JSON_BODY_BYTES) return { error: jsonTooLarge };
  let text: string;
  try {
    text = req.body ? await readLimited(req.body, MAX_JSON_BODY_BYTES) : '';
  } catch (err) {
    if (err instanceof TooLarge) return { error: jsonTooLarge };
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { error: apiError(400, 'invalid_json', 'body is not valid JSON', 'body') };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.join('.') || 'body';
    return { error: apiError(400, 'invalid_backfill', `${field}: ${issue.message}`, field) };
  }
  const b = parsed.data;
  if (b.kind === 'generate')
    return {
      kind: 'generate',
      sensors: b.sensors,
      from: b.from,
      to: b.to,
      rateHz: b.rate_hz,
      seed: b.seed,
      ...conflictPolicy(b.on_conflict),
    };
  const refusal = scopeRefusal(c, 'admin', b.kind === 'import' ? 'an import of a file on the server' : 'a recompaction');
  if (refusal) return { error: refusal };
  if (b.kind === 'recompact') return { kind: 'recompact', sensors: b.sensors, from: b.from, to: b.to };
  const file = await resolveImportPath(importDir, b.path);
  if (!file.ok) return { error: apiError(400, file.code, file.message, 'path') };
  return {
    kind: 'import',
    format: b.format,
    path: file.path,
    precision: b.precision,
    upload: false,
    ...(b.mapping ? { mapping: b.mapping } : {}),
    ...conflictPolicy(b.on_conflict),
  };
}

/** Printable ASCII, as idempotency keys are in practice (a UUID, a job name). */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/**
 * The backfill id of an idempotency key: the same key names the same
 * workflow (`backfill:<id>`), so a retried request finds the backfill its
 * first attempt started instead of starting a second one. 16 hex digits (a
 * random id has 8), so that keys practically never collide.
 */
export function keyedId(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

/** What a keyed start compares with the backfill already holding the key: the request, uploads aside (their file is new each time). */
function fingerprint(req: BackfillRequest): string {
  return req.kind === 'import' && req.upload ? 'upload' : createHash('sha256').update(JSON.stringify(req)).digest('hex');
}

const accepted = (c: Context<ScopeEnv>, id: string) =>
  c.json({ id, workflow_id: backfillWorkflowId(id), status: `/v1/backfill/${id}` }, 202);

async function exists(client: Client, id: string): Promise<boolean> {
  try {
    await client.workflow.getHandle(backfillWorkflowId(id)).describe();
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

/**
 * Starts `backfill:<id>`. With an idempotency key the id is never reused,
 * not even once that backfill has ended (as long as Temporal keeps its
 * history): a repeat of the request is 'started' again, answered with the
 * same id, and nothing runs twice; another request under the same key is a
 * 'conflict'.
 */
async function startBackfill(client: Client, taskQueue: string, id: string, req: BackfillRequest, keyed: boolean) {
  const request = fingerprint(req);
  try {
    await client.workflow.start('backfillWorkflow', {
      taskQueue,
      workflowId: backfillWorkflowId(id),
      args: [id, req],
      ...(keyed ? { workflowIdReusePolicy: 'REJECT_DUPLICATE' as const, memo: { request } } : {}),
    });
    return 'started';
  } catch (err) {
    // No workflow will ever delete it.
    if (req.kind === 'import' && req.upload) await rm(req.path, { force: true });
    if (!keyed || !(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    const { memo } = await client.workflow.getHandle(backfillWorkflowId(id)).describe();
    return request === 'upload' || memo?.request === request ? 'started' : 'conflict';
  }
}

/** POST /v1/backfill starts a backfill workflow; GET /v1/backfill/:id reports its state and progress. */
export function backfillRoutes(deps: BackfillRouteDeps) {
  const schema = backfillBodySchema(deps.maxSensorId);

  async function toRequest(c: Context<ScopeEnv>, contentType: string): Promise<BackfillRequest | Refusal> {
    const uploadFormat = UPLOAD_TYPES[contentType];
    if (uploadFormat) return uploadRequest(c.req.raw, uploadFormat, c.req.query(), deps);
    if (contentType !== 'application/json') {
      return {
        error: apiError(
          415,
          'unsupported_media_type',
          'send JSON, or a file as text/csv (CSV) or text/plain (InfluxDB line protocol)',
          'content-type',
        ),
      };
    }
    return jsonRequest(c, schema, deps.importDir);
  }

  return new Hono()
    .post('/v1/backfill', needs('write'), async (c) => {
      const client = deps.client();
      const notConnected = apiError(503, 'temporal_unavailable', 'not connected to Temporal yet; retry shortly');
      const contentType = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
      const key = c.req.header('idempotency-key');
      if (key !== undefined && !IDEMPOTENCY_KEY.test(key))
        return sendError(
          c,
          apiError(400, 'invalid_idempotency_key', 'Idempotency-Key is 1 to 255 printable ASCII characters', 'idempotency-key'),
        );
      const id = key === undefined ? randomUUID().slice(0, 8) : keyedId(key);
      // An upload is not streamed in only to be refused; a JSON request gets its 400 or 403 first.
      if (!client && UPLOAD_TYPES[contentType]) return sendError(c, notConnected);
      // A retried upload is not streamed in again: its backfill exists.
      if (client && key !== undefined && UPLOAD_TYPES[contentType] && (await exists(client, id))) return accepted(c, id);
      const req = await toRequest(c, contentType);
      if ('error' in req) return sendError(c, req.error);
      if (!client) return sendError(c, notConnected);
      const outcome = await startBackfill(client, deps.taskQueue, id, req, key !== undefined);
      if (outcome === 'conflict')
        return sendError(
          c,
          apiError(409, 'idempotency_key_reused', `Idempotency-Key names backfill ${id}, started with another request`, 'idempotency-key'),
        );
      return accepted(c, id);
    })
    .get('/v1/backfill/:id', needs('read'), async (c) => {
      const client = deps.client();
      if (!client) return sendError(c, apiError(503, 'temporal_unavailable', 'not connected to Temporal yet; retry shortly'));
      const id = c.req.param('id');
      if (!/^[0-9a-f]{8}([0-9a-f]{8})?$/.test(id))
        return sendError(c, apiError(400, 'invalid_parameter', 'a backfill id is 8 or 16 hex digits', 'id'));
      const handle = client.workflow.getHandle(backfillWorkflowId(id));
      try {
        const description = await handle.describe();
        const progress = await handle.query(backfillProgressQuery);
        return c.json({ id, state: description.status.name.toLowerCase(), progress });
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return sendError(c, apiError(404, 'unknown_backfill', `no backfill ${id}`, 'id'));
        throw err;
      }
    });
}
