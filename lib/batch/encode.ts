/**
 * Writing batches as version-2 binary frames (layout in frame.ts). The
 * encoder validates first: it never writes a frame a decoder would reject.
 */
import { crc32 } from 'node:zlib';
import {
  BATCH_MAGIC_BYTES,
  BATCH_VERSION,
  encodedSize,
  FLAG_QUALITY,
  IS_LITTLE_ENDIAN,
  KIND_IRREGULAR,
  KIND_REGULAR,
  LAYOUT_V2,
  TWO_32,
} from './frame';
import { DEFAULT_BATCH_LIMITS, type BatchLimits, type SensorBatch } from './types';
import { validateBatch } from './validate';

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

function copyValuesOut(values: Float64Array, buf: Buffer, dv: DataView, off: number): void {
  if (IS_LITTLE_ENDIAN) {
    buf.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), off);
  } else {
    for (let i = 0; i < values.length; i++) dv.setFloat64(off + 8 * i, values[i]!, true);
  }
}

/**
 * Encode one batch as a version-2 frame. Throws TypeError if the batch breaks
 * a validation rule (a programming error: the caller should have validated).
 * `limits` defaults to DEFAULT_BATCH_LIMITS, the same bounds decoders apply.
 */
export function encodeBatch(batch: SensorBatch, limits: BatchLimits = DEFAULT_BATCH_LIMITS): Buffer {
  const problem = validateBatch(batch, limits);
  if (problem) throw new TypeError(`encodeBatch: invalid batch: ${problem.code} at ${problem.field}: ${problem.message}`);

  const n = batch.values.length;
  const us = LAYOUT_V2.unitsPerMs;
  const buf = Buffer.alloc(encodedSize(batch));
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  buf[0] = BATCH_MAGIC_BYTES[0];
  buf[1] = BATCH_MAGIC_BYTES[1];
  buf[2] = BATCH_VERSION;
  dv.setUint32(4, batch.sensor, true);
  dv.setUint32(8, n, true);
  buf[12] = batch.quality ? FLAG_QUALITY : 0;
  let off: number;
  if (batch.kind === 'regular') {
    buf[3] = KIND_REGULAR;
    writeI64(dv, 16, batch.start * us);
    writeI64(dv, 24, batch.periodMs * us);
    dv.setUint32(32, 1, true);
    off = LAYOUT_V2.regularHeaderBytes;
  } else {
    buf[3] = KIND_IRREGULAR;
    const ts = batch.timestamps;
    writeI64(dv, 16, ts[0]! * us);
    off = LAYOUT_V2.irregularHeaderBytes;
    for (let i = 1; i < n; i++) off = writeVarint(buf, off, (ts[i]! - ts[i - 1]!) * us);
  }
  copyValuesOut(batch.values, buf, dv, off);
  off += 8 * n;
  if (batch.quality) {
    buf.set(batch.quality, off);
    off += n;
  }
  dv.setUint32(off, crc32(buf.subarray(0, off)), true);
  return buf;
}

/** Encode several batches back to back (an HTTP body decodeFrames accepts). */
export function encodeFrames(batches: readonly SensorBatch[], limits: BatchLimits = DEFAULT_BATCH_LIMITS): Buffer {
  return Buffer.concat(batches.map((b) => encodeBatch(b, limits)));
}
