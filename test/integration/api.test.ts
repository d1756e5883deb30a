// The HTTP API against the real stack (Kafka broker, Temporal dev server and a
// Herodotus child process with embedded ClickHouse): every validation error of
// POST /v1/ingest with its status, code and field; the body limit; accepted
// data stored exactly once with the right checksum; rejected requests storing
// nothing; and the 503 answers while Kafka is down.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeBatch } from '../../lib/batch/decode';
import { encodeBatch, encodeFrames } from '../../lib/batch/encode';
import { BATCH_ERROR_CODES } from '../../lib/batch/errors';
import { DEFAULT_BATCH_LIMITS, timestampAt, type SensorBatch } from '../../lib/batch/types';
import type { SensorAudit } from '../../lib/clickhouse/raw';
import { createLogger } from '../../lib/log/logger';
import { waitFor } from '../../harness/stack/child';
import { Harness } from '../../harness/stack/harness';
import { SensorChecksum } from '../../lib/model/checksum';

/** Small enough that a 413 costs nothing, large enough for a JSON body of MAX_POINTS + 1 zeros. */
const MAX_BODY_BYTES = 256 * 1024;
const { minTs: MIN_TS, maxTs: MAX_TS, maxPoints: MAX_POINTS } = DEFAULT_BATCH_LIMITS;
/** HERODOTUS_MAX_SENSOR_ID is left at its default. */
const MAX_SENSOR = 999_999;
const T0 = Date.UTC(2026, 0, 1);

const JSON_TYPE = 'application/json';
const BINARY_TYPE = 'application/octet-stream';
const HERODOTUS_TYPE = 'application/x-herodotus-batch';

let harness: Harness | undefined;
let stateDir = '';

beforeAll(async () => {
  stateDir = path.join(os.tmpdir(), `herodotus-api-test-${process.pid}-${randomUUID()}`);
  harness = await Harness.start({
    stateDir,
    fresh: true,
    freePorts: true,
    env: {
      HERODOTUS_MAX_BODY_BYTES: String(MAX_BODY_BYTES),
      // Far enough that the format's own bounds (2000 to 2100) stay testable at their edges;
      // future timestamps are tested in poison.test.ts.
      HERODOTUS_MAX_FUTURE_SKEW_MS: String(MAX_TS - MIN_TS),
    },
    log: createLogger('api-test', process.env.LOG_LEVEL ?? 'warn'),
  });
  expect(harness.config.limits).toMatchObject({ maxSensorId: MAX_SENSOR, maxBodyBytes: MAX_BODY_BYTES });
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

// ------------------------------------------------------------------ HTTP ---

interface ApiResponse {
  status: number;
  contentType: string | null;
  text: string;
  /** The parsed JSON body, or undefined if the body is not JSON. */
  body: unknown;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

async function call(method: string, route: string, init: RequestInit = {}): Promise<ApiResponse> {
  const res = await fetch(`${h().api.baseUrl}${route}`, { method, signal: AbortSignal.timeout(180_000), ...init });
  const text = await res.text();
  return { status: res.status, contentType: res.headers.get('content-type'), text, body: parseJson(text) };
}

/**
 * POST /v1/ingest on a connection of its own that is closed afterwards, with a
 * content-length or chunked. For bodies the server answers (413) before it has
 * read them: on a kept-alive connection the server drops the socket about
 * 500 ms after such an answer, and the next request sent on it fails ("other
 * side closed"), so these requests must not go through fetch's shared pool.
 */
function postOnOwnConnection(body: string | Uint8Array, contentType: string, opts: { chunked?: boolean } = {}): Promise<ApiResponse> {
  const url = new URL('/v1/ingest', h().api.baseUrl);
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  const headers: http.OutgoingHttpHeaders = { 'content-type': contentType, connection: 'close' };
  if (!opts.chunked) headers['content-length'] = bytes.length;
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, method: 'POST', path: url.pathname, agent: false, headers, timeout: 120_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'] ?? null, text, body: parseJson(text) });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer within 120 s')));
    req.on('error', reject); // a no-op once the answer is in
    for (let off = 0; off < bytes.length; off += 64 * 1024) req.write(bytes.subarray(off, off + 64 * 1024));
    req.end();
  });
}

/** POST /v1/ingest; no content-type header at all when `contentType` is null. */
function post(body: string | Uint8Array, contentType: string | null): Promise<ApiResponse> {
  return call('POST', '/v1/ingest', { body, headers: contentType === null ? {} : { 'content-type': contentType } });
}

const postJson = (value: unknown) => post(JSON.stringify(value), JSON_TYPE);
const postBinary = (bytes: Uint8Array, contentType = BINARY_TYPE) => post(bytes, contentType);

/**
 * The error shape of api/errors.ts: exactly {error: {code, message, field}},
 * where `field` is absent when the error concerns no field (or the whole body).
 */
function expectError(res: ApiResponse, status: number, code: string, field: string | undefined): void {
  expect({ status: res.status, body: res.body ?? res.text }).toEqual({
    status,
    body: { error: { code, message: expect.stringMatching(/\S/), ...(field === undefined ? {} : { field }) } },
  });
  expect(res.contentType).toMatch(/^application\/json\b/);
}

function expectAccepted(res: ApiResponse, batches: number, points: number): void {
  expect({ status: res.status, body: res.body ?? res.text }).toEqual({ status: 202, body: { accepted: { batches, points } } });
}

// ----------------------------------------------------------- Kafka, audit ---

/** Records in the batches topic: a request that reaches Kafka raises it. */
async function kafkaRecords(): Promise<number> {
  const status = await h().api.ingestStatus();
  expect(status.partitions.length).toBe(h().config.kafka.partitions);
  return status.partitions.reduce((n, p) => n + p.high, 0);
}

async function audit(): Promise<SensorAudit[]> {
  return h().api.audit();
}

async function auditOf(sensors: number[]): Promise<SensorAudit[]> {
  const wanted = new Set(sensors);
  return (await audit()).filter((a) => wanted.has(a.sensor));
}

interface Point {
  sensor: number;
  ts: number;
  value: number;
}

function pointsOfBatch(b: SensorBatch): Point[] {
  return Array.from(b.values, (value, i) => ({ sensor: b.sensor, ts: timestampAt(b, i), value }));
}

/** Points of a JSON batch as the client meant them (doubles, stored bit for bit). */
function pointsOfJson(j: JsonBatch): Point[] {
  return j.values.map((value, i) => ({
    sensor: j.sensor,
    ts: 'ts' in j ? j.ts[i]! : j.start + i * j.period_ms,
    value,
  }));
}

/**
 * What /v1/audit must show for these points: per sensor, each (sensor, ts)
 * once (the first one sent wins, as in ingest), with lib/model/checksum.ts's checksum.
 */
function expectedAudit(points: Point[]): SensorAudit[] {
  const bySensor = new Map<number, Map<number, number>>();
  for (const p of points) {
    let m = bySensor.get(p.sensor);
    if (!m) bySensor.set(p.sensor, (m = new Map()));
    if (!m.has(p.ts)) m.set(p.ts, p.value);
  }
  return [...bySensor.keys()]
    .sort((a, b) => a - b)
    .map((sensor) => {
      const sum = new SensorChecksum();
      for (const [ts, value] of bySensor.get(sensor)!) sum.add(ts, value);
      return { sensor, points: sum.points, distinct_points: sum.points, checksum: sum.checksum };
    });
}

function sensorsOf(points: Point[]): number[] {
  return [...new Set(points.map((p) => p.sensor))];
}

// --------------------------------------------------------------- batches ---

type JsonBatch =
  | { v: 1; sensor: number; start: number; period_ms: number; values: number[] }
  | { v: 1; sensor: number; ts: number[]; values: number[] };

const regular = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  v: 1,
  sensor: 11,
  start: T0,
  period_ms: 1000,
  values: [1, 2, 3],
  ...over,
});
const irregular = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  v: 1,
  sensor: 12,
  ts: [T0, T0 + 1, T0 + 5],
  values: [1, 2, 3],
  ...over,
});
function without(obj: Record<string, unknown>, key: string): Record<string, unknown> {
  const copy = { ...obj };
  delete copy[key];
  return copy;
}

interface RawFrame {
  magic?: readonly [number, number];
  version?: number;
  kind?: number;
  sensor?: number;
  /** Defaults to values.length. */
  count?: number;
  /** start (regular) or first_ts (irregular), as an i64. */
  start?: bigint;
  periodMs?: number;
  /** Irregular: the raw delta bytes; default one 0x01 per delta. */
  deltaBytes?: number[];
  values?: number[];
  /** XOR the correct CRC with this. */
  crcXor?: number;
}

/** A frame built byte by byte, without encodeBatch's validation, with a correct CRC unless told otherwise. */
function rawFrame(f: RawFrame = {}): Buffer {
  const kind = f.kind ?? 0;
  const values = f.values ?? [1.5, 2, 3];
  const head = Buffer.alloc(kind === 1 ? 20 : 24);
  const [m0, m1] = f.magic ?? [0x48, 0x44];
  head[0] = m0;
  head[1] = m1;
  head[2] = f.version ?? 1;
  head[3] = kind;
  head.writeUInt32LE(f.sensor ?? 21, 4);
  head.writeUInt32LE(f.count ?? values.length, 8);
  head.writeBigInt64LE(f.start ?? BigInt(T0), 12);
  if (kind !== 1) head.writeUInt32LE(f.periodMs ?? 1, 20);
  const deltas = Buffer.from(kind === 1 ? (f.deltaBytes ?? values.slice(1).map(() => 1)) : []);
  const vals = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => {
    vals.writeFloatLE(v, 4 * i);
  });
  const body = Buffer.concat([head, deltas, vals]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32LE((crc32(body) ^ (f.crcXor ?? 0)) >>> 0, 0);
  return Buffer.concat([body, crc]);
}

/** The 20-byte header of an irregular frame with this count, and nothing after it. */
function irregularHeader(count: number): Buffer {
  return rawFrame({ kind: 1, values: [], count }).subarray(0, 20);
}

function withByte(buf: Buffer, offset: number, value: number): Buffer {
  const copy = Buffer.from(buf);
  copy[offset] = value;
  return copy;
}

function flipBit(buf: Buffer, bit: number): Buffer {
  const copy = Buffer.from(buf);
  copy[bit >> 3]! ^= 1 << (bit & 7);
  return copy;
}

/** A deterministic pseudo-random signal using all 53 bits of a double's mantissa. */
function signal(n: number, seed: number): Float64Array {
  let x = seed >>> 0 || 1;
  return Float64Array.from({ length: n }, () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return ((x >>> 0) / 0x1_0000_0000 - 0.5) * 2000;
  });
}

// ========================================================================

/** Sensors that appear only in rejected requests; none of them may ever be stored. */
const REJECTED_SENSORS = [11, 12, 13, 21, 22, 23, 31, 32, 33, 34, 41, 42, 43, 44];

describe('rejected requests', () => {
  let recordsBefore = 0;

  beforeAll(async () => {
    recordsBefore = await kafkaRecords();
  });

  describe('JSON batches: status 400, code and field', () => {
    interface Case {
      name: string;
      body: unknown;
      code: string;
      field: string | undefined;
    }
    const tooMany = Array.from({ length: MAX_POINTS + 1 }, () => 0);
    const cases: Case[] = [
      // v
      { name: 'regular: v missing', body: without(regular(), 'v'), code: 'invalid_json_batch', field: 'v' },
      { name: 'irregular: v missing', body: without(irregular(), 'v'), code: 'invalid_json_batch', field: 'v' },
      { name: 'v is a string', body: regular({ v: '1' }), code: 'invalid_json_batch', field: 'v' },
      { name: 'v is null', body: irregular({ v: null }), code: 'invalid_json_batch', field: 'v' },
      { name: 'v is 2', body: regular({ v: 2 }), code: 'unsupported_version', field: 'v' },
      { name: 'v is 0', body: irregular({ v: 0 }), code: 'unsupported_version', field: 'v' },
      // sensor
      { name: 'regular: sensor missing', body: without(regular(), 'sensor'), code: 'invalid_json_batch', field: 'sensor' },
      { name: 'irregular: sensor missing', body: without(irregular(), 'sensor'), code: 'invalid_json_batch', field: 'sensor' },
      { name: 'sensor negative', body: regular({ sensor: -1 }), code: 'invalid_sensor', field: 'sensor' },
      { name: 'sensor fractional', body: irregular({ sensor: 7.5 }), code: 'invalid_sensor', field: 'sensor' },
      { name: 'sensor max + 1', body: regular({ sensor: MAX_SENSOR + 1 }), code: 'invalid_sensor', field: 'sensor' },
      { name: 'sensor 2^32', body: irregular({ sensor: 2 ** 32 }), code: 'invalid_sensor', field: 'sensor' },
      { name: 'sensor a string', body: regular({ sensor: '7' }), code: 'invalid_json_batch', field: 'sensor' },
      { name: 'sensor null', body: irregular({ sensor: null }), code: 'invalid_json_batch', field: 'sensor' },
      // start
      { name: 'start missing (period_ms given)', body: without(regular(), 'start'), code: 'invalid_json_batch', field: 'start' },
      { name: 'period_ms missing (start given)', body: without(regular(), 'period_ms'), code: 'invalid_json_batch', field: 'period_ms' },
      { name: 'start before 2000', body: regular({ start: MIN_TS - 1 }), code: 'timestamp_out_of_range', field: 'start' },
      { name: 'start after 2100', body: regular({ start: MAX_TS + 1 }), code: 'timestamp_out_of_range', field: 'start' },
      { name: 'start 1e20', body: regular({ start: 1e20 }), code: 'timestamp_out_of_range', field: 'start' },
      { name: 'start in seconds', body: regular({ start: T0 / 1000 }), code: 'timestamp_out_of_range', field: 'start' },
      { name: 'start fractional', body: regular({ start: T0 + 0.5 }), code: 'invalid_timestamp', field: 'start' },
      { name: 'start a string', body: regular({ start: new Date(T0).toISOString() }), code: 'invalid_json_batch', field: 'start' },
      {
        name: 'last regular timestamp after 2100',
        body: regular({ start: MAX_TS - 1000, period_ms: 1000, values: [1, 2, 3] }),
        code: 'timestamp_out_of_range',
        field: 'ts[2]',
      },
      // period_ms
      { name: 'period_ms 0', body: regular({ period_ms: 0 }), code: 'invalid_period', field: 'period_ms' },
      { name: 'period_ms negative', body: regular({ period_ms: -1000 }), code: 'invalid_period', field: 'period_ms' },
      { name: 'period_ms fractional', body: regular({ period_ms: 0.5 }), code: 'invalid_period', field: 'period_ms' },
      { name: 'period_ms 2^32', body: regular({ period_ms: 2 ** 32, values: [1] }), code: 'invalid_period', field: 'period_ms' },
      { name: 'period_ms a string', body: regular({ period_ms: '1000' }), code: 'invalid_json_batch', field: 'period_ms' },
      // values
      { name: 'regular: values missing', body: without(regular(), 'values'), code: 'invalid_json_batch', field: 'values' },
      { name: 'irregular: values missing', body: without(irregular(), 'values'), code: 'invalid_json_batch', field: 'values' },
      { name: 'values not an array', body: regular({ values: 1 }), code: 'invalid_json_batch', field: 'values' },
      { name: 'regular: values empty', body: regular({ values: [] }), code: 'empty_batch', field: 'values' },
      { name: 'irregular: values and ts empty', body: irregular({ ts: [], values: [] }), code: 'empty_batch', field: 'values' },
      { name: 'regular: values too many', body: regular({ period_ms: 1, values: tooMany }), code: 'too_many_points', field: 'values' },
      { name: 'irregular: ts too many', body: irregular({ ts: tooMany, values: [1] }), code: 'too_many_points', field: 'ts' },
      { name: 'a value is a string', body: regular({ values: [1, '2', 3] }), code: 'invalid_json_batch', field: 'values[1]' },
      { name: 'a value is a boolean', body: irregular({ values: [1, 2, true] }), code: 'invalid_json_batch', field: 'values[2]' },
      { name: 'a value is an array', body: regular({ values: [[1], 2, 3] }), code: 'invalid_json_batch', field: 'values[0]' },
      { name: 'a value is null', body: regular({ values: [1, 2, null] }), code: 'non_finite_value', field: 'values[2]' },
      { name: 'irregular: a value is null', body: irregular({ values: [null, 2, 3] }), code: 'non_finite_value', field: 'values[0]' },
      // ts
      { name: 'ts repeats a timestamp', body: irregular({ ts: [T0, T0, T0 + 1] }), code: 'non_increasing_timestamps', field: 'ts[1]' },
      { name: 'ts decreases', body: irregular({ ts: [T0, T0 + 5, T0 + 4] }), code: 'non_increasing_timestamps', field: 'ts[2]' },
      { name: 'ts before 2000', body: irregular({ ts: [MIN_TS - 1, T0, T0 + 1] }), code: 'timestamp_out_of_range', field: 'ts[0]' },
      { name: 'ts after 2100', body: irregular({ ts: [T0, T0 + 1, MAX_TS + 1] }), code: 'timestamp_out_of_range', field: 'ts[2]' },
      { name: 'ts fractional', body: irregular({ ts: [T0, T0 + 1.5, T0 + 2] }), code: 'invalid_timestamp', field: 'ts[1]' },
      { name: 'ts a string element', body: irregular({ ts: [T0, String(T0 + 1), T0 + 2] }), code: 'invalid_json_batch', field: 'ts[1]' },
      { name: 'ts not an array', body: irregular({ ts: T0 }), code: 'invalid_json_batch', field: 'ts' },
      { name: 'ts shorter than values', body: irregular({ ts: [T0, T0 + 1] }), code: 'count_mismatch', field: 'ts' },
      { name: 'ts longer than values', body: irregular({ ts: [T0, T0 + 1, T0 + 2, T0 + 3] }), code: 'count_mismatch', field: 'ts' },
      // keys
      { name: 'regular: unknown key', body: regular({ period: 5 }), code: 'invalid_json_batch', field: 'period' },
      { name: 'irregular: unknown key', body: irregular({ unit: 'V' }), code: 'invalid_json_batch', field: 'unit' },
      { name: 'kind given explicitly', body: regular({ kind: 'regular' }), code: 'invalid_json_batch', field: 'kind' },
      { name: 'both start and ts', body: irregular({ start: T0 }), code: 'invalid_json_batch', field: 'ts' },
      { name: 'both period_ms and ts', body: irregular({ period_ms: 1 }), code: 'invalid_json_batch', field: 'ts' },
      { name: 'neither start nor ts', body: { v: 1, sensor: 11, values: [1] }, code: 'invalid_json_batch', field: 'start' },
      // bodies
      { name: 'body is a number', body: 42, code: 'invalid_json_batch', field: undefined },
      { name: 'body is null', body: null, code: 'invalid_json_batch', field: undefined },
      { name: 'body is a string', body: 'batch', code: 'invalid_json_batch', field: undefined },
      { name: 'body is an empty array', body: [], code: 'empty_input', field: 'batches' },
      { name: 'body is {batches: []}', body: { batches: [] }, code: 'empty_input', field: 'batches' },
      { name: '{batches} not an array', body: { batches: regular() }, code: 'invalid_json_batch', field: 'batches' },
      {
        name: '{batches} with another key',
        body: { batches: [regular()], source: 'x' },
        code: 'invalid_json_batch',
        field: 'source',
      },
      // the 3rd batch of several is wrong: the field names it
      {
        name: 'array: 3rd batch has a negative sensor',
        body: [regular(), irregular(), regular({ sensor: -1 })],
        code: 'invalid_sensor',
        field: 'batches[2].sensor',
      },
      {
        name: 'array: 3rd batch has a null value',
        body: [regular(), irregular(), irregular({ sensor: 13, values: [1, null, 3] })],
        code: 'non_finite_value',
        field: 'batches[2].values[1]',
      },
      {
        name: 'array: 3rd batch is not an object',
        body: [regular(), irregular(), 7],
        code: 'invalid_json_batch',
        field: 'batches[2]',
      },
      {
        name: 'array: 3rd batch has v 2',
        body: [regular(), irregular(), regular({ v: 2 })],
        code: 'unsupported_version',
        field: 'batches[2].v',
      },
      {
        name: '{batches}: 3rd batch has non-increasing ts',
        body: { batches: [regular(), irregular(), irregular({ sensor: 13, ts: [T0, T0 + 2, T0 + 2] })] },
        code: 'non_increasing_timestamps',
        field: 'batches[2].ts[2]',
      },
      {
        name: '{batches}: 3rd batch has an unknown key',
        body: { batches: [regular(), irregular(), regular({ sensor: 13, period: 1 })] },
        code: 'invalid_json_batch',
        field: 'batches[2].period',
      },
      {
        name: '{batches}: 3rd batch has both start and ts',
        body: { batches: [regular(), irregular(), irregular({ sensor: 13, start: T0 })] },
        code: 'invalid_json_batch',
        field: 'batches[2].ts',
      },
      {
        name: '{batches}: 3rd batch has too many values',
        body: { batches: [regular(), irregular(), regular({ sensor: 13, period_ms: 1, values: tooMany })] },
        code: 'too_many_points',
        field: 'batches[2].values',
      },
      {
        name: '{batches}: 3rd batch lacks values',
        body: { batches: [regular(), irregular(), without(irregular({ sensor: 13 }), 'values')] },
        code: 'invalid_json_batch',
        field: 'batches[2].values',
      },
    ];

    it.each(cases)('$name → $code at $field', async ({ body, code, field }) => {
      expect(BATCH_ERROR_CODES).toContain(code);
      expectError(await postJson(body), 400, code, field);
    });

    it('invalid JSON text → 400 invalid_json at body', async () => {
      expectError(await post('{"v":1,"sensor":11,', JSON_TYPE), 400, 'invalid_json', 'body');
      expectError(await post('{v:1,sensor:11,start:1,period_ms:1,values:[1]}', JSON_TYPE), 400, 'invalid_json', 'body');
      expectError(await post('[1,2,]', JSON_TYPE), 400, 'invalid_json', 'body');
      expectError(await post('{"v":1} trailing', JSON_TYPE), 400, 'invalid_json', 'body');
      expectError(await post('', JSON_TYPE), 400, 'invalid_json', 'body');
    });

    it('the content-type is matched without parameters and case-insensitively', async () => {
      expectError(await post(JSON.stringify(regular({ sensor: -1 })), 'application/json; charset=utf-8'), 400, 'invalid_sensor', 'sensor');
      expectError(await post(JSON.stringify(regular({ sensor: -1 })), 'Application/JSON'), 400, 'invalid_sensor', 'sensor');
      expectError(await post(rawFrame({ magic: [0x00, 0x44] }), HERODOTUS_TYPE), 400, 'bad_magic', 'frames[0].magic');
    });

    it('a wrong or missing content-type → 415 unsupported_media_type at content-type', async () => {
      const valid = JSON.stringify(regular());
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/jsonl', 'multipart/form-data; boundary=x']) {
        expectError(await post(valid, type), 415, 'unsupported_media_type', 'content-type');
      }
      expectError(await post(Buffer.from(valid), null), 415, 'unsupported_media_type', 'content-type');
      expectError(
        await post(
          encodeBatch({ kind: 'regular', sensor: 22, start: T0, periodMs: 1, values: Float64Array.of(1) }),
          'application/x-protobuf',
        ),
        415,
        'unsupported_media_type',
        'content-type',
      );
    });
  });

  describe('binary batches: status 400, code and field', () => {
    const valid = encodeBatch({ kind: 'regular', sensor: 21, start: T0, periodMs: 1, values: Float64Array.of(1.5, 2, 3) });
    const validIrregular = encodeBatch({
      kind: 'irregular',
      sensor: 22,
      timestamps: Float64Array.of(T0, T0 + 3, T0 + 300),
      values: Float64Array.of(1.5, 2, -0.25),
    });

    it('the hand-built version-1 frames decode to the batches encodeBatch writes as version 2', () => {
      expect(decodeBatch(rawFrame())).toEqual(decodeBatch(valid));
      expect(decodeBatch(rawFrame({ kind: 1, sensor: 22, deltaBytes: [0x03, 0xa9, 0x02], values: [1.5, 2, -0.25] }))).toEqual(
        decodeBatch(validIrregular),
      );
    });

    interface Case {
      name: string;
      body: Uint8Array;
      code: string;
      field: string | undefined;
    }
    const cases: Case[] = [
      { name: 'empty body', body: new Uint8Array(0), code: 'empty_input', field: undefined },
      // framing
      { name: 'bad magic (1st byte)', body: withByte(valid, 0, 0x47), code: 'bad_magic', field: 'frames[0].magic' },
      { name: 'bad magic (2nd byte)', body: withByte(valid, 1, 0x45), code: 'bad_magic', field: 'frames[0].magic' },
      { name: 'JSON sent as binary', body: Buffer.from(JSON.stringify(regular())), code: 'bad_magic', field: 'frames[0].magic' },
      { name: 'version 3', body: withByte(valid, 2, 3), code: 'unsupported_version', field: 'frames[0].version' },
      { name: 'version 0', body: withByte(validIrregular, 2, 0), code: 'unsupported_version', field: 'frames[0].version' },
      { name: 'kind 2', body: withByte(valid, 3, 2), code: 'unknown_kind', field: 'frames[0].kind' },
      { name: 'kind 255', body: withByte(validIrregular, 3, 255), code: 'unknown_kind', field: 'frames[0].kind' },
      { name: 'truncated to 3 bytes', body: valid.subarray(0, 3), code: 'truncated_frame', field: 'frames[0].header' },
      { name: 'truncated in the regular header', body: valid.subarray(0, 23), code: 'truncated_frame', field: 'frames[0].header' },
      {
        name: 'truncated in the irregular header',
        body: validIrregular.subarray(0, 19),
        code: 'truncated_frame',
        field: 'frames[0].header',
      },
      { name: 'truncated in the values', body: valid.subarray(0, valid.length - 5), code: 'count_mismatch', field: 'frames[0].count' },
      { name: 'truncated in the CRC', body: valid.subarray(0, valid.length - 1), code: 'count_mismatch', field: 'frames[0].count' },
      {
        name: 'truncated inside a delta varint',
        // count 3 needs >= 38 bytes: 18 after the header, all of them deltas here (9 bytes + 9 unfinished)
        body: Buffer.concat([irregularHeader(3), Buffer.from([...Array(8).fill(0x80), 0x01, ...Array(9).fill(0x80)])]),
        code: 'truncated_frame',
        field: 'frames[0].deltas[1]',
      },
      {
        name: 'delta varint longer than 10 bytes',
        body: Buffer.concat([irregularHeader(3), Buffer.from(Array(18).fill(0x80))]),
        code: 'varint_too_long',
        field: 'frames[0].deltas[0]',
      },
      {
        name: 'delta varint not minimal',
        body: rawFrame({ kind: 1, deltaBytes: [0x81, 0x00, 0x01], values: [1, 2, 3] }),
        code: 'varint_not_minimal',
        field: 'frames[0].deltas[0]',
      },
      // integrity
      { name: 'CRC mismatch (a value bit flipped)', body: flipBit(valid, 8 * 30 + 3), code: 'checksum_mismatch', field: 'frames[0].crc' },
      {
        name: 'CRC mismatch (a sensor bit flipped)',
        body: flipBit(validIrregular, 8 * 4 + 1),
        code: 'checksum_mismatch',
        field: 'frames[0].crc',
      },
      { name: 'CRC mismatch (the CRC itself)', body: rawFrame({ crcXor: 0x8000_0000 }), code: 'checksum_mismatch', field: 'frames[0].crc' },
      // content, behind a correct CRC
      { name: 'count 0', body: rawFrame({ values: [] }), code: 'empty_batch', field: 'frames[0].count' },
      { name: 'count max + 1', body: rawFrame({ count: MAX_POINTS + 1 }), code: 'too_many_points', field: 'frames[0].count' },
      { name: 'count larger than the bytes', body: rawFrame({ count: 4 }), code: 'count_mismatch', field: 'frames[0].count' },
      { name: 'sensor max + 1', body: rawFrame({ sensor: MAX_SENSOR + 1 }), code: 'invalid_sensor', field: 'frames[0].sensor' },
      {
        name: 'sensor 2^31 - 1 (between numbered and named ids)',
        body: rawFrame({ sensor: 2 ** 31 - 1 }),
        code: 'invalid_sensor',
        field: 'frames[0].sensor',
      },
      { name: 'period_ms 0', body: rawFrame({ periodMs: 0 }), code: 'invalid_period', field: 'frames[0].period_ms' },
      {
        name: 'start before 2000',
        body: rawFrame({ start: BigInt(MIN_TS - 1) }),
        code: 'timestamp_out_of_range',
        field: 'frames[0].start',
      },
      { name: 'start negative', body: rawFrame({ start: -1n }), code: 'timestamp_out_of_range', field: 'frames[0].start' },
      { name: 'start beyond 2^53', body: rawFrame({ start: 2n ** 60n }), code: 'timestamp_out_of_range', field: 'frames[0].start' },
      {
        name: 'last regular timestamp after 2100',
        body: rawFrame({ start: BigInt(MAX_TS - 1) }),
        code: 'timestamp_out_of_range',
        field: 'frames[0].ts[2]',
      },
      {
        name: 'irregular first_ts after 2100',
        body: rawFrame({ kind: 1, start: BigInt(MAX_TS + 1) }),
        code: 'timestamp_out_of_range',
        field: 'frames[0].ts[0]',
      },
      {
        name: 'irregular zero delta',
        body: rawFrame({ kind: 1, deltaBytes: [0x01, 0x00] }),
        code: 'non_increasing_timestamps',
        field: 'frames[0].ts[2]',
      },
      { name: 'NaN value', body: rawFrame({ values: [1, NaN, 3] }), code: 'non_finite_value', field: 'frames[0].values[1]' },
      {
        name: '-Infinity value',
        body: rawFrame({ kind: 1, values: [1, 2, -Infinity] }),
        code: 'non_finite_value',
        field: 'frames[0].values[2]',
      },
      // trailing bytes after a valid frame are read as the start of another frame
      { name: 'one trailing zero byte', body: Buffer.concat([valid, Buffer.of(0)]), code: 'bad_magic', field: 'frames[1].magic' },
      {
        name: 'trailing "HD\\x01"',
        body: Buffer.concat([valid, Buffer.of(0x48, 0x44, 0x01)]),
        code: 'truncated_frame',
        field: 'frames[1].header',
      },
      {
        name: 'trailing newline',
        body: Buffer.concat([valid, validIrregular, Buffer.from('\n')]),
        code: 'bad_magic',
        field: 'frames[2].magic',
      },
      // several frames, the 2nd one bad: the field names it
      {
        name: '2nd frame: bad magic',
        body: Buffer.concat([valid, withByte(validIrregular, 0, 0), valid]),
        code: 'bad_magic',
        field: 'frames[1].magic',
      },
      {
        name: '2nd frame: CRC mismatch',
        body: Buffer.concat([valid, flipBit(validIrregular, 8 * 25), valid]),
        code: 'checksum_mismatch',
        field: 'frames[1].crc',
      },
      {
        name: '2nd frame: version 3',
        body: Buffer.concat([validIrregular, withByte(valid, 2, 3)]),
        code: 'unsupported_version',
        field: 'frames[1].version',
      },
      {
        name: '2nd frame: invalid sensor',
        body: Buffer.concat([valid, rawFrame({ sensor: MAX_SENSOR + 1 }), validIrregular]),
        code: 'invalid_sensor',
        field: 'frames[1].sensor',
      },
      {
        name: '2nd frame: NaN value',
        body: Buffer.concat([valid, rawFrame({ kind: 1, values: [NaN, 1, 2] })]),
        code: 'non_finite_value',
        field: 'frames[1].values[0]',
      },
      {
        name: '2nd frame: truncated',
        body: Buffer.concat([validIrregular, valid.subarray(0, 40)]),
        code: 'count_mismatch',
        field: 'frames[1].count',
      },
    ];

    it.each(cases)('$name → $code at $field', async ({ body, code, field }) => {
      expect(BATCH_ERROR_CODES).toContain(code);
      expectError(await postBinary(body), 400, code, field);
    });

    it('application/x-herodotus-batch is decoded the same way', async () => {
      expectError(
        await postBinary(Buffer.concat([valid, flipBit(validIrregular, 8 * 25)]), HERODOTUS_TYPE),
        400,
        'checksum_mismatch',
        'frames[1].crc',
      );
    });
  });

  describe('body limit: 413 body_too_large at body', () => {
    it('a JSON body one byte over the limit (valid but for its size)', async () => {
      const json = JSON.stringify(regular({ sensor: 31 }));
      const body = json + ' '.repeat(MAX_BODY_BYTES + 1 - json.length);
      expect(Buffer.byteLength(body)).toBe(MAX_BODY_BYTES + 1);
      expectError(await postOnOwnConnection(body, JSON_TYPE), 413, 'body_too_large', 'body');
    });

    it('a binary body over the limit (valid frames but for their size), both binary content types', async () => {
      const big = encodeFrames([
        { kind: 'regular', sensor: 32, start: T0, periodMs: 1, values: signal(40_000, 1) },
        { kind: 'regular', sensor: 32, start: T0 + 40_000, periodMs: 1, values: signal(40_000, 2) },
      ]);
      expect(big.length).toBeGreaterThan(MAX_BODY_BYTES);
      expectError(await postOnOwnConnection(big, BINARY_TYPE), 413, 'body_too_large', 'body');
      expectError(await postOnOwnConnection(big, HERODOTUS_TYPE), 413, 'body_too_large', 'body');
    });

    it('a body far over the limit (4 MiB)', async () => {
      const frame = encodeBatch({ kind: 'regular', sensor: 33, start: T0, periodMs: 1, values: signal(MAX_POINTS, 3) });
      const huge = Buffer.concat(Array.from({ length: 11 }, () => frame));
      expect(huge.length).toBeGreaterThan(4 * 1024 * 1024);
      expectError(await postOnOwnConnection(huge, BINARY_TYPE), 413, 'body_too_large', 'body');
    });

    it('chunked bodies (no content-length) over the limit, both content types', async () => {
      const json = JSON.stringify(regular({ sensor: 34 }));
      const body = json + ' '.repeat(MAX_BODY_BYTES + 1 - json.length);
      expectError(await postOnOwnConnection(body, JSON_TYPE, { chunked: true }), 413, 'body_too_large', 'body');
      const frames = encodeFrames([{ kind: 'regular', sensor: 34, start: T0, periodMs: 1, values: signal(70_000, 7) }]);
      expectError(await postOnOwnConnection(frames, BINARY_TYPE, { chunked: true }), 413, 'body_too_large', 'body');
    });

    it('a body of exactly the limit is not too large (it is read and validated)', async () => {
      const json = JSON.stringify(regular({ sensor: MAX_SENSOR + 1 }));
      const body = json + ' '.repeat(MAX_BODY_BYTES - json.length);
      expect(Buffer.byteLength(body)).toBe(MAX_BODY_BYTES);
      expectError(await postOnOwnConnection(body, JSON_TYPE), 400, 'invalid_sensor', 'sensor');
      expectError(await postOnOwnConnection(body, JSON_TYPE, { chunked: true }), 400, 'invalid_sensor', 'sensor');
    });
  });

  describe('one invalid batch rejects the whole body', () => {
    let before: SensorAudit[] = [];

    beforeAll(async () => {
      await h().waitCaughtUp();
      before = await audit();
    });

    it('JSON: three valid batches and an invalid 4th → 400, nothing of it stored', async () => {
      const records = await kafkaRecords();
      const body = {
        batches: [
          regular({ sensor: 41 }),
          irregular({ sensor: 42 }),
          regular({ sensor: 41, start: T0 + 3000 }),
          irregular({ sensor: 43, ts: [T0, T0 + 1, T0 + 1] }),
        ],
      };
      expectError(await postJson(body), 400, 'non_increasing_timestamps', 'batches[3].ts[2]');
      expect(await kafkaRecords()).toBe(records);
      await h().waitCaughtUp();
      expect(await audit()).toEqual(before);
    });

    it('binary: two valid frames and a corrupt 3rd → 400, nothing of it stored', async () => {
      const records = await kafkaRecords();
      const good = encodeFrames([
        { kind: 'regular', sensor: 43, start: T0, periodMs: 10, values: signal(100, 4) },
        { kind: 'irregular', sensor: 44, timestamps: Float64Array.of(T0, T0 + 7), values: Float64Array.of(1, 2) },
      ]);
      const bad = flipBit(encodeBatch({ kind: 'regular', sensor: 44, start: T0 + 100, periodMs: 1, values: Float64Array.of(3) }), 8 * 26);
      expectError(await postBinary(Buffer.concat([good, bad])), 400, 'checksum_mismatch', 'frames[2].crc');
      expect(await kafkaRecords()).toBe(records);
      await h().waitCaughtUp();
      expect(await audit()).toEqual(before);
    });
  });

  it('none of the rejected requests reached Kafka or storage', async () => {
    expect(await kafkaRecords()).toBe(recordsBefore);
    await h().waitCaughtUp();
    expect(await auditOf(REJECTED_SENSORS)).toEqual([]);
  });
});

describe('accepted data', () => {
  const jsonBatches: JsonBatch[] = [
    // Doubles kept bit for bit: 0.1, 0.1 + 0.2, 2^53 + 2, a totalizer, subnormals, the largest finite magnitudes
    {
      v: 1,
      sensor: 101,
      start: T0,
      period_ms: 250,
      values: [0.1, 0.30000000000000004, 9007199254740994, 123456.789, 5e-324, 1.7976931348623157e308, 0],
    },
    { v: 1, sensor: 102, ts: [T0, T0 + 1, T0 + 86_400_000], values: [1.5, -0.245, 1e-310] },
    { v: 1, sensor: 101, start: T0 + 1500, period_ms: 1, values: [7, 8] },
    // the first and the last timestamp allowed (in batches of their own: see the 5-days-apart test at the end)
    { v: 1, sensor: 102, ts: [MIN_TS, MIN_TS + 1], values: [-3.4028234663852886e38, 42] },
    { v: 1, sensor: 102, start: MAX_TS - 1, period_ms: 1, values: [-1, 1] },
  ];
  const binaryBatches: SensorBatch[] = [
    { kind: 'regular', sensor: 201, start: T0, periodMs: 1, values: signal(5000, 5) },
    // -0 and 0 are different points for the checksum: storage must keep the sign
    // deltas of 1, 127, 16 384 and 2 097 152 ms: 1- to 4-byte varints
    {
      kind: 'irregular',
      sensor: 202,
      timestamps: Float64Array.of(T0, T0 + 1, T0 + 128, T0 + 16_512, T0 + 2_113_664),
      values: Float64Array.of(-0, 0, 1.25, -7, 1e30),
    },
    { kind: 'regular', sensor: 201, start: T0 + 5000, periodMs: 1, values: signal(3000, 6) },
  ];
  // The largest sensor id, and a last timestamp of exactly 2100-01-01.
  const edgeBatch: SensorBatch = {
    kind: 'regular',
    sensor: MAX_SENSOR,
    start: MAX_TS - 20,
    periodMs: 10,
    values: Float64Array.of(1, 2, 3),
  };

  const jsonPoints = jsonBatches.flatMap(pointsOfJson);
  const binaryPoints = [...binaryBatches, edgeBatch].flatMap(pointsOfBatch);
  const allPoints = [...jsonPoints, ...binaryPoints];
  const sensors = sensorsOf(allPoints);

  it('a valid JSON body → 202 with the accepted counts', async () => {
    expectAccepted(await postJson(jsonBatches), 5, 7 + 3 + 2 + 2 + 2);
  });

  it('a valid binary body → 202 with the accepted counts', async () => {
    expectAccepted(await postBinary(encodeFrames(binaryBatches)), 3, 5000 + 5 + 3000);
    expectAccepted(await postBinary(encodeBatch(edgeBatch), HERODOTUS_TYPE), 1, 3);
  });

  it('after catching up, the audit shows exactly those points with the expected checksums', async () => {
    await h().waitCaughtUp();
    const expected = expectedAudit(allPoints);
    expect(expected.map((a) => a.points)).toEqual([8, 7, 8000, 5, 3]); // sanity: the expectation itself
    expect(await auditOf(sensors)).toEqual(expected);
  });

  it('posting the same bodies again changes nothing (deduplicated)', async () => {
    const records = await kafkaRecords();
    expectAccepted(await postJson(jsonBatches), 5, 16);
    expectAccepted(await postBinary(encodeFrames(binaryBatches)), 3, 8005);
    expectAccepted(await postBinary(encodeBatch(edgeBatch), HERODOTUS_TYPE), 1, 3);
    // one JSON batch sent as binary and vice versa: same points, same content key
    const asBinary = encodeBatch({ kind: 'regular', sensor: 101, start: T0 + 1500, periodMs: 1, values: Float64Array.of(7, 8) });
    expectAccepted(await postBinary(asBinary), 1, 2);
    expect(await kafkaRecords()).toBe(records + 5 + 3 + 1 + 1);
    await h().waitCaughtUp();
    expect(await auditOf(sensors)).toEqual(expectedAudit(allPoints));
  });

  it('a re-sent timestamp with another value keeps the first value', async () => {
    expectAccepted(await postJson({ v: 1, sensor: 101, start: T0, period_ms: 250, values: [9, 9, 9, 9, 9, 9] }), 1, 6);
    await h().waitCaughtUp();
    expect(await auditOf(sensors)).toEqual(expectedAudit(allPoints));
  });

  it('the same batch twice in one body is stored once; new points next to stored ones are stored', async () => {
    const once: JsonBatch = { v: 1, sensor: 103, ts: [T0, T0 + 10, T0 + 20], values: [1, 2, 3] };
    expectAccepted(await postJson([once, once]), 2, 6);
    // overlaps the stored points of sensor 101 in part: only the new ones are added
    const overlap: JsonBatch = { v: 1, sensor: 101, start: T0 + 1000, period_ms: 250, values: [100, 101, 102, 103] };
    expectAccepted(await postJson(overlap), 1, 4);
    await h().waitCaughtUp();
    const expected = expectedAudit([...allPoints, ...pointsOfJson(once), ...pointsOfJson(overlap)]);
    expect(expected.find((a) => a.sensor === 101)?.points).toBe(8 + 1); // T0+1000, +1250 and +1500 are stored already
    expect(await auditOf([...sensors, 103])).toEqual(expected);
  });
});

describe('Kafka down', () => {
  const batch: JsonBatch = { v: 1, sensor: 301, start: T0, period_ms: 100, values: [1, 2, 3, 4, 5] };

  it('POST /v1/ingest → 503 kafka_unavailable, /v1/health → 503 naming kafka; after a restart the retry is stored once', {
    timeout: 600_000,
  }, async () => {
    const hx = h();
    await hx.waitCaughtUp();
    const records = await kafkaRecords();
    const before = await audit();

    await hx.infra.stopKafka();

    const t0 = Date.now();
    expectError(await postJson(batch), 503, 'kafka_unavailable', undefined);
    const postMs = Date.now() - t0;
    expect(postMs).toBeLessThan(120_000);

    // The health probe has a 2 s timeout; poll a little in case the first answer races the shutdown.
    let health: ApiResponse | undefined;
    await waitFor(async () => (health = await call('GET', '/v1/health')).status === 503, {
      what: 'health 503',
      timeoutMs: 60_000,
      intervalMs: 500,
    });
    expect(health!.body).toMatchObject({ status: 'unavailable', components: { kafka: { state: 'down', detail: expect.any(String) } } });

    expectError(await call('GET', '/v1/ingest/status'), 503, 'kafka_unavailable', undefined);

    await hx.infra.startKafka();
    await waitFor(async () => (await call('GET', '/v1/health')).status === 200, {
      what: 'health 200 after Kafka restart',
      timeoutMs: 180_000,
      intervalMs: 500,
    });
    expect((await call('GET', '/v1/health')).body).toMatchObject({ status: 'ok', components: { kafka: { state: 'ready' } } });

    // The refused request left nothing in Kafka, and nothing was stored meanwhile.
    expect(await kafkaRecords()).toBe(records);
    expectAccepted(await postJson(batch), 1, 5);
    expect(await kafkaRecords()).toBe(records + 1);

    await hx.waitCaughtUp();
    const after = await audit();
    expect(after.filter((a) => a.sensor !== 301)).toEqual(before);
    expect(after.filter((a) => a.sensor === 301)).toEqual(expectedAudit(pointsOfJson(batch)));
    console.log(`Kafka down: POST answered 503 after ${postMs} ms`);
  });
});

describe('routes', () => {
  it('an unknown route → 404 not_found as JSON', async () => {
    expectError(await call('GET', '/v1/nope'), 404, 'not_found', undefined);
    expectError(await call('GET', '/no-such-page'), 404, 'not_found', undefined);
    expectError(
      await call('POST', '/v1/ingest/extra', { body: '{}', headers: { 'content-type': JSON_TYPE } }),
      404,
      'not_found',
      undefined,
    );
  });

  it('GET on the ingest route → 404 not_found as JSON', async () => {
    expectError(await call('GET', '/v1/ingest'), 404, 'not_found', undefined);
  });
});

// Production bugs these tests found, reproduced here; enable each once it is fixed.
describe('known production bugs', () => {
  // touchedUnits() in lib/ingest/store-points.ts marks every 1-minute window between
  // a batch's first and last timestamp in the ledger, and recordStage()
  // (lib/clickhouse/ledger.ts) inlines them all in one INSERT ... ARRAY JOIN [...]
  // query: past ~4 days the query exceeds ClickHouse's max_query_size (256 KiB),
  // the chunk fails on every retry and the partition never catches up.
  it('a valid batch whose two points are 5 days apart is stored', { timeout: 180_000 }, async () => {
    const batch: JsonBatch = { v: 1, sensor: 601, ts: [T0, T0 + 5 * 86_400_000], values: [1, 2] };
    expectAccepted(await postJson(batch), 1, 2);
    await h().waitCaughtUp(120_000);
    expect(await auditOf([601])).toEqual(expectedAudit(pointsOfJson(batch)));
  });

  // A 413 (or 415) is sent with "Connection: keep-alive" before the body is read;
  // @hono/node-server then drains the body for at most 500 ms and destroys the
  // socket, so the client's next request on that connection fails.
  it('the request after a 413 on the same keep-alive connection is answered', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const url = new URL('/v1/ingest', h().api.baseUrl);
    const send = (body: Buffer) =>
      new Promise<number>((resolve, reject) => {
        const req = http.request(
          {
            host: url.hostname,
            port: url.port,
            method: 'POST',
            path: url.pathname,
            agent,
            headers: { 'content-type': BINARY_TYPE, 'content-length': body.length },
          },
          (res) => res.resume().on('end', () => resolve(res.statusCode ?? 0)),
        );
        req.on('error', reject);
        req.end(body);
      });
    try {
      for (let i = 0; i < 3; i++) {
        expect(await send(Buffer.alloc(MAX_BODY_BYTES + 50_000, 0x48))).toBe(413);
        expect(await send(Buffer.of(0))).toBe(400);
      }
    } finally {
      agent.destroy();
    }
  });
});
