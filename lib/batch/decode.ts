/**
 * Reading binary frames, versions 1 and 2 (layouts in frame.ts). Decoders
 * never throw, never allocate from a count they have not checked against the
 * remaining length, and run in time linear in the input length.
 *
 * A frame is decoded in steps, each returning an error or what the next one
 * needs: header (magic, version, kind, flags, count against limits and
 * length), the irregular deltas' extent, the checksum (integrity before
 * meaning), the payload per batch kind, the shared rules (validate.ts), and
 * for decodeBatch nothing trailing.
 */
import { crc32 } from 'node:zlib';
import { type Failed, fail, prefixField } from './errors';
import {
  BATCH_MAGIC_BYTES,
  BATCH_VERSION,
  CRC_BYTES,
  FLAG_QUALITY,
  type FrameLayout,
  IS_LITTLE_ENDIAN,
  KIND_IRREGULAR,
  KIND_REGULAR,
  LAYOUT_V1,
  LAYOUT_V2,
  MAX_VARINT_BYTES,
  TWO_32,
} from './frame';
import { DEFAULT_BATCH_LIMITS, type BatchLimits, type Decoded, type SensorBatch } from './types';
import { validateBatch } from './validate';

type FrameResult = { ok: true; value: SensorBatch; end: number } | Failed;

/** The fixed header of a frame, checked against the limits and the bytes that are there. */
interface FrameHeader {
  layout: FrameLayout;
  kind: number;
  headerBytes: number;
  sensor: number;
  /** Point count, >= 1 and small enough for the remaining bytes. */
  n: number;
  /** Bytes after the deltas: values, quality, CRC. */
  tailBytes: number;
  quality: boolean;
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

/** Values as doubles: version 2 bit for bit, version 1's f32 widened exactly. */
function copyValuesIn(bytes: Uint8Array, dv: DataView, off: number, h: FrameHeader): Float64Array {
  const n = h.n;
  const values = new Float64Array(n);
  if (h.layout.valueBytes === 4) {
    for (let i = 0; i < n; i++) values[i] = dv.getFloat32(off + 4 * i, true);
  } else if (IS_LITTLE_ENDIAN) {
    // One memcpy into a fresh (hence aligned) buffer; no per-point work.
    new Uint8Array(values.buffer).set(bytes.subarray(off, off + 8 * n));
  } else {
    for (let i = 0; i < n; i++) values[i] = dv.getFloat64(off + 8 * i, true);
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
  const deltasEnd = h.kind === KIND_IRREGULAR ? skipDeltas(bytes, off + h.headerBytes, h) : null;
  if (deltasEnd !== null && !deltasEnd.ok) return deltasEnd;
  const valuesOff = deltasEnd === null ? off + h.headerBytes : deltasEnd.value;
  const crcOff = valuesOff + h.tailBytes - CRC_BYTES;

  const corrupt = checkCrc(bytes, dv, off, crcOff);
  if (corrupt) return corrupt;

  const values = copyValuesIn(bytes, dv, valuesOff, h);
  const qOff = valuesOff + h.layout.valueBytes * h.n;
  const quality = h.quality ? bytes.slice(qOff, qOff + h.n) : undefined;
  const batch = h.kind === KIND_REGULAR ? readRegular(dv, off, h, values) : readIrregular(bytes, dv, off, h, values);
  if (!batch.ok) return batch;
  const value: SensorBatch = quality ? { ...batch.value, quality } : batch.value;
  const problem = validateBatch(value, limits);
  if (problem) return { ok: false, error: problem };
  return { ok: true, value, end: crcOff + CRC_BYTES };
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
  if (rem >= 3 && bytes[off + 2] !== LAYOUT_V1.version && bytes[off + 2] !== LAYOUT_V2.version) {
    return fail('unsupported_version', 'version', `expected format version 1 or ${BATCH_VERSION}, got ${bytes[off + 2]}`);
  }
  if (rem >= 4 && bytes[off + 3] !== KIND_REGULAR && bytes[off + 3] !== KIND_IRREGULAR) {
    return fail('unknown_kind', 'kind', `expected kind 0 (regular) or 1 (irregular), got ${bytes[off + 3]}`);
  }
  if (rem < 4) {
    return fail('truncated_frame', 'header', `expected a frame header of at least 20 bytes, but only ${rem} remain`);
  }
  return null;
}

/** Version 2's flags byte and reserved bytes: only the quality bit may be set. */
function readFlags(bytes: Uint8Array, off: number, layout: FrameLayout): Decoded<boolean> {
  if (layout.version === 1) return { ok: true, value: false };
  const flags = bytes[off + 12]!;
  if ((flags & ~FLAG_QUALITY) !== 0 || bytes[off + 13] !== 0 || bytes[off + 14] !== 0 || bytes[off + 15] !== 0) {
    return fail('invalid_flags', 'flags', `expected flags 0 or 1 and three reserved zero bytes, got flags 0x${hex(flags)}`);
  }
  return { ok: true, value: flags === FLAG_QUALITY };
}

function readHeader(bytes: Uint8Array, dv: DataView, off: number, limits: BatchLimits): Decoded<FrameHeader> {
  const rem = bytes.length - off;
  const bad = checkPrefix(bytes, off, rem);
  if (bad) return bad;
  const layout = bytes[off + 2] === LAYOUT_V1.version ? LAYOUT_V1 : LAYOUT_V2;
  const kind = bytes[off + 3]!;
  const headerBytes = kind === KIND_REGULAR ? layout.regularHeaderBytes : layout.irregularHeaderBytes;
  if (rem < headerBytes) {
    return fail(
      'truncated_frame',
      'header',
      `expected a ${headerBytes}-byte ${kind === KIND_REGULAR ? 'regular' : 'irregular'} frame header, but only ${rem} bytes remain`,
    );
  }
  const quality = readFlags(bytes, off, layout);
  if (!quality.ok) return quality;

  // count: bounded by the limits and by the bytes that are actually there, before anything is allocated
  const sensor = dv.getUint32(off + 4, true);
  const n = dv.getUint32(off + 8, true);
  if (n < 1) return fail('empty_batch', 'count', 'expected count >= 1, got 0');
  if (n > limits.maxPoints) {
    return fail('too_many_points', 'count', `expected count <= ${limits.maxPoints}, got ${n}`);
  }
  const tailBytes = (layout.valueBytes + (quality.value ? 1 : 0)) * n + CRC_BYTES;
  // Smallest body this count can have: the values (and quality), >= 1 byte per delta, CRC.
  const minFrame = headerBytes + (kind === KIND_IRREGULAR ? n - 1 : 0) + tailBytes;
  if (rem < minFrame) {
    return fail(
      'count_mismatch',
      'count',
      `count = ${n} needs ${kind === KIND_IRREGULAR ? 'at least ' : ''}${minFrame} bytes for this frame, but only ${rem} remain (frame truncated or count corrupt)`,
    );
  }
  return { ok: true, value: { layout, kind, headerBytes, sensor, n, tailBytes, quality: quality.value } };
}

/**
 * Irregular frames: find where the n−1 deltas starting at `p` end, i.e. where
 * the values start (structure only; values are checked after the CRC).
 */
function skipDeltas(bytes: Uint8Array, p: number, h: FrameHeader): Decoded<number> {
  const limit = bytes.length;
  for (let i = 0; i < h.n - 1; i++) {
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
  if (limit - valuesOff < h.tailBytes) {
    return fail(
      'count_mismatch',
      'count',
      `count = ${h.n} needs ${h.tailBytes} bytes of values and CRC after the deltas, but only ${limit - valuesOff} remain (frame truncated or count corrupt)`,
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

/** A wire timestamp in whole ms, or why not: storage keeps milliseconds for now. */
function toMs(units: number, layout: FrameLayout, field: string): Decoded<number> {
  const ms = units / layout.unitsPerMs;
  if (Number.isInteger(ms)) return { ok: true, value: ms };
  return fail(
    'sub_millisecond_timestamp',
    field,
    `expected a timestamp in whole milliseconds (storage keeps ms), got ${units} µs; round it or send it to a later release`,
  );
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

function readRegular(dv: DataView, off: number, h: FrameHeader, values: Float64Array): Decoded<SensorBatch> {
  const base = off + h.layout.commonBytes;
  const startUnits = readSafeI64(dv, base);
  if (Number.isNaN(startUnits)) {
    return fail('timestamp_out_of_range', 'start', `expected start within ±(2^53−1) units, got ${readI64ForMessage(dv, base)}`);
  }
  const start = toMs(startUnits, h.layout, 'start');
  if (!start.ok) return start;
  if (h.layout.version === 1) {
    return { ok: true, value: { kind: 'regular', sensor: h.sensor, start: start.value, periodMs: dv.getUint32(base + 8, true), values } };
  }
  const num = readSafeI64(dv, base + 8);
  const den = dv.getUint32(base + 16, true);
  // Lowest terms keep the encoding canonical: one period, one frame.
  if (!(num >= 1) || den < 1 || gcd(num, den) !== 1 || (h.n - 1) * num > Number.MAX_SAFE_INTEGER) {
    return fail(
      'invalid_period',
      'period_num',
      `expected period_num >= 1 and period_den >= 1 in lowest terms, (count−1)·period_num <= 2^53−1; got ${num}/${den}`,
    );
  }
  const periodMs = num / den / h.layout.unitsPerMs;
  if (Number.isInteger(periodMs) && num % den === 0) {
    return { ok: true, value: { kind: 'regular', sensor: h.sensor, start: start.value, periodMs, values } };
  }
  // A rational period: the same points as explicit timestamps, each in whole ms.
  const timestamps = new Float64Array(h.n);
  for (let i = 0; i < h.n; i++) {
    const t = toMs(startUnits + Math.floor((i * num) / den), h.layout, `ts[${i}]`);
    if (!t.ok) return t;
    timestamps[i] = t.value;
  }
  return { ok: true, value: { kind: 'irregular', sensor: h.sensor, timestamps, values } };
}

/** One varint delta starting at p (structure checked by skipDeltas), or why it is not a valid one. */
function readDelta(bytes: Uint8Array, p: number, i: number): Decoded<{ delta: number; end: number }> {
  let b = bytes[p++]!;
  if (b < 0x80) return { ok: true, value: { delta: b, end: p } };
  let delta = b & 0x7f;
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
  return { ok: true, value: { delta, end: p } };
}

function readIrregular(bytes: Uint8Array, dv: DataView, off: number, h: FrameHeader, values: Float64Array): Decoded<SensorBatch> {
  const n = h.n;
  const base = off + h.layout.commonBytes;
  const first = readSafeI64(dv, base);
  if (Number.isNaN(first)) {
    return fail('timestamp_out_of_range', 'ts[0]', `expected first_ts within ±(2^53−1) units, got ${readI64ForMessage(dv, base)}`);
  }
  const timestamps = new Float64Array(n);
  let p = off + h.headerBytes;
  let t = first;
  for (let i = 0; i < n; i++) {
    if (i > 0) {
      const d = readDelta(bytes, p, i);
      if (!d.ok) return d;
      p = d.value.end;
      if (d.value.delta < 1) {
        return fail(
          'non_increasing_timestamps',
          `ts[${i}]`,
          `expected timestamps to strictly increase, but the delta from ts[${i - 1}] to ts[${i}] is 0`,
        );
      }
      t += d.value.delta;
      if (!Number.isSafeInteger(t)) {
        return fail('timestamp_out_of_range', `ts[${i}]`, `expected a timestamp within 2^53−1 units, got about ${t}`);
      }
    }
    const ms = toMs(t, h.layout, `ts[${i}]`);
    if (!ms.ok) return ms;
    timestamps[i] = ms.value;
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
