/**
 * JSON form of a sensor batch (format version 1), validated with zod.
 *
 *   regular:   {"v":1,"sensor":7,"start":1700000000000,"period_ms":1,"values":[1.5,2]}
 *   irregular: {"v":1,"sensor":7,"ts":[1700000000000,1700000000003],"values":[1.5,2],"quality":["good","bad"]}
 *
 * An HTTP body is one such object, an array of them, or {"batches":[...]}.
 * JSON numbers in `values` are doubles, kept as parsed (JSON.parse is exact
 * for the shortest round-trip form JSON.stringify writes). `quality` is
 * optional: one code per point, "good" | "uncertain" | "bad" or 0 | 1 | 2.
 * Errors use the same codes and rules as the binary decoder (validateBatch).
 */
import { z } from 'zod';
import { batchError, fail, prefixField } from './errors';
import { MAX_QUALITY, parseQuality } from '../model/quality';
import { DEFAULT_BATCH_LIMITS, type BatchError, type BatchLimits, type Decoded, type SensorBatch } from './types';
import { validateBatch } from './validate';

export const JSON_BATCH_VERSION = 1;

/** A regular batch as JSON. */
export const RegularBatchJson = z.strictObject({
  v: z.literal(JSON_BATCH_VERSION),
  sensor: z.number(),
  start: z.number(),
  period_ms: z.number(),
  values: z.array(z.number()),
  quality: z.optional(z.array(z.union([z.number(), z.string()]))),
});
export type RegularBatchJson = z.infer<typeof RegularBatchJson>;

/** An irregular batch as JSON. */
export const IrregularBatchJson = z.strictObject({
  v: z.literal(JSON_BATCH_VERSION),
  sensor: z.number(),
  ts: z.array(z.number()),
  values: z.array(z.number()),
  quality: z.optional(z.array(z.union([z.number(), z.string()]))),
});
export type IrregularBatchJson = z.infer<typeof IrregularBatchJson>;

export type BatchJson = RegularBatchJson | IrregularBatchJson;

/** The {"batches":[...]} envelope; elements are checked one by one. */
const Envelope = z.strictObject({ batches: z.array(z.unknown()) });

const REGULAR_KEYS = 'v, sensor, start, period_ms, values, quality';
const IRREGULAR_KEYS = 'v, sensor, ts, values, quality';

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** A short, human-readable rendering of an input value for error messages. */
export function describeValue(x: unknown): string {
  if (x === undefined) return 'nothing (field missing)';
  if (x === null) return 'null';
  if (Array.isArray(x)) return `an array of ${x.length}`;
  switch (typeof x) {
    case 'number':
      return Number.isNaN(x) ? 'NaN' : Object.is(x, -0) ? '-0' : String(x);
    case 'string': {
      const s = x.length > 40 ? `${x.slice(0, 40)}…` : x;
      return `string ${JSON.stringify(s)}`;
    }
    case 'boolean':
      return `boolean ${x}`;
    case 'object':
      return 'an object';
    default:
      return typeof x;
  }
}

function pathToField(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = root;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[seg];
  }
  return cur;
}

function article(expected: string): string {
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

/** Turn the first zod issue into a BatchError with a precise code, message and field. */
function issueToError(issue: z.core.$ZodIssue, input: unknown, keys: string): BatchError {
  const path = issue.path;
  const got = valueAt(input, path);
  const field = pathToField(path);

  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '';
    return batchError('invalid_json_batch', pathToField([...path, key]), `unexpected field "${key}"; expected only ${keys}`);
  }
  // values[i] that is null / NaN / ±Infinity: the non-finite-value policy, not a shape error.
  if (path.length === 2 && path[0] === 'values' && typeof path[1] === 'number') {
    if (got === null) {
      return batchError(
        'non_finite_value',
        field,
        'expected a finite number, got null (JSON has no NaN or Infinity; JSON.stringify writes them as null, and non-finite values are rejected)',
      );
    }
    if (typeof got === 'number' && !Number.isFinite(got)) {
      return batchError('non_finite_value', field, `expected a finite number, got ${describeValue(got)}`);
    }
  }
  if (issue.code === 'invalid_value' && field === 'v') {
    return batchError('invalid_json_batch', 'v', `expected "v": ${JSON_BATCH_VERSION} (format version), got ${describeValue(got)}`);
  }
  if (issue.code === 'invalid_type') {
    const expected = issue.expected === 'number' ? 'finite number' : issue.expected;
    return batchError('invalid_json_batch', field, `expected ${article(expected)}, got ${describeValue(got)}`);
  }
  return batchError('invalid_json_batch', field, `${issue.message} (got ${describeValue(got)})`);
}

/** Rename validateBatch fields to JSON field names (the JSON form has no count: it is values.length). */
function toJsonField(error: BatchError): BatchError {
  return error.field === 'count' ? { ...error, field: 'values' } : error;
}

/** Parse one batch object. Never throws. */
export function batchFromJson(input: unknown, limits: BatchLimits = DEFAULT_BATCH_LIMITS): Decoded<SensorBatch> {
  try {
    return parseOne(input, limits);
  } catch (e) {
    return fail('invalid_json_batch', '', `internal error: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function parseOne(input: unknown, limits: BatchLimits): Decoded<SensorBatch> {
  if (!isPlainObject(input)) {
    return fail('invalid_json_batch', '', `expected a batch object, got ${describeValue(input)}`);
  }
  // Version first: a future version may have a different shape.
  const v = input.v;
  if (typeof v === 'number' && v !== JSON_BATCH_VERSION) {
    return fail('unsupported_version', 'v', `expected format version ${JSON_BATCH_VERSION}, got ${describeValue(v)}`);
  }
  // The kind is implied by which timestamp fields are present.
  const hasTs = 'ts' in input;
  const hasRegular = 'start' in input || 'period_ms' in input;
  if (hasTs && hasRegular) {
    return fail('invalid_json_batch', 'ts', 'expected either "ts" (irregular batch) or "start" and "period_ms" (regular batch), got both');
  }
  if (!hasTs && !hasRegular) {
    return fail(
      'invalid_json_batch',
      'start',
      'expected either "ts" (irregular batch) or "start" and "period_ms" (regular batch), got neither',
    );
  }
  // Bound the work before zod walks the arrays.
  const max = limits.maxPoints;
  for (const key of ['values', 'ts'] as const) {
    const arr = input[key];
    if (Array.isArray(arr) && arr.length > max) {
      return fail('too_many_points', key, `expected at most ${max} points per batch, got ${arr.length}`);
    }
  }

  let batch: SensorBatch;
  if (hasTs) {
    const r = IrregularBatchJson.safeParse(input);
    if (!r.success) return { ok: false, error: issueToError(r.error.issues[0]!, input, IRREGULAR_KEYS) };
    const j = r.data;
    if (j.ts.length !== j.values.length) {
      return fail('count_mismatch', 'ts', `expected as many timestamps as values (${j.values.length}), got ${j.ts.length}`);
    }
    batch = { kind: 'irregular', sensor: j.sensor, timestamps: Float64Array.from(j.ts), values: Float64Array.from(j.values) };
  } else {
    const r = RegularBatchJson.safeParse(input);
    if (!r.success) return { ok: false, error: issueToError(r.error.issues[0]!, input, REGULAR_KEYS) };
    const j = r.data;
    batch = { kind: 'regular', sensor: j.sensor, start: j.start, periodMs: j.period_ms, values: Float64Array.from(j.values) };
  }
  const quality = qualityFromJson(input.quality, batch.values.length);
  if (quality && !quality.ok) return quality;
  if (quality) batch.quality = quality.value;

  const problem = validateBatch(batch, limits);
  if (problem) return { ok: false, error: toJsonField(problem) };
  return { ok: true, value: batch };
}

/** The optional quality array: names or codes, one per value; undefined when absent. */
function qualityFromJson(input: unknown, n: number): Decoded<Uint8Array> | undefined {
  if (input === undefined) return undefined;
  const list = input as (number | string)[];
  if (list.length !== n) return fail('invalid_quality', 'quality', `expected one quality per value (${n}), got ${list.length}`);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const q = list[i]!;
    const code = typeof q === 'number' ? (Number.isInteger(q) && q >= 0 && q <= MAX_QUALITY ? q : null) : parseQuality(q);
    if (code === null) {
      return fail('invalid_quality', `quality[${i}]`, `expected "good", "uncertain", "bad" or 0, 1, 2, got ${describeValue(q)}`);
    }
    out[i] = code;
  }
  return { ok: true, value: out };
}

/**
 * Parse an HTTP body: one batch object, an array of them, or {"batches":[...]}.
 * For the array and envelope forms fields are prefixed "batches[i]." ; for a
 * single object they are not. Never throws.
 */
export function batchesFromJson(input: unknown, limits: BatchLimits = DEFAULT_BATCH_LIMITS): Decoded<SensorBatch[]> {
  try {
    let list: unknown[];
    if (Array.isArray(input)) {
      list = input;
    } else if (isPlainObject(input) && 'batches' in input) {
      const r = Envelope.safeParse(input);
      if (!r.success) return { ok: false, error: issueToError(r.error.issues[0]!, input, 'batches') };
      list = r.data.batches;
    } else if (isPlainObject(input)) {
      const one = parseOne(input, limits);
      return one.ok ? { ok: true, value: [one.value] } : one;
    } else {
      return fail(
        'invalid_json_batch',
        '',
        `expected a batch object, an array of batch objects or {"batches":[...]}, got ${describeValue(input)}`,
      );
    }
    if (list.length === 0) return fail('empty_input', 'batches', 'expected at least one batch, got an empty list');
    const out: SensorBatch[] = [];
    for (let i = 0; i < list.length; i++) {
      const r = parseOne(list[i], limits);
      if (!r.ok) return { ok: false, error: prefixField(r.error, `batches[${i}]`) };
      out.push(r.value);
    }
    return { ok: true, value: out };
  } catch (e) {
    return fail('invalid_json_batch', '', `internal error: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/**
 * The JSON form of a batch. Values are the doubles themselves, so
 * JSON.stringify → JSON.parse → batchFromJson reproduces the same bits
 * (except that JSON text writes -0 as 0).
 */
export function batchToJson(batch: SensorBatch): BatchJson {
  const values = Array.from(batch.values);
  const quality = batch.quality ? { quality: Array.from(batch.quality) } : {};
  if (batch.kind === 'regular') {
    return { v: JSON_BATCH_VERSION, sensor: batch.sensor, start: batch.start, period_ms: batch.periodMs, values, ...quality };
  }
  return { v: JSON_BATCH_VERSION, sensor: batch.sensor, ts: Array.from(batch.timestamps), values, ...quality };
}
