import type { PointColumns } from '../model/points';

const ROW_BYTES = 4 + 8 + 8 + 1;
const TWO_32 = 2 ** 32;

/** Column list matching the RowBinary layout below: raw's columns, in raw's order. */
export const POINT_ROW_STRUCTURE = 'sensor UInt32, ts Int64, value Float64, quality UInt8';

/** RowBinary rows (sensor UInt32, ts Int64, value Float64, quality UInt8), little-endian. */
export function pointsToRowBinary(points: PointColumns): Buffer {
  const buf = Buffer.allocUnsafe(points.length * ROW_BYTES);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  for (let i = 0, o = 0; i < points.length; i++, o += ROW_BYTES) {
    const ts = points.ts[i]!;
    // Int64 as two 32-bit halves: BigInt conversion per row costs more than the insert.
    const hi = Math.floor(ts / TWO_32);
    view.setUint32(o, points.sensor[i]!, true);
    view.setUint32(o + 4, ts - hi * TWO_32, true);
    view.setInt32(o + 8, hi, true);
    view.setFloat64(o + 12, points.value[i]!, true);
    view.setUint8(o + 20, points.quality[i]!);
  }
  return buf;
}
