/**
 * Reading version-1 binary frames (layout in frame.ts). Decoders never throw,
 * never allocate from a count they have not checked against the remaining
 * length, and run in time linear in the input length.
 *
 * A frame is decoded in steps, each returning an error or what the next one
 * needs: header (magic, version, kind, count against limits and length),
 * the irregular deltas' extent, the checksum (integrity before meaning), the
 * payload per batch kind, the shared rules (validate.ts), and for decodeBatch
 * nothing trailing.
 */
import { crc32 } from 'node:zlib';
import { type Failed, fail, prefixField } from './errors';
import {
  BATCH_MAGIC_BYTES,
  BATCH_VERSION,
  CRC_BYTES,
  IRREGULAR_HEADER_BYTES,
  IS_LITTLE_ENDIAN,
  KIND_IRREGULAR,
  KIND_REGULAR,
  MAX_VARINT_BYTES,
  REGULAR_HEADER_BYTES,
  TWO_32,
} from './frame';
import { DEFAULT_BATCH_LIMITS, type BatchLimits, type Decoded, type SensorBatch } from './types';
import { validateBatch } from './validate';

type FrameResult = { ok: true; value: SensorBatch; end: number } | Failed;

/** The fixed header of a frame, checked against the limits and the bytes that are there. */
interface FrameHeader {
  kind: number;
  headerBytes: number;
  sensor: number;
  /** Point count, >= 1 and small enough for the remaining bytes. */
  n: number;
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

function hex(b: number): string {
  return b.toString(16).padStart(2, '0');
}

/**
 * Decode the frame starting at `off`. Returns the batch and the offset just
 * past it. Error fields are relative to the frame.
 */
function decodeFrameAt(bytes: Uint8Array, dv: DataView, off: number, limits: BatchLimits): FrameResult {
  const header = readHeader(bytes, dv, off, limits);
  if (!header.ok) return header;
  const h = header.value;
  const deltasEnd = h.kind === KIND_IRREGULAR ? skipDeltas(bytes, off + h.headerBytes, h.n) : null;
  if (deltasEnd !== null && !deltasEnd.ok) return deltasEnd;
  const valuesOff = deltasEnd === null ? off + h.headerBytes : deltasEnd.value;
  const crcOff = valuesOff + 4 * h.n;

  const corrupt = checkCrc(bytes, dv, off, crcOff);
  if (corrupt) return corrupt;

  const values = copyValuesIn(bytes, dv, valuesOff, h.n);
  const batch = h.kind === KIND_REGULAR ? readRegular(dv, off, h, values) : readIrregular(bytes, dv, off, h, values);
  if (!batch.ok) return batch;
  const problem = validateBatch(batch.value, limits);
  if (problem) return { ok: false, error: problem };
  return { ok: true, value: batch.value, end: crcOff + CRC_BYTES };
}

/** Magic, version, kind (checked on whatever bytes exist, so garbage is named as such), then the header length. */
function checkPrefix(bytes: Uint8Array, off: number, rem: number): Failed | null {
  if (rem >= 1 && bytes[off] !== BATCH_MAGIC_BYTES[0]) {
    return fail(
      'bad_magic',
      'magic',
      `expected magic bytes 0x48 0x44 ("HD"), got 0x${hex(bytes[off]!)}${rem >= 2 ? ` 0x${hex(bytes[off + 1]!)}` : ''}`,
    );
  }
  if (rem >= 2 && bytes[off + 1] !== BATCH_MAGIC_BYTES[1]) {
    return fail('bad_magic', 'magic', `expected magic bytes 0x48 0x44 ("HD"), got 0x${hex(bytes[off]!)} 0x${hex(bytes[off + 1]!)}`);
  }
  if (rem >= 3 && bytes[off + 2] !== BATCH_VERSION) {
    return fail('unsupported_version', 'version', `expected format version ${BATCH_VERSION}, got ${bytes[off + 2]}`);
  }
  if (rem >= 4 && bytes[off + 3] !== KIND_REGULAR && bytes[off + 3] !== KIND_IRREGULAR) {
    return fail('unknown_kind', 'kind', `expected kind 0 (regular) or 1 (irregular), got ${bytes[off + 3]}`);
  }
  if (rem < 4) {
    return fail('truncated_frame', 'header', `expected a frame header of at least 20 bytes, but only ${rem} remain`);
  }
  return null;
}

function readHeader(bytes: Uint8Array, dv: DataView, off: number, limits: BatchLimits): Decoded<FrameHeader> {
  const rem = bytes.length - off;
  const bad = checkPrefix(bytes, off, rem);
  if (bad) return bad;
  const kind = bytes[off + 3]!;
  const headerBytes = kind === KIND_REGULAR ? REGULAR_HEADER_BYTES : IRREGULAR_HEADER_BYTES;
  if (rem < headerBytes) {
    return fail(
      'truncated_frame',
      'header',
      `expected a ${headerBytes}-byte ${kind === KIND_REGULAR ? 'regular' : 'irregular'} frame header, but only ${rem} bytes remain`,
    );
  }

  // count: bounded by the limits and by the bytes that are actually there, before anything is allocated
  const sensor = dv.getUint32(off + 4, true);
  const n = dv.getUint32(off + 8, true);
  if (n < 1) return fail('empty_batch', 'count', 'expected count >= 1, got 0');
  if (n > limits.maxPoints) {
    return fail('too_many_points', 'count', `expected count <= ${limits.maxPoints}, got ${n}`);
  }
  // Smallest body this count can have: 4 bytes per value, >= 1 byte per delta, CRC.
  const minFrame = headerBytes + (kind === KIND_IRREGULAR ? n - 1 : 0) + 4 * n + CRC_BYTES;
  if (rem < minFrame) {
    return fail(
      'count_mismatch',
      'count',
      `count = ${n} needs ${kind === KIND_IRREGULAR ? 'at least ' : ''}${minFrame} bytes for this frame, but only ${rem} remain (frame truncated or count corrupt)`,
    );
  }
  return { ok: true, value: { kind, headerBytes, sensor, n } };
}

/**
 * Irregular frames: find where the n−1 deltas starting at `p` end, i.e. where
 * the values start (structure only; values are checked after the CRC).
 */
function skipDeltas(bytes: Uint8Array, p: number, n: number): Decoded<number> {
  const limit = bytes.length;
  for (let i = 0; i < n - 1; i++) {
    let len = 0;
    for (;;) {
      if (p >= limit) {
        return fail('truncated_frame', `deltas[${i}]`, `input ends inside timestamp delta ${i}`);
      }
      len++;
      if ((bytes[p++]! & 0x80) === 0) break;
      if (len >= MAX_VARINT_BYTES) {
        return fail('varint_too_long', `deltas[${i}]`, `expected a varint of at most ${MAX_VARINT_BYTES} bytes, got a longer one`);
      }
    }
  }
  const valuesOff = p;
  if (limit - valuesOff < 4 * n + CRC_BYTES) {
    return fail(
      'count_mismatch',
      'count',
      `count = ${n} needs ${4 * n + CRC_BYTES} bytes of values and CRC after the deltas, but only ${limit - valuesOff} remain (frame truncated or count corrupt)`,
    );
  }
  return { ok: true, value: valuesOff };
}

/** Integrity before meaning: a corrupted frame is reported as such. */
function checkCrc(bytes: Uint8Array, dv: DataView, off: number, crcOff: number): Failed | null {
  const stored = dv.getUint32(crcOff, true);
  const actual = crc32(bytes.subarray(off, crcOff));
  if (stored !== actual) {
    return fail(
      'checksum_mismatch',
      'crc',
      `expected CRC-32 0x${actual.toString(16).padStart(8, '0')}, got 0x${stored.toString(16).padStart(8, '0')}`,
    );
  }
  return null;
}

function readRegular(dv: DataView, off: number, h: FrameHeader, values: Float32Array): Decoded<SensorBatch> {
  const start = readSafeI64(dv, off + 12);
  if (Number.isNaN(start)) {
    return fail('timestamp_out_of_range', 'start', `expected start within ±(2^53−1) ms, got ${readI64ForMessage(dv, off + 12)}`);
  }
  const periodMs = dv.getUint32(off + 20, true);
  return { ok: true, value: { kind: 'regular', sensor: h.sensor, start, periodMs, values } };
}

function readIrregular(bytes: Uint8Array, dv: DataView, off: number, h: FrameHeader, values: Float32Array): Decoded<SensorBatch> {
  const n = h.n;
  const first = readSafeI64(dv, off + 12);
  if (Number.isNaN(first)) {
    return fail('timestamp_out_of_range', 'ts[0]', `expected first_ts within ±(2^53−1) ms, got ${readI64ForMessage(dv, off + 12)}`);
  }
  const timestamps = new Float64Array(n);
  timestamps[0] = first;
  let p = off + h.headerBytes;
  let t = first;
  for (let i = 1; i < n; i++) {
    // Structure was checked by skipDeltas: the varint ends before the values and is <= 10 bytes.
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
        return fail('varint_not_minimal', `deltas[${i - 1}]`, `expected a minimal varint, got a ${len}-byte one ending in 0x00`);
      }
      if (delta > Number.MAX_SAFE_INTEGER) {
        return fail('varint_overflow', `deltas[${i - 1}]`, `expected a delta <= 2^53−1, got about ${delta}`);
      }
    }
    if (delta < 1) {
      return fail(
        'non_increasing_timestamps',
        `ts[${i}]`,
        `expected timestamps to strictly increase, but the delta from ts[${i - 1}] to ts[${i}] is 0`,
      );
    }
    t += delta;
    if (!Number.isSafeInteger(t)) {
      return fail('timestamp_out_of_range', `ts[${i}]`, `expected a timestamp within 2^53−1 ms, got about ${t}`);
    }
    timestamps[i] = t;
  }
  return { ok: true, value: { kind: 'irregular', sensor: h.sensor, timestamps, values } };
}

/** decodeBatch takes exactly one frame: anything after it is an error. */
function checkTrailing(bytes: Uint8Array, end: number): Failed | null {
  if (end === bytes.length) return null;
  return fail(
    'trailing_bytes',
    'trailing',
    `expected the input to end after the ${end}-byte frame, got ${bytes.length - end} more bytes (use decodeFrames for concatenated frames)`,
  );
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function isBytes(x: unknown): x is Uint8Array {
  return x instanceof Uint8Array;
}

/** Unreachable by design; a decoder must never throw on input. */
function internalError(e: unknown): Failed {
  return fail('invalid_batch', '', `internal decoder error: ${e instanceof Error ? e.message : String(e)}`);
}

/** Decode exactly one frame; bytes after it are an error (trailing_bytes). Never throws. */
export function decodeBatch(bytes: Uint8Array, limits: BatchLimits = DEFAULT_BATCH_LIMITS): Decoded<SensorBatch> {
  try {
    if (!isBytes(bytes)) return fail('invalid_batch', '', 'expected a Uint8Array');
    if (bytes.length === 0) return fail('empty_input', '', 'expected one batch frame, got 0 bytes');
    const r = decodeFrameAt(bytes, viewOf(bytes), 0, limits);
    if (!r.ok) return r;
    return checkTrailing(bytes, r.end) ?? { ok: true, value: r.value };
  } catch (e) {
    return internalError(e);
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
    return internalError(e);
  }
}
