/**
 * Binary encoding of one sensor batch, format version 1: the frame layout.
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
 * Frames can be concatenated (decodeFrames). encode.ts writes frames,
 * decode.ts reads them, validate.ts holds the rules both apply.
 */

import type { SensorBatch } from './types';

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

/** Exact size in bytes of a batch's frame (what encodeBatch writes, and a Kafka record carries). */
export function encodedSize(batch: SensorBatch): number {
  const n = batch.values.length;
  if (batch.kind === 'regular') return REGULAR_HEADER_BYTES + 4 * n + CRC_BYTES;
  let deltaBytes = 0;
  const ts = batch.timestamps;
  for (let i = 1; i < n; i++) deltaBytes += varintLength(ts[i]! - ts[i - 1]!);
  return IRREGULAR_HEADER_BYTES + deltaBytes + 4 * n + CRC_BYTES;
}
