import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { crc32 } from 'node:zlib';
import { decodeBatch, decodeFrames } from '../../lib/batch/decode';
import { encodeBatch, encodeFrames } from '../../lib/batch/encode';
import { BATCH_ERROR_CODES } from '../../lib/batch/errors';
import { BATCH_MAGIC, BATCH_VERSION, encodedSize } from '../../lib/batch/frame';
import { batchFromJson, batchesFromJson, batchToJson } from '../../lib/batch/json';
import {
  DEFAULT_BATCH_LIMITS,
  type BatchError,
  type BatchLimits,
  type Decoded,
  type IrregularBatch,
  type RegularBatch,
  type SensorBatch,
} from '../../lib/batch/types';
import { validateBatch } from '../../lib/batch/validate';

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

const L = DEFAULT_BATCH_LIMITS;
const T0 = 1_700_000_000_000;
const U32_MAX = 0xffff_ffff;

function regular(values: number[] | Float64Array, over: Partial<RegularBatch> = {}): RegularBatch {
  return { kind: 'regular', sensor: 7, start: T0, periodMs: 1000, values: Float64Array.from(values), ...over };
}

function irregular(ts: number[], values: number[] | Float64Array, over: Partial<IrregularBatch> = {}): IrregularBatch {
  return { kind: 'irregular', sensor: 7, timestamps: Float64Array.from(ts), values: Float64Array.from(values), ...over };
}

function bits(values: Float64Array): bigint[] {
  return Array.from(new BigUint64Array(Float64Array.from(values).buffer));
}

/** Structural equality that compares Float64 values bit for bit (-0) and quality codes. */
function expectSameBatch(actual: SensorBatch, expected: SensorBatch): void {
  expect(actual.kind).toBe(expected.kind);
  expect(actual.sensor).toBe(expected.sensor);
  expect(bits(actual.values)).toEqual(bits(expected.values));
  expect(actual.quality && Array.from(actual.quality)).toEqual(expected.quality && Array.from(expected.quality));
  if (actual.kind === 'regular' && expected.kind === 'regular') {
    expect(actual.start).toBe(expected.start);
    expect(actual.periodMs).toBe(expected.periodMs);
  } else if (actual.kind === 'irregular' && expected.kind === 'irregular') {
    expect(Array.from(actual.timestamps)).toEqual(Array.from(expected.timestamps));
  }
}

function expectError<T>(r: Decoded<T>, code: string, field: string): BatchError {
  if (r.ok) throw new Error(`expected error ${code} at ${field}, got ok`);
  expect({ code: r.error.code, field: r.error.field }).toEqual({ code, field });
  expect(r.error.message.length).toBeGreaterThan(10);
  expect(BATCH_ERROR_CODES).toContain(r.error.code);
  return r.error;
}

function expectValidationError(e: BatchError | null, code: string, field: string): void {
  expect(e).not.toBeNull();
  expect({ code: e!.code, field: e!.field }).toEqual({ code, field });
}

// --- an encoder for tests, written independently of lib/batch/encode.ts, that can build invalid frames

function varintBytes(v: bigint): number[] {
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return out;
}

interface RawFrame {
  magic?: [number, number];
  version?: number;
  kind: number;
  sensor?: number;
  count?: number;
  start?: bigint;
  periodMs?: number;
  /** raw delta bytes (irregular); defaults to varints of `deltas` */
  deltaBytes?: number[];
  deltas?: number[];
  values: number[];
  /** raw f32 bit patterns instead of `values` (version 1) */
  valueBits?: number[];
  crc?: number;
  /** Version 2: flags byte (default: 1 when quality is given), period denominator, quality bytes. */
  flags?: number;
  periodDen?: number;
  quality?: number[];
}

/** The common header's first 12 bytes (magic, version, kind, sensor, count) and a u32 writer. */
function frameStart(f: RawFrame, version: number): { parts: number[]; u32: (v: number) => void } {
  const parts: number[] = [];
  const u32 = (v: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    parts.push(...b);
  };
  const magic = f.magic ?? [0x48, 0x44];
  parts.push(magic[0], magic[1], f.version ?? version, f.kind);
  u32(f.sensor ?? 7);
  u32(f.count ?? f.values.length);
  return { parts, u32 };
}

/** A version-2 frame, built byte by byte: times in µs (start, periodMs and deltas are taken as µs), f64 values. */
function rawFrame2(f: RawFrame): Buffer {
  const { parts, u32 } = frameStart(f, 2);
  const i64 = (v: bigint) => {
    const b = Buffer.alloc(8);
    b.writeBigInt64LE(v);
    parts.push(...b);
  };
  parts.push(f.flags ?? (f.quality ? 1 : 0), 0, 0, 0);
  i64(f.start ?? BigInt(T0) * 1000n);
  if (f.kind === 0) {
    i64(BigInt(f.periodMs ?? 1_000_000));
    u32(f.periodDen ?? 1);
  } else parts.push(...(f.deltaBytes ?? (f.deltas ?? f.values.slice(1).map(() => 1000)).flatMap((d) => varintBytes(BigInt(d)))));
  const vals = Buffer.alloc(8 * f.values.length);
  f.values.forEach((v, i) => {
    vals.writeDoubleLE(v, 8 * i);
  });
  parts.push(...vals, ...(f.quality ?? []));
  const body = Buffer.from(parts);
  const crc = Buffer.alloc(4);
  crc.writeUInt32LE(f.crc ?? crc32(body));
  return Buffer.concat([body, crc]);
}

/** A version-1 frame (ms, f32 values), built byte by byte. */
function rawFrame(f: RawFrame): Buffer {
  const { parts, u32 } = frameStart(f, 1);
  const i64 = Buffer.alloc(8);
  i64.writeBigInt64LE(f.start ?? BigInt(T0));
  parts.push(...i64);
  if (f.kind === 0) u32(f.periodMs ?? 1000);
  else parts.push(...(f.deltaBytes ?? (f.deltas ?? f.values.slice(1).map(() => 1)).flatMap((d) => varintBytes(BigInt(d)))));
  const vals = Buffer.alloc(4 * f.values.length);
  f.values.forEach((v, i) => {
    if (f.valueBits) vals.writeUInt32LE(f.valueBits[i]!, 4 * i);
    else vals.writeFloatLE(v, 4 * i);
  });
  parts.push(...vals);
  const body = Buffer.from(parts);
  const crc = Buffer.alloc(4);
  crc.writeUInt32LE(f.crc ?? crc32(body));
  return Buffer.concat([body, crc]);
}

/** Recompute the CRC trailer of a frame after editing it. */
function fixCrc(frame: Uint8Array): Buffer {
  const b = Buffer.from(frame);
  b.writeUInt32LE(crc32(b.subarray(0, b.length - 4)), b.length - 4);
  return b;
}

// --- arbitraries (all within DEFAULT_BATCH_LIMITS)

const sensorArb = fc.integer({ min: 0, max: L.maxSensorId });

/** Any finite Float64 bit pattern: normals, subnormals, ±0. */
const finiteF64Bits = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).filter((b) => ((b >> 52n) & 0x7ffn) !== 0x7ffn);

const valuesArb = (maxLength: number) =>
  fc.oneof(
    fc.float64Array({ minLength: 1, maxLength, noNaN: true, noDefaultInfinity: true }),
    fc.array(finiteF64Bits, { minLength: 1, maxLength }).map((bs) => new Float64Array(BigUint64Array.from(bs).buffer)),
  );

/** Quality codes for some batches, none (all good) for others. */
const withQuality = <B extends SensorBatch>(arb: fc.Arbitrary<B>): fc.Arbitrary<B> =>
  arb.chain((b) =>
    fc.oneof(
      fc.constant(b),
      fc
        .array(fc.integer({ min: 0, max: 2 }), { minLength: b.values.length, maxLength: b.values.length })
        .map((q) => ({ ...b, quality: Uint8Array.from(q) })),
    ),
  );

const regularArb: fc.Arbitrary<RegularBatch> = fc.tuple(sensorArb, valuesArb(64)).chain(([sensor, values]) => {
  const n = values.length;
  const maxPeriod = n === 1 ? U32_MAX : Math.min(U32_MAX, Math.floor((L.maxTs - L.minTs) / (n - 1)));
  return fc
    .oneof(fc.integer({ min: 1, max: 60_000 }), fc.integer({ min: 1, max: maxPeriod }))
    .chain((periodMs) =>
      fc
        .integer({ min: L.minTs, max: L.maxTs - (n - 1) * periodMs })
        .map((start): RegularBatch => ({ kind: 'regular', sensor, start, periodMs, values })),
    );
});

const irregularTsArb = (n: number): fc.Arbitrary<Float64Array> =>
  fc.oneof(
    // anywhere in the allowed range: large deltas, multi-byte varints
    fc
      .uniqueArray(fc.integer({ min: L.minTs, max: L.maxTs }), { minLength: n, maxLength: n })
      .map((ts) => Float64Array.from(ts.sort((a, b) => a - b))),
    // realistic: small positive deltas
    fc
      .tuple(fc.integer({ min: L.minTs, max: T0 }), fc.array(fc.integer({ min: 1, max: 70_000 }), { minLength: n - 1, maxLength: n - 1 }))
      .map(([first, deltas]) => {
        const ts = new Float64Array(n);
        ts[0] = first;
        deltas.forEach((d, i) => {
          ts[i + 1] = ts[i]! + d;
        });
        return ts;
      }),
  );

const irregularArb: fc.Arbitrary<IrregularBatch> = fc
  .tuple(sensorArb, valuesArb(64))
  .chain(([sensor, values]) =>
    irregularTsArb(values.length).map((timestamps): IrregularBatch => ({ kind: 'irregular', sensor, timestamps, values })),
  );

const batchArb: fc.Arbitrary<SensorBatch> = withQuality<SensorBatch>(fc.oneof(regularArb, irregularArb));

// ---------------------------------------------------------------------------
// Format
// ---------------------------------------------------------------------------

describe('binary format v2 layout', () => {
  it('exports the magic and version', () => {
    expect(BATCH_VERSION).toBe(2);
    const b = Buffer.alloc(2);
    b.writeUInt16LE(BATCH_MAGIC);
    expect([...b]).toEqual([0x48, 0x44]);
    expect(b.toString('latin1')).toBe('HD');
  });

  it('encodes a regular batch to the documented bytes', () => {
    const frame = encodeBatch(regular([1.5, 2], { periodMs: 1 }));
    expect(frame.toString('hex')).toBe(DOC_REGULAR_HEX);
    expect(frame).toEqual(rawFrame2({ kind: 0, periodMs: 1000, values: [1.5, 2] }));
  });

  it('encodes an irregular batch with quality to the documented bytes', () => {
    const frame = encodeBatch(irregular([T0, T0 + 3, T0 + 300], [1.5, 2, -0.25], { quality: Uint8Array.of(0, 1, 2) }));
    expect(frame.toString('hex')).toBe(DOC_IRREGULAR_HEX);
    expect(frame).toEqual(rawFrame2({ kind: 1, deltas: [3000, 297_000], values: [1.5, 2, -0.25], quality: [0, 1, 2] }));
  });

  it('a 1000-point regular Float64 batch takes 8.04 bytes per point', () => {
    const b = regular(Array.from({ length: 1000 }, (_, i) => Math.sin(i)));
    const frame = encodeBatch(b);
    expect(frame.length).toBe(36 + 8000 + 4);
    expect(encodedSize(b)).toBe(frame.length);
  });

  it('an irregular batch with 1-second spacing takes 11 bytes per point (3-byte µs deltas)', () => {
    const ts = Array.from({ length: 1000 }, (_, i) => T0 + i * 1000);
    const frame = encodeBatch(
      irregular(
        ts,
        ts.map(() => 1),
      ),
    );
    expect(frame.length).toBe(24 + 999 * 3 + 8000 + 4);
  });

  it('version 1 frames still decode, their f32 values widened exactly', () => {
    const r = decodeBatch(rawFrame({ kind: 1, deltas: [3, 297], values: [1.5, 0.1, -0.25] }));
    expect(r.ok && r.value).toEqual(irregular([T0, T0 + 3, T0 + 300], [1.5, Math.fround(0.1), -0.25]));
    const reg = decodeBatch(rawFrame({ kind: 0, periodMs: 1, values: [1.5, 2] }));
    expect(reg.ok && reg.value).toEqual(regular([1.5, 2], { periodMs: 1 }));
  });

  it('a rational period in µs (360 Hz) decodes to its timestamps when they are whole ms, else says why not', () => {
    // 3 points at 1000/3 ms: 0, 333.33…, 666.66… ms — not storable in ms yet.
    const e = decodeBatch(rawFrame2({ kind: 0, periodMs: 1_000_000, periodDen: 3, values: [1, 2, 3] }));
    expectError(e, 'sub_millisecond_timestamp', 'ts[1]');
    // 2000/2 ms in lowest terms only: not canonical is refused.
    expectError(decodeBatch(rawFrame2({ kind: 0, periodMs: 2000, periodDen: 2, values: [1, 2] })), 'invalid_period', 'period_num');
    const ok = decodeBatch(rawFrame2({ kind: 0, periodMs: 3000, periodDen: 1, values: [1, 2] }));
    expect(ok.ok && ok.value).toEqual(regular([1, 2], { periodMs: 3 }));
    expectError(decodeBatch(rawFrame2({ kind: 0, start: BigInt(T0) * 1000n + 1n, values: [1] })), 'sub_millisecond_timestamp', 'start');
  });

  it('version 2: flags other than quality and quality codes above 2 are refused', () => {
    expectError(decodeBatch(rawFrame2({ kind: 0, values: [1], flags: 2 })), 'invalid_flags', 'flags');
    expectError(decodeBatch(rawFrame2({ kind: 0, values: [1, 2], quality: [0, 3] })), 'invalid_quality', 'quality[1]');
    expect(decodeBatch(rawFrame2({ kind: 1, values: [1, 2], quality: [2, 1] })).ok).toBe(true);
  });

  it('decodes frames at any byte offset (unaligned values)', () => {
    const frame = encodeBatch(regular([1, 2, 3]));
    for (let shift = 0; shift < 4; shift++) {
      const host = new Uint8Array(frame.length + shift + 3);
      host.set(frame, shift);
      const r = decodeBatch(host.subarray(shift, shift + frame.length));
      expect(r.ok).toBe(true);
      if (r.ok) expect(Array.from(r.value.values)).toEqual([1, 2, 3]);
    }
  });

  it('decoded values do not alias the input buffer', () => {
    const frame = encodeBatch(regular([1, 2, 3]));
    const r = decodeBatch(frame);
    frame.fill(0);
    expect(r.ok && Array.from(r.value.values)).toEqual([1, 2, 3]);
  });
});

/** The examples of docs/batch-format.md, version 2. */
const DOC_REGULAR_HEX = '4844020007000000020000000000000000401e18240a0600e80300000000000001000000000000000000f83f0000000000000040ae729345';
const DOC_IRREGULAR_HEX =
  '4844020107000000030000000100000000401e18240a0600b817a89012000000000000f83f0000000000000040000000000000d0bf000102104b51d9';

// ---------------------------------------------------------------------------
// Round trips
// ---------------------------------------------------------------------------

describe('round trips', () => {
  it('binary: decode(encode(b)) == b, bit for bit, and the encoding is canonical', () => {
    fc.assert(
      fc.property(batchArb, (b) => {
        const frame = encodeBatch(b);
        expect(frame.length).toBe(encodedSize(b));
        const r = decodeBatch(frame);
        if (!r.ok) throw new Error(JSON.stringify(r.error));
        expectSameBatch(r.value, b);
        expect(validateBatch(r.value)).toBeNull();
        expect(encodeBatch(r.value).equals(frame)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('binary: concatenated frames decode in order', () => {
    fc.assert(
      fc.property(fc.array(batchArb, { minLength: 1, maxLength: 6 }), (bs) => {
        const r = decodeFrames(encodeFrames(bs));
        if (!r.ok) throw new Error(JSON.stringify(r.error));
        expect(r.value.length).toBe(bs.length);
        r.value.forEach((got, i) => {
          expectSameBatch(got, bs[i]!);
        });
      }),
      { numRuns: 500 },
    );
  });

  it('JSON object: batchFromJson(batchToJson(b)) == b, bit for bit (including -0)', () => {
    fc.assert(
      fc.property(batchArb, (b) => {
        const r = batchFromJson(batchToJson(b));
        if (!r.ok) throw new Error(JSON.stringify(r.error));
        expectSameBatch(r.value, b);
      }),
      { numRuns: 1000 },
    );
  });

  it('JSON text: parse(stringify(batchToJson(b))) keeps every Float64 bit except the sign of zero', () => {
    fc.assert(
      fc.property(batchArb, (b) => {
        const r = batchFromJson(JSON.parse(JSON.stringify(batchToJson(b))));
        if (!r.ok) throw new Error(JSON.stringify(r.error));
        const expected = { ...b, values: b.values.map((v) => (v === 0 ? 0 : v)) } as SensorBatch;
        expectSameBatch(r.value, expected);
      }),
      { numRuns: 1000 },
    );
  });

  it('JSON body forms: object, array, {"batches":[...]}', () => {
    fc.assert(
      fc.property(fc.array(batchArb, { minLength: 1, maxLength: 4 }), (bs) => {
        const json = bs.map(batchToJson);
        for (const body of [json, { batches: json }]) {
          const r = batchesFromJson(JSON.parse(JSON.stringify(body)));
          if (!r.ok) throw new Error(JSON.stringify(r.error));
          expect(r.value.length).toBe(bs.length);
        }
        const one = batchesFromJson(json[0]);
        expect(one.ok && one.value.length).toBe(1);
      }),
      { numRuns: 100 },
    );
  });

  it('binary and JSON decode to the same batch', () => {
    fc.assert(
      fc.property(batchArb, (b) => {
        const fromBin = decodeBatch(encodeBatch(b));
        const fromJson = batchFromJson(batchToJson(b));
        expect(fromBin.ok && fromJson.ok).toBe(true);
        if (fromBin.ok && fromJson.ok) expectSameBatch(fromBin.value, fromJson.value);
      }),
      { numRuns: 200 },
    );
  });

  it('JSON numbers are kept as doubles; quality by name or code', () => {
    const r = batchFromJson({ v: 1, sensor: 1, start: T0, period_ms: 1, values: [0.1, 1e-46, 3.4028235e38, 16777217, 123456.789] });
    expect(r.ok).toBe(true);
    if (r.ok) expect(Array.from(r.value.values)).toEqual([0.1, 1e-46, 3.4028235e38, 16777217, 123456.789]);
    const q = batchFromJson({ v: 1, sensor: 1, ts: [T0, T0 + 1, T0 + 2], values: [1, 2, 3], quality: ['good', 'Uncertain', 2] });
    expect(q.ok && Array.from(q.value.quality!)).toEqual([0, 1, 2]);
    expectError(batchFromJson({ v: 1, sensor: 1, ts: [T0], values: [1], quality: ['meh'] }), 'invalid_quality', 'quality[0]');
    expectError(batchFromJson({ v: 1, sensor: 1, ts: [T0], values: [1], quality: [] }), 'invalid_quality', 'quality');
  });

  it('the documented JSON examples parse', () => {
    const reg = batchFromJson(JSON.parse('{"v":1,"sensor":7,"start":1700000000000,"period_ms":1,"values":[1.5,2]}'));
    expect(reg.ok && reg.value).toEqual(regular([1.5, 2], { periodMs: 1 }));
    const irr = batchFromJson(JSON.parse('{"v":1,"sensor":7,"ts":[1700000000000,1700000000003],"values":[1.5,2]}'));
    expect(irr.ok && irr.value).toEqual(irregular([T0, T0 + 3], [1.5, 2]));
    expect(JSON.stringify(batchToJson(regular([1.5, 2], { periodMs: 1 })))).toBe(
      '{"v":1,"sensor":7,"start":1700000000000,"period_ms":1,"values":[1.5,2]}',
    );
  });
});

// ---------------------------------------------------------------------------
// Validation rules (shared)
// ---------------------------------------------------------------------------

describe('validateBatch', () => {
  it('accepts the edges of every range', () => {
    expect(validateBatch(regular([1], { sensor: 0, start: L.minTs }))).toBeNull();
    expect(validateBatch(regular([1, 2], { sensor: L.maxSensorId, start: L.maxTs - 1, periodMs: 1 }))).toBeNull();
    expect(validateBatch(regular([1], { start: L.maxTs, periodMs: U32_MAX }))).toBeNull();
    expect(validateBatch(irregular([L.minTs, L.maxTs], [1, 2]))).toBeNull();
    expect(validateBatch(regular(new Float64Array(L.maxPoints)))).toBeNull();
    expect(validateBatch(regular([3.4028234663852886e38, -1.401298464324817e-45, -0]))).toBeNull();
  });

  it('sensor: integer in [0, maxSensorId]', () => {
    expectValidationError(validateBatch(regular([1], { sensor: -1 })), 'invalid_sensor', 'sensor');
    expectValidationError(validateBatch(regular([1], { sensor: L.maxSensorId + 1 })), 'invalid_sensor', 'sensor');
    expectValidationError(validateBatch(regular([1], { sensor: 1.5 })), 'invalid_sensor', 'sensor');
    expectValidationError(validateBatch(regular([1], { sensor: NaN })), 'invalid_sensor', 'sensor');
    const limits: BatchLimits = { ...L, maxSensorId: 10 };
    expectValidationError(validateBatch(regular([1], { sensor: 11 }), limits), 'invalid_sensor', 'sensor');
  });

  it('count: in [1, maxPoints]', () => {
    expectValidationError(validateBatch(regular([])), 'empty_batch', 'count');
    expectValidationError(validateBatch(irregular([], [])), 'empty_batch', 'count');
    expectValidationError(validateBatch(regular(new Float64Array(L.maxPoints + 1))), 'too_many_points', 'count');
    expectValidationError(validateBatch(regular([1, 2, 3]), { ...L, maxPoints: 2 }), 'too_many_points', 'count');
  });

  it('regular: start integer in [minTs, maxTs], last timestamp <= maxTs, period_ms >= 1', () => {
    expectValidationError(validateBatch(regular([1], { start: L.minTs - 1 })), 'timestamp_out_of_range', 'start');
    expectValidationError(validateBatch(regular([1], { start: L.maxTs + 1 })), 'timestamp_out_of_range', 'start');
    expectValidationError(validateBatch(regular([1], { start: T0 + 0.5 })), 'invalid_timestamp', 'start');
    expectValidationError(validateBatch(regular([1], { start: Infinity })), 'invalid_timestamp', 'start');
    expectValidationError(validateBatch(regular([1, 2, 3], { start: L.maxTs - 1, periodMs: 1 })), 'timestamp_out_of_range', 'ts[2]');
    expectValidationError(validateBatch(regular([1], { periodMs: 0 })), 'invalid_period', 'period_ms');
    expectValidationError(validateBatch(regular([1], { periodMs: -5 })), 'invalid_period', 'period_ms');
    expectValidationError(validateBatch(regular([1], { periodMs: 1.5 })), 'invalid_period', 'period_ms');
    expectValidationError(validateBatch(regular([1], { periodMs: U32_MAX + 1 })), 'invalid_period', 'period_ms');
  });

  it('irregular: timestamps integer, in range, strictly increasing, one per value', () => {
    expectValidationError(validateBatch(irregular([T0, T0 + 1.5], [1, 2])), 'invalid_timestamp', 'ts[1]');
    expectValidationError(validateBatch(irregular([T0, NaN], [1, 2])), 'invalid_timestamp', 'ts[1]');
    expectValidationError(validateBatch(irregular([L.minTs - 1, T0], [1, 2])), 'timestamp_out_of_range', 'ts[0]');
    expectValidationError(validateBatch(irregular([T0, L.maxTs + 1], [1, 2])), 'timestamp_out_of_range', 'ts[1]');
    expectValidationError(validateBatch(irregular([T0, T0 + 1, T0 + 1], [1, 2, 3])), 'non_increasing_timestamps', 'ts[2]');
    expectValidationError(validateBatch(irregular([T0, T0 - 1], [1, 2])), 'non_increasing_timestamps', 'ts[1]');
    expectValidationError(validateBatch(irregular([T0, T0 + 1], [1])), 'count_mismatch', 'ts');
    const limits: BatchLimits = { ...L, minTs: 0, maxTs: 100 };
    expectValidationError(validateBatch(irregular([0, 101], [1, 2]), limits), 'timestamp_out_of_range', 'ts[1]');
  });

  it('values: every value finite, the error names the first bad index', () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      expectValidationError(validateBatch(regular([1, 2, bad, bad])), 'non_finite_value', 'values[2]');
      expectValidationError(validateBatch(irregular([T0, T0 + 1], [bad, 1])), 'non_finite_value', 'values[0]');
    }
  });

  it('rejects structurally broken batch objects', () => {
    expectValidationError(validateBatch({ ...regular([1]), kind: 'other' } as unknown as SensorBatch), 'unknown_kind', 'kind');
    expectValidationError(validateBatch({ ...regular([1]), values: [1] } as unknown as SensorBatch), 'invalid_batch', 'values');
    expectValidationError(validateBatch({ ...irregular([T0], [1]), timestamps: [T0] } as unknown as SensorBatch), 'invalid_batch', 'ts');
    expectValidationError(validateBatch(null as unknown as SensorBatch), 'invalid_batch', '');
  });

  it('encodeBatch throws TypeError on an invalid batch', () => {
    expect(() => encodeBatch(regular([NaN]))).toThrow(TypeError);
    expect(() => encodeBatch(regular([]))).toThrow(TypeError);
    expect(() => encodeBatch(regular([1], { sensor: -1 }))).toThrow(/invalid_sensor/);
    expect(() => encodeBatch(irregular([T0, T0], [1, 2]))).toThrow(/non_increasing_timestamps/);
    expect(() => encodeBatch(regular([1], { periodMs: 0 }))).toThrow(TypeError);
    // custom limits allow what the defaults forbid
    expect(encodeBatch(regular([1], { sensor: 2_000_000 }), { ...L, maxSensorId: U32_MAX }).length).toBe(48);
  });
});

// ---------------------------------------------------------------------------
// Binary decoder errors
// ---------------------------------------------------------------------------

describe('decodeBatch errors', () => {
  const good = () => rawFrame({ kind: 0, values: [1, 2, 3] });

  it('accepts the raw reference frame', () => {
    expect(decodeBatch(good()).ok).toBe(true);
    expect(decodeBatch(rawFrame({ kind: 1, deltas: [1, 300, 2 ** 40], values: [1, 2, 3, 4] })).ok).toBe(true);
  });

  it('empty input', () => {
    expectError(decodeBatch(new Uint8Array(0)), 'empty_input', '');
    expectError(decodeFrames(new Uint8Array(0)), 'empty_input', '');
  });

  it('bad magic', () => {
    expectError(decodeBatch(rawFrame({ kind: 0, values: [1], magic: [0x48, 0x45] })), 'bad_magic', 'magic');
    expectError(decodeBatch(rawFrame({ kind: 0, values: [1], magic: [0x44, 0x48] })), 'bad_magic', 'magic');
    expectError(decodeBatch(Buffer.from('{"v":1}')), 'bad_magic', 'magic');
    expectError(decodeBatch(Buffer.from([0x00])), 'bad_magic', 'magic');
  });

  it('unsupported version', () => {
    expectError(decodeBatch(rawFrame({ kind: 0, values: [1], version: 3 })), 'unsupported_version', 'version');
    expectError(decodeBatch(rawFrame({ kind: 0, values: [1], version: 0 })), 'unsupported_version', 'version');
  });

  it('unknown kind', () => {
    expectError(decodeBatch(rawFrame({ kind: 2, values: [1] })), 'unknown_kind', 'kind');
    expectError(decodeBatch(Buffer.from([0x48, 0x44, 1, 0xff])), 'unknown_kind', 'kind');
  });

  it('truncated header', () => {
    expectError(decodeBatch(Buffer.from([0x48, 0x44, 1, 0])), 'truncated_frame', 'header');
    expectError(decodeBatch(good().subarray(0, 23)), 'truncated_frame', 'header');
    expectError(decodeBatch(rawFrame({ kind: 1, values: [1] }).subarray(0, 19)), 'truncated_frame', 'header');
  });

  it('count: zero, above maxPoints, or more than the bytes hold — checked before allocating', () => {
    expectError(decodeBatch(rawFrame({ kind: 0, values: [1], count: 0 })), 'empty_batch', 'count');
    expectError(decodeBatch(rawFrame({ kind: 0, values: [1], count: L.maxPoints + 1 })), 'too_many_points', 'count');
    expectError(decodeBatch(rawFrame({ kind: 0, values: [1, 2, 3] }), { ...L, maxPoints: 2 }), 'too_many_points', 'count');
    expectError(decodeBatch(rawFrame({ kind: 0, values: [1, 2, 3], count: 4 })), 'count_mismatch', 'count');
    expectError(decodeBatch(rawFrame({ kind: 1, values: [1, 2, 3], count: 4 })), 'count_mismatch', 'count');
    // a 4-billion-point claim in a 32-byte frame must not allocate 16 GiB
    const huge: BatchLimits = { ...L, maxPoints: U32_MAX };
    expectError(decodeBatch(rawFrame({ kind: 0, values: [1], count: U32_MAX }), huge), 'count_mismatch', 'count');
    expectError(decodeBatch(rawFrame({ kind: 1, values: [1], count: U32_MAX }), huge), 'count_mismatch', 'count');
    // count too small for the bytes: the CRC lands in the wrong place
    expectError(decodeBatch(rawFrame({ kind: 0, values: [1, 2, 3], count: 2 })), 'checksum_mismatch', 'crc');
  });

  it('irregular deltas whose varints eat the values section', () => {
    // 3 points, deltas 2^35 (6 bytes) and 2^42 (7 bytes): the minimum-size check passes, the scan shows there is no room
    const f = rawFrame({ kind: 1, values: [1, 2, 3], deltas: [2 ** 35, 2 ** 42] });
    const cut = fixCrc(Buffer.concat([f.subarray(0, 20 + 13 + 8), Buffer.alloc(4)]));
    expectError(decodeBatch(cut), 'count_mismatch', 'count');
    // input ends inside a varint
    // 3 points need >= 38 bytes; 38 bytes where delta 0 is a 10-byte varint and delta 1 never ends
    const header = rawFrame({ kind: 1, values: [1, 2, 3] }).subarray(0, 20);
    const runOff = Buffer.concat([header, Buffer.from([...Array(9).fill(0xff), 0x01]), Buffer.alloc(8, 0xff)]);
    expect(runOff.length).toBe(38);
    expectError(decodeBatch(runOff), 'truncated_frame', 'deltas[1]');
  });

  it('varint longer than 10 bytes', () => {
    const deltaBytes = [...Array(10).fill(0x81), 0x00];
    expectError(decodeBatch(rawFrame({ kind: 1, values: [1, 2], deltaBytes })), 'varint_too_long', 'deltas[0]');
  });

  it('varint value above 2^53−1', () => {
    expectError(decodeBatch(rawFrame({ kind: 1, values: [1, 2], deltaBytes: varintBytes(2n ** 53n) })), 'varint_overflow', 'deltas[0]');
    const tenBytes = [...Array(9).fill(0xff), 0x01]; // 2^64−1, 10 bytes: not too long, but too big
    expectError(decodeBatch(rawFrame({ kind: 1, values: [1, 2, 3], deltaBytes: [1, ...tenBytes] })), 'varint_overflow', 'deltas[1]');
  });

  it('varint not minimally encoded', () => {
    expectError(decodeBatch(rawFrame({ kind: 1, values: [1, 2], deltaBytes: [0x81, 0x00] })), 'varint_not_minimal', 'deltas[0]');
  });

  it('irregular: zero delta means non-increasing timestamps', () => {
    expectError(decodeBatch(rawFrame({ kind: 1, values: [1, 2, 3], deltas: [5, 0] })), 'non_increasing_timestamps', 'ts[2]');
  });

  it('timestamps out of range', () => {
    expectError(decodeBatch(rawFrame({ kind: 0, values: [1], start: BigInt(L.minTs - 1) })), 'timestamp_out_of_range', 'start');
    expectError(decodeBatch(rawFrame({ kind: 0, values: [1], start: -1n })), 'timestamp_out_of_range', 'start');
    expectError(decodeBatch(rawFrame({ kind: 0, values: [1], start: 2n ** 62n })), 'timestamp_out_of_range', 'start');
    expectError(decodeBatch(rawFrame({ kind: 0, values: [1], start: -(2n ** 63n) })), 'timestamp_out_of_range', 'start');
    expectError(decodeBatch(rawFrame({ kind: 0, values: [1, 2], start: BigInt(L.maxTs), periodMs: 1 })), 'timestamp_out_of_range', 'ts[1]');
    expectError(decodeBatch(rawFrame({ kind: 1, values: [1], start: 2n ** 53n })), 'timestamp_out_of_range', 'ts[0]');
    expectError(decodeBatch(rawFrame({ kind: 1, values: [1, 2], deltas: [L.maxTs - T0 + 1] })), 'timestamp_out_of_range', 'ts[1]');
    expectError(decodeBatch(rawFrame({ kind: 1, values: [1, 2], start: 2n ** 52n, deltas: [2 ** 52] })), 'timestamp_out_of_range', 'ts[1]');
  });

  it('sensor out of range', () => {
    expectError(decodeBatch(rawFrame({ kind: 0, values: [1], sensor: L.maxSensorId + 1 })), 'invalid_sensor', 'sensor');
    expect(decodeBatch(rawFrame({ kind: 0, values: [1], sensor: U32_MAX }), { ...L, maxSensorId: U32_MAX }).ok).toBe(true);
  });

  it('period_ms zero', () => {
    expectError(decodeBatch(rawFrame({ kind: 0, values: [1], periodMs: 0 })), 'invalid_period', 'period_ms');
  });

  it('non-finite values (NaN payloads, ±Infinity)', () => {
    for (const bad of [0x7fc00000, 0x7f800001, 0xffffffff, 0x7f800000, 0xff800000]) {
      const valueBits = [0x3f800000, bad, 0x3f800000];
      expectError(decodeBatch(rawFrame({ kind: 0, values: [0, 0, 0], valueBits })), 'non_finite_value', 'values[1]');
      expectError(decodeBatch(rawFrame({ kind: 1, values: [0, 0, 0], valueBits })), 'non_finite_value', 'values[1]');
    }
  });

  it('checksum mismatch', () => {
    const f = good();
    expectError(decodeBatch(rawFrame({ kind: 0, values: [1, 2, 3], crc: f.readUInt32LE(f.length - 4) ^ 1 })), 'checksum_mismatch', 'crc');
    const g = Buffer.from(f);
    g[30] = g[30]! ^ 0x10; // inside values[1]
    expectError(decodeBatch(g), 'checksum_mismatch', 'crc');
  });

  it('trailing bytes after one frame', () => {
    expectError(decodeBatch(Buffer.concat([good(), Buffer.from([0])])), 'trailing_bytes', 'trailing');
    expectError(decodeBatch(Buffer.concat([good(), good()])), 'trailing_bytes', 'trailing');
  });

  it('decodeFrames names the failing frame', () => {
    const ok = encodeBatch(regular([1, 2]));
    const bad = rawFrame({ kind: 0, values: [1], count: 0 });
    expectError(decodeFrames(Buffer.concat([ok, ok, ok, bad])), 'empty_batch', 'frames[3].count');
    expectError(decodeFrames(Buffer.concat([ok, Buffer.from([1, 2, 3])])), 'bad_magic', 'frames[1].magic');
    expectError(decodeFrames(Buffer.concat([ok, ok.subarray(0, 40)])), 'count_mismatch', 'frames[1].count');
    const nan = rawFrame({ kind: 0, values: [0, 0], valueBits: [0, 0x7fc00000] });
    expectError(decodeFrames(Buffer.concat([ok, nan])), 'non_finite_value', 'frames[1].values[1]');
    expectError(decodeFrames(Buffer.concat([ok, ok]), { ...L, maxPoints: 1 }), 'too_many_points', 'frames[0].count');
  });

  it('error codes are stable snake_case and unique', () => {
    for (const c of BATCH_ERROR_CODES) expect(c).toMatch(/^[a-z]+(_[a-z0-9]+)*$/);
    expect(new Set(BATCH_ERROR_CODES).size).toBe(BATCH_ERROR_CODES.length);
  });

  it('never throws on non-Uint8Array input', () => {
    expect(decodeBatch('xx' as unknown as Uint8Array).ok).toBe(false);
    expect(decodeFrames(null as unknown as Uint8Array).ok).toBe(false);
  });
});

// ---------------------------------------------------------------------------
// JSON decoder errors
// ---------------------------------------------------------------------------

describe('batchFromJson / batchesFromJson errors', () => {
  const reg = () => ({ v: 1, sensor: 7, start: T0, period_ms: 1000, values: [1, 2, 3] }) as Record<string, unknown>;
  const irr = () => ({ v: 1, sensor: 7, ts: [T0, T0 + 1, T0 + 5], values: [1, 2, 3] }) as Record<string, unknown>;

  it('accepts both kinds', () => {
    expect(batchFromJson(reg()).ok).toBe(true);
    expect(batchFromJson(irr()).ok).toBe(true);
  });

  it('shape errors say what was expected and what came', () => {
    let e = expectError(batchFromJson('hello'), 'invalid_json_batch', '');
    expect(e.message).toMatch(/expected a batch object, got string "hello"/);
    e = expectError(batchFromJson({ ...reg(), sensor: '7' }), 'invalid_json_batch', 'sensor');
    expect(e.message).toMatch(/expected a finite number, got string "7"/);
    e = expectError(batchFromJson({ ...reg(), values: 'x' }), 'invalid_json_batch', 'values');
    expect(e.message).toMatch(/expected an array, got string/);
    e = expectError(batchFromJson({ ...irr(), ts: [T0, '1'] }), 'invalid_json_batch', 'ts[1]');
    e = expectError(batchFromJson({ ...reg(), values: [1, 2, true] }), 'invalid_json_batch', 'values[2]');
    expect(e.message).toMatch(/got boolean true/);
    const { sensor: _s, ...noSensor } = reg();
    e = expectError(batchFromJson(noSensor), 'invalid_json_batch', 'sensor');
    expect(e.message).toMatch(/missing/);
    const { period_ms: _p, ...noPeriod } = reg();
    expectError(batchFromJson(noPeriod), 'invalid_json_batch', 'period_ms');
    expectError(batchFromJson([reg()]), 'invalid_json_batch', '');
    expectError(batchFromJson(null), 'invalid_json_batch', '');
  });

  it('unknown fields are rejected (catches typos)', () => {
    const e = expectError(batchFromJson({ ...reg(), period: 5 }), 'invalid_json_batch', 'period');
    expect(e.message).toMatch(/unexpected field "period"/);
    expectError(batchFromJson({ ...irr(), kind: 'irregular' }), 'invalid_json_batch', 'kind');
  });

  it('kind: ts XOR start/period_ms', () => {
    expectError(batchFromJson({ ...reg(), ts: [T0] }), 'invalid_json_batch', 'ts');
    expectError(batchFromJson({ v: 1, sensor: 7, values: [1] }), 'invalid_json_batch', 'start');
  });

  it('version', () => {
    expectError(batchFromJson({ ...reg(), v: 2 }), 'unsupported_version', 'v');
    const { v: _v, ...noV } = reg();
    expectError(batchFromJson(noV), 'invalid_json_batch', 'v');
    expectError(batchFromJson({ ...reg(), v: '1' }), 'invalid_json_batch', 'v');
  });

  it('shared rules apply with JSON field names', () => {
    expectError(batchFromJson({ ...reg(), sensor: -1 }), 'invalid_sensor', 'sensor');
    expectError(batchFromJson({ ...reg(), sensor: 2.5 }), 'invalid_sensor', 'sensor');
    expectError(batchFromJson({ ...reg(), values: [] }), 'empty_batch', 'values');
    expectError(batchFromJson({ ...reg(), values: [1, 2, 3] }, { ...L, maxPoints: 2 }), 'too_many_points', 'values');
    expectError(batchFromJson({ ...irr() }, { ...L, maxPoints: 2 }), 'too_many_points', 'values');
    expectError(batchFromJson({ ...irr(), ts: [T0, T0 + 1, T0 + 2, T0 + 3] }, { ...L, maxPoints: 3 }), 'too_many_points', 'ts');
    expectError(batchFromJson({ ...reg(), start: 0 }), 'timestamp_out_of_range', 'start');
    expectError(batchFromJson({ ...reg(), start: T0 + 0.5 }), 'invalid_timestamp', 'start');
    expectError(batchFromJson({ ...reg(), start: 1e300 }), 'timestamp_out_of_range', 'start');
    expectError(batchFromJson({ ...irr(), ts: [T0, T0 + 1, 2 ** 60] }), 'timestamp_out_of_range', 'ts[2]');
    expectError(batchFromJson({ ...reg(), start: L.maxTs - 1 }), 'timestamp_out_of_range', 'ts[2]');
    expectError(batchFromJson({ ...reg(), period_ms: 0 }), 'invalid_period', 'period_ms');
    expectError(batchFromJson({ ...reg(), period_ms: 0.5 }), 'invalid_period', 'period_ms');
    expectError(batchFromJson({ ...reg(), period_ms: 2 ** 32 }), 'invalid_period', 'period_ms');
    expectError(batchFromJson({ ...irr(), ts: [T0, T0 + 1.5, T0 + 5] }), 'invalid_timestamp', 'ts[1]');
    expectError(batchFromJson({ ...irr(), ts: [T0, T0 + 1, L.maxTs + 1] }), 'timestamp_out_of_range', 'ts[2]');
    expectError(batchFromJson({ ...irr(), ts: [T0, T0, T0 + 5] }), 'non_increasing_timestamps', 'ts[1]');
    expectError(batchFromJson({ ...irr(), ts: [T0, T0 + 2, T0 + 1] }), 'non_increasing_timestamps', 'ts[2]');
    expectError(batchFromJson({ ...irr(), ts: [T0, T0 + 1] }), 'count_mismatch', 'ts');
  });

  it('non-finite values: null (JSON.stringify of NaN/Infinity), NaN objects', () => {
    let e = expectError(batchFromJson(JSON.parse(JSON.stringify({ ...reg(), values: [1, NaN, 3] }))), 'non_finite_value', 'values[1]');
    expect(e.message).toMatch(/null/);
    expectError(batchFromJson({ ...reg(), values: [1, 2, Infinity] }), 'non_finite_value', 'values[2]');
    expectError(batchFromJson({ ...irr(), values: [NaN, 2, 3] }), 'non_finite_value', 'values[0]');
    e = expectError(batchFromJson({ ...reg(), values: [1, -Number.MAX_VALUE * 2, 3] }), 'non_finite_value', 'values[1]');
    expect(e.message).toMatch(/-Infinity/);
  });

  it('batchesFromJson: paths name the batch, for arrays and the envelope', () => {
    const bad = { ...reg(), values: Array.from({ length: 20 }, (_, i) => (i === 17 ? null : i)) };
    expectError(batchesFromJson([reg(), irr(), bad]), 'non_finite_value', 'batches[2].values[17]');
    expectError(batchesFromJson({ batches: [reg(), irr(), bad] }), 'non_finite_value', 'batches[2].values[17]');
    expectError(batchesFromJson([reg(), 5]), 'invalid_json_batch', 'batches[1]');
    expectError(batchesFromJson([reg(), { ...irr(), sensor: -3 }]), 'invalid_sensor', 'batches[1].sensor');
    expectError(batchesFromJson({ ...reg(), sensor: -3 }), 'invalid_sensor', 'sensor');
    expectError(batchesFromJson([]), 'empty_input', 'batches');
    expectError(batchesFromJson({ batches: [] }), 'empty_input', 'batches');
    expectError(batchesFromJson({ batches: 5 }), 'invalid_json_batch', 'batches');
    expectError(batchesFromJson({ batches: [reg()], extra: 1 }), 'invalid_json_batch', 'extra');
    expectError(batchesFromJson('nope'), 'invalid_json_batch', '');
    expectError(batchesFromJson(undefined), 'invalid_json_batch', '');
  });

  it('never throws on arbitrary JSON-like input', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (j) => {
        expect(() => batchesFromJson(j)).not.toThrow();
        expect(() => batchFromJson(j)).not.toThrow();
      }),
      { numRuns: 3000 },
    );
  });

  it('never throws on mutated valid batches, and every accepted one validates', () => {
    const fieldArb = fc.constantFrom('v', 'sensor', 'start', 'period_ms', 'ts', 'values');
    const valueArb = fc.oneof(fc.jsonValue(), fc.constantFrom(NaN, Infinity, -0, 1e39, 2 ** 53, -1, undefined));
    fc.assert(
      fc.property(batchArb, fieldArb, valueArb, (b, key, value) => {
        const j = { ...batchToJson(b), [key]: value } as Record<string, unknown>;
        const r = batchFromJson(j);
        if (r.ok) expect(validateBatch(r.value)).toBeNull();
      }),
      { numRuns: 3000 },
    );
  });
});

// ---------------------------------------------------------------------------
// Fuzzing the binary decoder
// ---------------------------------------------------------------------------

/** Decoding must not throw (a throw fails the property) and must reject. */
function neverThrowsAndRejects(bytes: Uint8Array): void {
  const single = decodeBatch(bytes);
  const multi = decodeFrames(bytes);
  expect(single.ok).toBe(false);
  expect(multi.ok).toBe(false);
  if (!single.ok) expect(BATCH_ERROR_CODES).toContain(single.error.code);
  if (!multi.ok) expect(BATCH_ERROR_CODES).toContain(multi.error.code);
}

describe('fuzz: binary decoder', () => {
  it('random bytes are rejected without throwing', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), neverThrowsAndRejects), { numRuns: 20000 });
  });

  it('random bytes behind a plausible header are rejected without throwing', () => {
    const header = fc.tuple(fc.constantFrom(0, 1), fc.integer({ min: 0, max: 40 }), fc.uint8Array({ maxLength: 400 }));
    fc.assert(
      fc.property(header, ([kind, count, rest]) => {
        const h = Buffer.alloc(12);
        h.set([0x48, 0x44, 1, kind]);
        h.writeUInt32LE(count, 8);
        neverThrowsAndRejects(Buffer.concat([h, rest]));
      }),
      { numRuns: 20000 },
    );
  });

  it('random edits with a recomputed CRC never throw; whatever is accepted is valid and canonical', () => {
    const edit = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(batchArb, edit, (b, edits) => {
        const frame = Buffer.from(encodeBatch(b));
        for (const [pos, byte] of edits) frame[pos % (frame.length - 4)] = byte;
        const bytes = fixCrc(frame);
        const r = decodeBatch(bytes);
        if (r.ok) {
          expect(validateBatch(r.value)).toBeNull();
          // Canonical, except that a rational period decodes to the same points as explicit timestamps.
          const again = decodeBatch(encodeBatch(r.value));
          expect(again.ok).toBe(true);
          if (again.ok) expectSameBatch(again.value, r.value);
          if (r.value.kind === b.kind) expect(encodeBatch(r.value).equals(bytes)).toBe(true);
        }
      }),
      { numRuns: 10000 },
    );
  });

  const smallRegular = encodeBatch(regular([1.5, -2, 0.25, 1e-3], { sensor: 12345, periodMs: 250 }));
  const smallIrregular = encodeBatch(irregular([T0, T0 + 1, T0 + 200, T0 + 70_000, T0 + 2 ** 33], [1, 2, 3, 4, 5], { sensor: 42 }));

  it.each([
    ['regular', smallRegular],
    ['irregular', smallIrregular],
  ])('every truncation of a valid %s frame is rejected', (_name, frame) => {
    expect(decodeBatch(frame).ok).toBe(true);
    for (let len = 0; len < frame.length; len++) neverThrowsAndRejects(frame.subarray(0, len));
    // and as the last of several frames
    for (let len = 1; len < frame.length; len++) {
      const r = decodeFrames(Buffer.concat([frame, frame.subarray(0, len)]));
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.field).toMatch(/^frames\[1\]/);
    }
  });

  it.each([
    ['regular', smallRegular],
    ['irregular', smallIrregular],
  ])('every single bit flip of a valid %s frame is rejected', (name, frame) => {
    const flipped = Buffer.from(frame);
    // bytes whose corruption can only be found by the CRC
    const crcOnly = (i: number) =>
      (i >= 4 && i < 8) || (i >= 16 && i < 24) || (name === 'regular' && i >= 24) || i >= frame.length - 4 - 8 * 5;
    let total = 0;
    for (let i = 0; i < frame.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        flipped[i] = frame[i]! ^ (1 << bit);
        const r = decodeBatch(flipped);
        expect(r.ok).toBe(false);
        if (!r.ok && crcOnly(i)) expect(r.error.code).toBe('checksum_mismatch');
        expect(decodeFrames(Buffer.concat([frame, flipped])).ok).toBe(false);
        flipped[i] = frame[i]!;
        total++;
      }
    }
    expect(total).toBe(frame.length * 8);
  });

  it('random multi-bit corruption of valid frames is rejected', () => {
    fc.assert(
      fc.property(batchArb, fc.uniqueArray(fc.nat(), { minLength: 1, maxLength: 3 }), (b, positions) => {
        const frame = Buffer.from(encodeBatch(b));
        const nbits = frame.length * 8;
        const flips = new Set(positions.map((p) => p % nbits));
        for (const p of flips) frame[p >> 3] = frame[p >> 3]! ^ (1 << (p & 7));
        neverThrowsAndRejects(frame);
      }),
      { numRuns: 5000 },
    );
  });
});
