/**
 * Binary encoding of one sensor batch: the frame layouts. Encoders write
 * version 2; decoders read versions 1 and 2.
 *
 * Version 2 (all integers little-endian; docs/batch-format.md has the full table):
 *
 *   off  size  field
 *   0    2     magic      0x48 0x44 ('H','D')
 *   2    1     version    2
 *   3    1     kind       0 = regular, 1 = irregular
 *   4    4     sensor     u32
 *   8    4     count      u32, number of points, >= 1
 *   12   1     flags      bit 0: a quality byte per point follows the values; other bits 0
 *   13   3     reserved   0
 *   regular:   16  8  start       i64 epoch µs
 *              24  8  period_num  u64 µs, >= 1, (count−1) · period_num <= 2^53−1
 *              32  4  period_den  u32, >= 1: ts(i) = start + floor(i · period_num / period_den) µs
 *              36  8·count        f64 values
 *   irregular: 16  8  first_ts    i64 epoch µs
 *              24  …  (count−1) unsigned LEB128 deltas in µs, each >= 1, minimal, <= 2^53−1
 *              …   8·count        f64 values
 *   then:      count bytes quality (0 good, 1 uncertain, 2 bad) when flags bit 0 is set
 *   trailer:   4      CRC-32 (zlib.crc32) of every byte of the frame before it
 *
 * Version 1 is the same without flags and reserved bytes, with epoch ms,
 * `period_ms` alone (regular header 24 bytes, irregular 20) and f32 values.
 *
 * Times travel in µs with a rational period so that any rate (360 Hz,
 * 25.6 kHz) has an exact regular frame; until storage keeps microseconds the
 * decoder accepts only whole milliseconds (sub_millisecond_timestamp).
 *
 * Frames can be concatenated (decodeFrames). encode.ts writes frames,
 * decode.ts reads them, validate.ts holds the rules both apply.
 */

import type { SensorBatch } from './types';

/** The magic bytes 0x48 0x44 ('H','D') read as a little-endian u16. */
export const BATCH_MAGIC = 0x4448;
/** The magic as it appears on the wire, byte by byte. */
export const BATCH_MAGIC_BYTES: readonly [number, number] = [0x48, 0x44];
/** The version encoders write. */
export const BATCH_VERSION = 2;
export const BATCH_VERSION_1 = 1;

export const KIND_REGULAR = 0;
export const KIND_IRREGULAR = 1;

/** Version 2 flags: bit 0 says a quality byte per point follows the values. */
export const FLAG_QUALITY = 1;

/** Per-version layout: header sizes, value width, where the kind-specific part starts. */
export interface FrameLayout {
  version: number;
  /** Bytes before the kind-specific part. */
  commonBytes: number;
  regularHeaderBytes: number;
  irregularHeaderBytes: number;
  valueBytes: 4 | 8;
  /** Timestamp units per millisecond on the wire. */
  unitsPerMs: number;
}

export const LAYOUT_V1: FrameLayout = {
  version: 1,
  commonBytes: 12,
  regularHeaderBytes: 24,
  irregularHeaderBytes: 20,
  valueBytes: 4,
  unitsPerMs: 1,
};

export const LAYOUT_V2: FrameLayout = {
  version: 2,
  commonBytes: 16,
  regularHeaderBytes: 36,
  irregularHeaderBytes: 24,
  valueBytes: 8,
  unitsPerMs: 1000,
};

export const CRC_BYTES = 4;
/** Longest accepted LEB128 varint. */
export const MAX_VARINT_BYTES = 10;

export const U32_MAX = 0xffff_ffff;
export const TWO_32 = 0x1_0000_0000;

export const IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function varintLength(v: number): number {
  let len = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    len++;
  }
  return len;
}

/** Exact size in bytes of a batch's version-2 frame (what encodeBatch writes, and a Kafka record carries). */
export function encodedSize(batch: SensorBatch): number {
  const n = batch.values.length;
  const body = 8 * n + (batch.quality ? n : 0) + CRC_BYTES;
  if (batch.kind === 'regular') return LAYOUT_V2.regularHeaderBytes + body;
  let deltaBytes = 0;
  const ts = batch.timestamps;
  for (let i = 1; i < n; i++) deltaBytes += varintLength((ts[i]! - ts[i - 1]!) * LAYOUT_V2.unitsPerMs);
  return LAYOUT_V2.irregularHeaderBytes + deltaBytes + body;
}
