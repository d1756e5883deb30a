import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { decodeFrames } from '../../lib/batch/decode';
import { encodeBatch } from '../../lib/batch/encode';
import { z } from 'zod';
import { batchesFromJson, IrregularBatchJson, RegularBatchJson } from '../../lib/batch/json';
import { limitsAt, type BatchLimits, type Decoded, type SensorBatch } from '../../lib/batch/types';
import { ON_CONFLICT_HEADER } from '../../lib/ingest/conflicts';
import type { BatchPublisher } from '../../lib/kafka/batch-publisher';
import { apiError, sendError } from '../errors';
import { needs } from '../middleware/scope';

export interface IngestRouteDeps {
  publisher: BatchPublisher;
  limits: BatchLimits;
  maxBodyBytes: number;
}

export const BINARY_TYPES = ['application/octet-stream', 'application/x-herodotus-batch'];

/**
 * The JSON body of POST /v1/ingest as its shapes: one batch, an array of
 * batches, or {"batches": [...]}. batchesFromJson checks each batch against
 * the same RegularBatchJson / IrregularBatchJson schemas (plus the limits and
 * rules of the binary decoder); exported for the OpenAPI document.
 */
export const ingestJsonBodySchema = (() => {
  const batch = z.union([
    RegularBatchJson.meta({ description: 'A regular batch: values at start, start + period_ms, …' }),
    IrregularBatchJson.meta({ description: 'An irregular batch: one timestamp (epoch ms) per value' }),
  ]);
  return z.union([batch, z.array(batch), z.strictObject({ batches: z.array(batch) })]);
})();

/**
 * `?on_conflict=replace`: points whose (sensor, ts) is stored with another
 * value replace it as corrections (default `keep`: the stored value stays,
 * the newcomer is dead-lettered as conflicting_value). It travels with each
 * record as the `on-conflict` header, for any body format.
 */
export const onConflictQuery = z.enum(['keep', 'replace']).default('keep');

const DISCARD_MAX_BYTES = 64 * 1024 * 1024;
const DISCARD_MAX_MS = 5000;

/**
 * Reads and drops what is left of a body answered early (413, 415), within
 * bounds: closing a socket with unread data resets it, and the client would
 * lose the answer. The answer then closes the connection, which cannot carry
 * another request.
 */
export async function discardBody(req: Request): Promise<void> {
  // A body the limit check was streaming through is locked to it: nothing to drain here.
  if (!req.body || req.body.locked) return;
  const reader = req.body.getReader();
  const deadline = Date.now() + DISCARD_MAX_MS;
  let bytes = 0;
  try {
    while (bytes < DISCARD_MAX_BYTES && Date.now() < deadline) {
      const { done, value } = await reader.read();
      if (done) return;
      bytes += value.byteLength;
    }
  } catch {
    // The body may already be consumed or the client gone: nothing to drain.
  } finally {
    reader.releaseLock();
  }
}

async function parseBody(contentType: string, req: Request, limits: BatchLimits): Promise<Decoded<SensorBatch[]>> {
  if (BINARY_TYPES.includes(contentType)) return decodeFrames(new Uint8Array(await req.arrayBuffer()), limits);
  let json: unknown;
  try {
    json = await req.json();
  } catch (err) {
    return { ok: false, error: { code: 'invalid_json', message: `body is not valid JSON: ${(err as Error).message}`, field: 'body' } };
  }
  return batchesFromJson(json, limits);
}

/** Answers 413 to a body above `maxBytes`, reading the rest of it first (see discardBody). */
export function limitBody(maxBytes: number) {
  return bodyLimit({
    maxSize: maxBytes,
    onError: async (c) => {
      await discardBody(c.req.raw);
      c.header('Connection', 'close');
      return sendError(
        c,
        apiError(413, 'body_too_large', `request body exceeds ${maxBytes} bytes; split it into several requests`, 'body'),
      );
    },
  });
}

/** POST /v1/ingest: validates batches and answers 202 once Kafka has them. */
export function ingestRoutes(deps: IngestRouteDeps) {
  return new Hono().post('/v1/ingest', needs('write'), limitBody(deps.maxBodyBytes), async (c) => {
    const contentType = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (contentType !== 'application/json' && !BINARY_TYPES.includes(contentType)) {
      await discardBody(c.req.raw);
      c.header('Connection', 'close');
      return sendError(
        c,
        apiError(
          415,
          'unsupported_media_type',
          `content-type must be application/json or ${BINARY_TYPES.join(' or ')}, got ${JSON.stringify(contentType)}`,
          'content-type',
        ),
      );
    }
    const onConflict = onConflictQuery.safeParse(c.req.query('on_conflict'));
    if (!onConflict.success) {
      await discardBody(c.req.raw);
      return sendError(c, apiError(400, 'invalid_parameter', 'on_conflict must be keep or replace', 'on_conflict'));
    }
    const headers = onConflict.data === 'replace' ? { headers: { [ON_CONFLICT_HEADER]: 'replace' } } : {};
    // Future timestamps are judged against the request's arrival.
    const parsed = await parseBody(contentType, c.req.raw, limitsAt(deps.limits, Date.now()));
    if (!parsed.ok) return sendError(c, apiError(400, parsed.error.code, parsed.error.message, parsed.error.field));
    const batches = parsed.value;
    const records = batches.map((b) => ({ key: String(b.sensor), value: encodeBatch(b, deps.limits), ...headers }));
    try {
      await deps.publisher.publish(records);
    } catch (err) {
      return sendError(
        c,
        apiError(503, 'kafka_unavailable', `could not hand the batches to Kafka: ${(err as Error).message}; retry later`),
      );
    }
    const points = batches.reduce((n, b) => n + b.values.length, 0);
    return c.json({ accepted: { batches: batches.length, points } }, 202);
  });
}
