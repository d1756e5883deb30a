/**
 * Binary encoding of one sensor batch, format version 1.
 *
 * Layout (all integers little-endian; see docs/batch-format.md for the full table):
 *
 *   off  size  field
 *   0    2     magic      0x48 0x44 ('H','D')
 *   2    1     version    1
 *   3    1     kind       0 = regular, 1 = irregular
 *   4    4     sensor     u32
 *   8    4     count      u32, number of points, >= 1
 *   regular:   12  8  start      i64 epoch ms
 *              20  4  period_ms  u32, >= 1
 *              24  4·count       f32 values
 *   irregular: 12  8  first_ts   i64 epoch ms
 *              20  …  (count−1) unsigned LEB128 deltas, each >= 1, minimal, <= 2^53−1
 *              …   4·count       f32 values
 *   trailer:   4      CRC-32 (zlib.crc32) of every byte of the frame before it
 *
 * Frames can be concatenated (decodeFrames). Decoders never throw, never
 * allocate from a count they have not checked against the remaining length,
 * and run in time linear in the input length.
 */
import { crc32 } from 'node:zlib';
import {
  DEFAULT_BATCH_LIMITS,
  type BatchError,
  type BatchLimits,
  type Decoded,
  type IrregularBatch,
  type RegularBatch,
  type SensorBatch,
} from './types';

/** The magic bytes 0x48 0x44 ('H','D') read as a little-endian u16. */
export const BATCH_MAGIC = 0x4448;
/** The magic as it appears on the wire, byte by byte. */
export const BATCH_MAGIC_BYTES: readonly [number, number] = [0x48, 0x44];
export const BATCH_VERSION = 1;

export const KIND_REGULAR = 0;
export const KIND_IRREGULAR = 1;

/** Bytes before the kind-specific part: magic, version, kind, sensor, count. */
export const COMMON_HEADER_BYTES = 12;
/** Fixed header of a regular frame: common header + start i64 + period_ms u32. */
export const REGULAR_HEADER_BYTES = 24;
/** Fixed header of an irregular frame: common header + first_ts i64. */
export const IRREGULAR_HEADER_BYTES = 20;
export const CRC_BYTES = 4;
/** Longest accepted LEB128 varint. */
export const MAX_VARINT_BYTES = 10;

const U32_MAX = 0xffff_ffff;
const TWO_32 = 0x1_0000_0000;

/** Every error code this module and json.ts can return. Stable: clients match on them. */
export const BATCH_ERROR_CODES = [
  // binary framing
  'empty_input',
  'bad_magic',
  'unsupported_version',
  'unknown_kind',
  'truncated_frame',
  'count_mismatch',
  'varint_too_long',
  'varint_overflow',
  'varint_not_minimal',
  'checksum_mismatch',
  'trailing_bytes',
  // shared validation
  'invalid_batch',
  'invalid_sensor',
  'empty_batch',
  'too_many_points',
  'invalid_timestamp',
  'timestamp_out_of_range',
  'invalid_period',
  'non_increasing_timestamps',
  'non_finite_value',
  // JSON only
  'invalid_json_batch',
] as const;
export type BatchErrorCode = (typeof BATCH_ERROR_CODES)[number];

function err(code: BatchErrorCode, field: string, message: string): BatchError {
  return { code, field, message };
}

function fail<T>(code: BatchErrorCode, field: string, message: string): Decoded<T> {
  return { ok: false, error: err(code, field, message) };
}

/** Prefix an error's field with a container path, e.g. "frames[3]" + "count". */
export function prefixField(error: BatchError, prefix: string): BatchError {
  if (prefix === '') return error;
  const field = error.field === '' ? prefix : error.field.startsWith('[') ? prefix + error.field : `${prefix}.${error.field}`;
  return { ...error, field };
}

const IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function fmtTs(ms: number): string {
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) return String(ms);
  return `${ms} (${new Date(ms).toISOString()})`;
}

// ---------------------------------------------------------------------------
// Validation (shared by the binary and JSON decoders and by encodeBatch)
// ---------------------------------------------------------------------------

/**
 * Check a batch against the format rules and `limits`. Returns the first
 * problem found, or null. Field names are the wire names: sensor, count,
 * start, period_ms, ts[i] (timestamp of point i, whatever the kind), values[i].
 */
export function validateBatch(batch: SensorBatch, limits: BatchLimits = DEFAULT_BATCH_LIMITS): BatchError | null {
  if (typeof batch !== 'object' || batch === null) {
    return err('invalid_batch', '', `expected a batch object, got ${batch === null ? 'null' : typeof batch}`);
  }
  const kind: unknown = (batch as { kind?: unknown }).kind;
  if (kind !== 'regular' && kind !== 'irregular') {
    return err('unknown_kind', 'kind', `expected kind "regular" or "irregular", got ${JSON.stringify(kind) ?? String(kind)}`);
  }
  const values: unknown = batch.values;
  if (!(values instanceof Float32Array)) {
    return err('invalid_batch', 'values', 'expected values to be a Float32Array');
  }

  const sensor: unknown = batch.sensor;
  const maxSensor = Math.min(limits.maxSensorId, U32_MAX);
  if (typeof sensor !== 'number' || !Number.isInteger(sensor) || sensor < 0 || sensor > maxSensor) {
    return err('invalid_sensor', 'sensor', `expected sensor to be an integer in [0, ${maxSensor}], got ${String(sensor)}`);
  }

  const n = values.length;
  if (n < 1) return err('empty_batch', 'count', 'expected at least 1 point, got 0');
  const maxPoints = Math.min(limits.maxPoints, U32_MAX);
  if (n > maxPoints) {
    return err('too_many_points', 'count', `expected at most ${maxPoints} points per batch, got ${n}`);
  }

  const { minTs, maxTs } = limits;
  const range = `[${fmtTs(minTs)}, ${fmtTs(maxTs)}]`;

  if (kind === 'regular') {
    const b = batch as RegularBatch;
    const start: unknown = b.start;
    if (typeof start !== 'number' || !Number.isInteger(start)) {
      return err('invalid_timestamp', 'start', `expected start to be an integer epoch-millisecond timestamp, got ${String(start)}`);
    }
    if (start < minTs || start > maxTs || !Number.isSafeInteger(start)) {
      return err('timestamp_out_of_range', 'start', `expected start in ${range}, got ${fmtTs(start)}`);
    }
    const period: unknown = b.periodMs;
    if (typeof period !== 'number' || !Number.isInteger(period) || period < 1 || period > U32_MAX) {
      return err('invalid_period', 'period_ms', `expected period_ms to be an integer in [1, ${U32_MAX}], got ${String(period)}`);
    }
    const last = start + (n - 1) * period;
    if (last > maxTs) {
      return err(
        'timestamp_out_of_range',
        `ts[${n - 1}]`,
        `expected every timestamp in ${range}, but the last one, start + (count−1)·period_ms = ${start} + ${n - 1}·${period}, is ${fmtTs(last)}`,
      );
    }
  } else {
    const b = batch as IrregularBatch;
    const ts: unknown = b.timestamps;
    if (!(ts instanceof Float64Array)) {
      return err('invalid_batch', 'ts', 'expected timestamps to be a Float64Array');
    }
    if (ts.length !== n) {
      return err('count_mismatch', 'ts', `expected as many timestamps as values (${n}), got ${ts.length}`);
    }
    let prev = -Infinity;
    for (let i = 0; i < n; i++) {
      const t = ts[i]!;
      if (!Number.isInteger(t)) {
        return err('invalid_timestamp', `ts[${i}]`, `expected an integer epoch-millisecond timestamp, got ${t}`);
      }
      if (t < minTs || t > maxTs || !Number.isSafeInteger(t)) {
        return err('timestamp_out_of_range', `ts[${i}]`, `expected a timestamp in ${range}, got ${fmtTs(t)}`);
      }
      if (t <= prev) {
        return err(
          'non_increasing_timestamps',
          `ts[${i}]`,
          `expected timestamps to strictly increase, but ts[${i}] = ${t} is not after ts[${i - 1}] = ${prev}`,
        );
      }
      prev = t;
    }
  }

  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    // v - v is 0 for every finite number and NaN for NaN and ±Infinity.
    if (v - v !== 0) {
      return err('non_finite_value', `values[${i}]`, `expected a finite value, got ${v}`);
    }
  }
  return null;
}

// ---------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------

function varintLength(v: number): number {
  let len = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    len++;
  }
  return len;
}

function writeVarint(buf: Uint8Array, off: number, v: number): number {
  if (v < 0x8000_0000) {
    // Fast path: bitwise ops are exact below 2^31.
    while (v >= 0x80) {
      buf[off++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
  } else {
    while (v >= 0x80) {
      buf[off++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
  }
  buf[off++] = v;
  return off;
}

function writeI64(dv: DataView, off: number, v: number): void {
  const hi = Math.floor(v / TWO_32);
  dv.setUint32(off, v - hi * TWO_32, true);
  dv.setInt32(off + 4, hi, true);
}

function copyValuesOut(values: Float32Array, buf: Buffer, dv: DataView, off: number): void {
  if (IS_LITTLE_ENDIAN) {
    buf.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), off);
  } else {
    for (let i = 0; i < values.length; i++) dv.setFloat32(off + 4 * i, values[i]!, true);
  }
}

/** Exact size in bytes of the frame encodeBatch would produce. */
export function encodedSize(batch: SensorBatch): number {
  const n = batch.values.length;
  if (batch.kind === 'regular') return REGULAR_HEADER_BYTES + 4 * n + CRC_BYTES;
  let deltaBytes = 0;
  const ts = batch.timestamps;
  for (let i = 1; i < n; i++) deltaBytes += varintLength(ts[i]! - ts[i - 1]!);
  return IRREGULAR_HEADER_BYTES + deltaBytes + 4 * n + CRC_BYTES;
}

/**
 * Encode one batch as a version-1 frame. Throws TypeError if the batch breaks
 * a validation rule (a programming error: the caller should have validated).
 * `limits` defaults to DEFAULT_BATCH_LIMITS, the same bounds decoders apply.
 */
export function encodeBatch(batch: SensorBatch, limits: BatchLimits = DEFAULT_BATCH_LIMITS): Buffer {
  const problem = validateBatch(batch, limits);
  if (problem) throw new TypeError(`encodeBatch: invalid batch: ${problem.code} at ${problem.field}: ${problem.message}`);

  const n = batch.values.length;
  const size = encodedSize(batch);
  const buf = Buffer.allocUnsafe(size);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  buf[0] = BATCH_MAGIC_BYTES[0];
  buf[1] = BATCH_MAGIC_BYTES[1];
  buf[2] = BATCH_VERSION;
  dv.setUint32(4, batch.sensor, true);
  dv.setUint32(8, n, true);
  let off: number;
  if (batch.kind === 'regular') {
    buf[3] = KIND_REGULAR;
    writeI64(dv, 12, batch.start);
    dv.setUint32(20, batch.periodMs, true);
    off = REGULAR_HEADER_BYTES;
  } else {
    buf[3] = KIND_IRREGULAR;
    const ts = batch.timestamps;
    writeI64(dv, 12, ts[0]!);
    off = IRREGULAR_HEADER_BYTES;
    for (let i = 1; i < n; i++) off = writeVarint(buf, off, ts[i]! - ts[i - 1]!);
  }
  copyValuesOut(batch.values, buf, dv, off);
  off += 4 * n;
  dv.setUint32(off, crc32(buf.subarray(0, off)), true);
  return buf;
}

/** Encode several batches back to back (an HTTP body decodeFrames accepts). */
export function encodeFrames(batches: readonly SensorBatch[], limits: BatchLimits = DEFAULT_BATCH_LIMITS): Buffer {
  return Buffer.concat(batches.map((b) => encodeBatch(b, limits)));
}

// ---------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------

type FrameResult = { ok: true; value: SensorBatch; end: number } | { ok: false; error: BatchError };

function frameFail(code: BatchErrorCode, field: string, message: string): FrameResult {
  return { ok: false, error: err(code, field, message) };
}

/** Read an i64 that must be a safe integer; NaN if it is not. */
function readSafeI64(dv: DataView, off: number): number {
  const lo = dv.getUint32(off, true);
  const hi = dv.getInt32(off + 4, true);
  if (hi < -0x20_0000 || hi >= 0x20_0000) return NaN;
  const v = hi * TWO_32 + lo; // exact: |v| < 2^53
  return Number.isSafeInteger(v) ? v : NaN;
}

function readI64ForMessage(dv: DataView, off: number): string {
  return dv.getBigInt64(off, true).toString();
}

function copyValuesIn(bytes: Uint8Array, dv: DataView, off: number, n: number): Float32Array {
  const values = new Float32Array(n);
  if (IS_LITTLE_ENDIAN) {
    // One memcpy into a fresh (hence aligned) buffer; no per-point work.
    new Uint8Array(values.buffer).set(bytes.subarray(off, off + 4 * n));
  } else {
    for (let i = 0; i < n; i++) values[i] = dv.getFloat32(off + 4 * i, true);
  }
  return values;
}

/**
 * Decode the frame starting at `off`. Returns the batch and the offset just
 * past it. Error fields are relative to the frame.
 */
function decodeFrameAt(bytes: Uint8Array, dv: DataView, off: number, limits: BatchLimits): FrameResult {
  const rem = bytes.length - off;

  // --- magic, version, kind (checked on whatever bytes exist, so garbage is named as such)
  if (rem >= 1 && bytes[off] !== BATCH_MAGIC_BYTES[0]) {
    return frameFail(
      'bad_magic',
      'magic',
      `expected magic bytes 0x48 0x44 ("HD"), got 0x${hex(bytes[off]!)}${rem >= 2 ? ` 0x${hex(bytes[off + 1]!)}` : ''}`,
    );
  }
  if (rem >= 2 && bytes[off + 1] !== BATCH_MAGIC_BYTES[1]) {
    return frameFail('bad_magic', 'magic', `expected magic bytes 0x48 0x44 ("HD"), got 0x${hex(bytes[off]!)} 0x${hex(bytes[off + 1]!)}`);
  }
  if (rem >= 3 && bytes[off + 2] !== BATCH_VERSION) {
    return frameFail('unsupported_version', 'version', `expected format version ${BATCH_VERSION}, got ${bytes[off + 2]}`);
  }
  if (rem >= 4 && bytes[off + 3] !== KIND_REGULAR && bytes[off + 3] !== KIND_IRREGULAR) {
    return frameFail('unknown_kind', 'kind', `expected kind 0 (regular) or 1 (irregular), got ${bytes[off + 3]}`);
  }
  const kind = bytes[off + 3]!;
  const headerBytes = kind === KIND_REGULAR ? REGULAR_HEADER_BYTES : IRREGULAR_HEADER_BYTES;
  if (rem < 4) {
    return frameFail('truncated_frame', 'header', `expected a frame header of at least 20 bytes, but only ${rem} remain`);
  }
  if (rem < headerBytes) {
    return frameFail(
      'truncated_frame',
      'header',
      `expected a ${headerBytes}-byte ${kind === KIND_REGULAR ? 'regular' : 'irregular'} frame header, but only ${rem} bytes remain`,
    );
  }

  // --- count: bounded by the limits and by the bytes that are actually there, before anything is allocated
  const sensor = dv.getUint32(off + 4, true);
  const n = dv.getUint32(off + 8, true);
  if (n < 1) return frameFail('empty_batch', 'count', 'expected count >= 1, got 0');
  if (n > limits.maxPoints) {
    return frameFail('too_many_points', 'count', `expected count <= ${limits.maxPoints}, got ${n}`);
  }
  // Smallest body this count can have: 4 bytes per value, >= 1 byte per delta, CRC.
  const minFrame = headerBytes + (kind === KIND_IRREGULAR ? n - 1 : 0) + 4 * n + CRC_BYTES;
  if (rem < minFrame) {
    return frameFail(
      'count_mismatch',
      'count',
      `count = ${n} needs ${kind === KIND_IRREGULAR ? 'at least ' : ''}${minFrame} bytes for this frame, but only ${rem} remain (frame truncated or count corrupt)`,
    );
  }

  // --- irregular: find where the deltas end (structure only; values are checked after the CRC)
  let valuesOff = off + headerBytes;
  if (kind === KIND_IRREGULAR) {
    let p = valuesOff;
    const limit = bytes.length;
    for (let i = 0; i < n - 1; i++) {
      let len = 0;
      for (;;) {
        if (p >= limit) {
          return frameFail('truncated_frame', `deltas[${i}]`, `input ends inside timestamp delta ${i}`);
        }
        len++;
        if ((bytes[p++]! & 0x80) === 0) break;
        if (len >= MAX_VARINT_BYTES) {
          return frameFail('varint_too_long', `deltas[${i}]`, `expected a varint of at most ${MAX_VARINT_BYTES} bytes, got a longer one`);
        }
      }
    }
    valuesOff = p;
    if (limit - valuesOff < 4 * n + CRC_BYTES) {
      return frameFail(
        'count_mismatch',
        'count',
        `count = ${n} needs ${4 * n + CRC_BYTES} bytes of values and CRC after the deltas, but only ${limit - valuesOff} remain (frame truncated or count corrupt)`,
      );
    }
  }
  const crcOff = valuesOff + 4 * n;
  const end = crcOff + CRC_BYTES;

  // --- integrity before meaning: a corrupted frame is reported as such
  const stored = dv.getUint32(crcOff, true);
  const actual = crc32(bytes.subarray(off, crcOff));
  if (stored !== actual) {
    return frameFail(
      'checksum_mismatch',
      'crc',
      `expected CRC-32 0x${actual.toString(16).padStart(8, '0')}, got 0x${stored.toString(16).padStart(8, '0')}`,
    );
  }

  // --- content
  const values = copyValuesIn(bytes, dv, valuesOff, n);
  let batch: SensorBatch;
  if (kind === KIND_REGULAR) {
    const start = readSafeI64(dv, off + 12);
    if (Number.isNaN(start)) {
      return frameFail('timestamp_out_of_range', 'start', `expected start within ±(2^53−1) ms, got ${readI64ForMessage(dv, off + 12)}`);
    }
    const periodMs = dv.getUint32(off + 20, true);
    batch = { kind: 'regular', sensor, start, periodMs, values };
  } else {
    const first = readSafeI64(dv, off + 12);
    if (Number.isNaN(first)) {
      return frameFail('timestamp_out_of_range', 'ts[0]', `expected first_ts within ±(2^53−1) ms, got ${readI64ForMessage(dv, off + 12)}`);
    }
    const timestamps = new Float64Array(n);
    timestamps[0] = first;
    let p = off + headerBytes;
    let t = first;
    for (let i = 1; i < n; i++) {
      // Structure was checked above: the varint ends before valuesOff and is <= 10 bytes.
      let b = bytes[p++]!;
      let delta: number;
      if (b < 0x80) {
        delta = b;
      } else {
        delta = b & 0x7f;
        let scale = 128;
        let len = 1;
        do {
          b = bytes[p++]!;
          delta += (b & 0x7f) * scale;
          scale *= 128;
          len++;
        } while (b >= 0x80);
        if (b === 0) {
          return frameFail('varint_not_minimal', `deltas[${i - 1}]`, `expected a minimal varint, got a ${len}-byte one ending in 0x00`);
        }
        if (delta > Number.MAX_SAFE_INTEGER) {
          return frameFail('varint_overflow', `deltas[${i - 1}]`, `expected a delta <= 2^53−1, got about ${delta}`);
        }
      }
      if (delta < 1) {
        return frameFail(
          'non_increasing_timestamps',
          `ts[${i}]`,
          `expected timestamps to strictly increase, but the delta from ts[${i - 1}] to ts[${i}] is 0`,
        );
      }
      t += delta;
      if (!Number.isSafeInteger(t)) {
        return frameFail('timestamp_out_of_range', `ts[${i}]`, `expected a timestamp within 2^53−1 ms, got about ${t}`);
      }
      timestamps[i] = t;
    }
    batch = { kind: 'irregular', sensor, timestamps, values };
  }

  const problem = validateBatch(batch, limits);
  if (problem) return { ok: false, error: problem };
  return { ok: true, value: batch, end };
}

function hex(b: number): string {
  return b.toString(16).padStart(2, '0');
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function isBytes(x: unknown): x is Uint8Array {
  return x instanceof Uint8Array;
}

/** Decode exactly one frame; bytes after it are an error (trailing_bytes). Never throws. */
export function decodeBatch(bytes: Uint8Array, limits: BatchLimits = DEFAULT_BATCH_LIMITS): Decoded<SensorBatch> {
  try {
    if (!isBytes(bytes)) return fail('invalid_batch', '', 'expected a Uint8Array');
    if (bytes.length === 0) return fail('empty_input', '', 'expected one batch frame, got 0 bytes');
    const r = decodeFrameAt(bytes, viewOf(bytes), 0, limits);
    if (!r.ok) return r;
    if (r.end !== bytes.length) {
      return fail(
        'trailing_bytes',
        'trailing',
        `expected the input to end after the ${r.end}-byte frame, got ${bytes.length - r.end} more bytes (use decodeFrames for concatenated frames)`,
      );
    }
    return { ok: true, value: r.value };
  } catch (e) {
    // Unreachable by design; a decoder must never throw on input.
    return fail('invalid_batch', '', `internal decoder error: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/**
 * Decode one or more concatenated frames. On error, field names the frame,
 * e.g. "frames[3].count". Never throws.
 */
export function decodeFrames(bytes: Uint8Array, limits: BatchLimits = DEFAULT_BATCH_LIMITS): Decoded<SensorBatch[]> {
  try {
    if (!isBytes(bytes)) return fail('invalid_batch', '', 'expected a Uint8Array');
    if (bytes.length === 0) return fail('empty_input', '', 'expected at least one batch frame, got 0 bytes');
    const dv = viewOf(bytes);
    const out: SensorBatch[] = [];
    let off = 0;
    // Every successful frame consumes >= 28 bytes, so this runs < length/28 times.
    while (off < bytes.length) {
      const r = decodeFrameAt(bytes, dv, off, limits);
      if (!r.ok) return { ok: false, error: prefixField(r.error, `frames[${out.length}]`) };
      out.push(r.value);
      off = r.end;
    }
    return { ok: true, value: out };
  } catch (e) {
    return fail('invalid_batch', '', `internal decoder error: ${e instanceof Error ? e.message : String(e)}`);
  }
}
