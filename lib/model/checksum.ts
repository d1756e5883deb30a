/**
 * Per-point checksum shared by the generator ledger (JS) and the verifier
 * (ClickHouse SQL). A sensor's checksum is the wrapping 32-bit sum of the
 * hashes of its distinct points, so it is independent of arrival order and
 * can be computed by a plain GROUP BY. Duplicates must be removed before
 * summing (the ledger counts each batch once; SQL should run over deduped rows).
 *
 * Everything is 32-bit arithmetic so the JS side stays on the fast Math.imul
 * path and the SQL side needs only functions ClickHouse 18.16 already had.
 */

const TWO_32 = 4294967296;

/**
 * Hash of one point: ts = integer epoch ms (|ts| < 2^53); vlo, vhi = low and
 * high uint32 halves of the Float64 value's bit pattern.
 */
export function pointHash(ts: number, vlo: number, vhi: number): number {
  const lo = ts >>> 0; // ToUint32 is ts mod 2^32, also right for negative ts (two's complement)
  const hi = Math.floor(ts / TWO_32) >>> 0;
  // Sums of four int32 products stay exact in a double; >>> 0 reduces mod 2^32.
  let h =
    (Math.imul(lo, 0x9e3779b1) + Math.imul(hi, 0x85ebca77) + Math.imul(vlo, 0xc2b2ae3d) + Math.imul(vhi, 0x27d4eb2f) + 0x165667b1) >>> 0;
  h ^= h >>> 15;
  h = Math.imul(h, 0x85ebca77) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae3d) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

// One shared view pair: the cheapest way to get a double's bit pattern.
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const LO = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 0 : 1;

/** Low and high uint32 halves of a double's bit pattern (so -0 and 0 differ, as they do in storage). */
export function float64Bits(value: number): [lo: number, hi: number] {
  f64[0] = value;
  return [u32[LO]!, u32[1 - LO]!];
}

/** Running per-sensor checksum. The caller must add each distinct point once. */
export class SensorChecksum {
  points = 0;
  checksum = 0;

  add(ts: number, value: number): void {
    f64[0] = value;
    this.checksum = (this.checksum + pointHash(ts, u32[LO]!, u32[1 - LO]!)) >>> 0;
    this.points++;
  }
}

// --- SQL ------------------------------------------------------------------
// Built from the same steps as pointHash. Constants are decimal (no hex
// literals in old parsers); UInt64 products wrap mod 2^64, so masking to
// 32 bits after every multiply reproduces Math.imul. reinterpretAsUInt64
// only accepts String in 18.16, hence the detour via reinterpretAsString
// (which drops trailing zero bytes; reinterpretAsUInt64 pads them back).
const M32 = '4294967295';
const mask = (x: string): string => `bitAnd(${x}, ${M32})`;
const mul = (x: string, k: number): string => mask(`${x} * ${k}`);
const xorShift = (x: string, n: number): string => `bitXor(${x}, bitShiftRight(${x}, ${n}))`;

function hashSql(tsCol: string, valueCol: string): string {
  const u = `toUInt64(${tsCol})`;
  const lo = mask(u);
  const hi = `bitShiftRight(${u}, 32)`;
  const bits = `reinterpretAsUInt64(reinterpretAsString(${valueCol}))`;
  const vlo = mask(bits);
  const vhi = `bitShiftRight(${bits}, 32)`;
  let h = mask(`${mul(lo, 0x9e3779b1)} + ${mul(hi, 0x85ebca77)} + ${mul(vlo, 0xc2b2ae3d)} + ${mul(vhi, 0x27d4eb2f)} + ${0x165667b1}`);
  h = mul(xorShift(h, 15), 0x85ebca77);
  h = mul(xorShift(h, 13), 0xc2b2ae3d);
  return xorShift(h, 16);
}

/** SQL expression for the per-point hash (UInt64 holding a uint32). */
export const POINT_HASH_SQL: string = hashSql('ts', 'value');

/**
 * Aggregate over columns `ts Int64`, `value Float64` equal to SensorChecksum.checksum,
 * e.g. `SELECT sensor, count(), ${CHECKSUM_SQL} AS checksum FROM raw GROUP BY sensor`.
 */
export const CHECKSUM_SQL: string = mask(`sum(${POINT_HASH_SQL})`);
