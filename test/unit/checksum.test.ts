import { Session } from 'chdb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECKSUM_SQL, POINT_HASH_SQL, SensorChecksum, float64Bits, pointHash } from '../../lib/model/checksum';

const M = 0xffffffffn;
/** The spec formula in BigInt, independent of the Math.imul tricks. */
function referenceHash(ts: number, bits: bigint): number {
  const t = BigInt.asUintN(64, BigInt(ts));
  const lo = t & M;
  const hi = (t >> 32n) & M;
  let h = (lo * 0x9e3779b1n + hi * 0x85ebca77n + (bits & M) * 0xc2b2ae3dn + (bits >> 32n) * 0x27d4eb2fn + 0x165667b1n) & M;
  h ^= h >> 15n;
  h = (h * 0x85ebca77n) & M;
  h ^= h >> 13n;
  h = (h * 0xc2b2ae3dn) & M;
  h ^= h >> 16n;
  return Number(h);
}

const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);
const fromBits = (bits: bigint): number => {
  u64[0] = bits;
  return f64[0]!;
};
const toBits = (v: number): bigint => {
  f64[0] = v;
  return u64[0]!;
};
const halves = (bits: bigint): [number, number] => [Number(bits & M), Number(bits >> 32n)];
const isNaNBits = (bits: bigint): boolean => ((bits >> 52n) & 0x7ffn) === 0x7ffn && (bits & (2n ** 52n - 1n)) !== 0n;
const u64Arb = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });

describe('pointHash', () => {
  it('matches the BigInt reference formula', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), u64Arb, (ts, bits) => {
        expect(pointHash(ts, ...halves(bits))).toBe(referenceHash(ts, bits));
      }),
      { numRuns: 2000 },
    );
    for (const ts of [0, 1, -1, 2 ** 32, 2 ** 32 - 1, 2 ** 53 - 1, Date.UTC(2025, 0, 1)]) {
      for (const bits of [0n, 1n, 2n ** 63n, 2n ** 64n - 1n]) expect(pointHash(ts, ...halves(bits))).toBe(referenceHash(ts, bits));
    }
  });

  it('distinguishes -0 from 0 and is a uint32', () => {
    expect(float64Bits(-0)).toEqual([0, 0x80000000]);
    expect(pointHash(5, ...float64Bits(-0))).not.toBe(pointHash(5, ...float64Bits(0)));
    const h = pointHash(2 ** 53 - 1, 0xffffffff, 0xffffffff);
    expect(Number.isInteger(h) && h >= 0 && h <= 0xffffffff).toBe(true);
  });
});

describe('SensorChecksum', () => {
  it('is order independent and counts points', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 2 ** 45 }), { maxLength: 200 }), fc.integer(), (tss, seed) => {
        const pts = tss.map((ts, i) => [ts, Math.sin(i + seed) * 1000] as const);
        const a = new SensorChecksum();
        const b = new SensorChecksum();
        for (const [ts, v] of pts) a.add(ts, v);
        for (const [ts, v] of [...pts].reverse()) b.add(ts, v);
        expect(a.checksum).toBe(b.checksum);
        expect(a.points).toBe(pts.length);
        const expected = pts.reduce((s, [ts, v]) => (s + referenceHash(ts, toBits(v))) % 2 ** 32, 0);
        expect(a.checksum).toBe(expected);
      }),
    );
  });
});

describe('CHECKSUM_SQL', () => {
  it('uses only functions ClickHouse 18.16 has, and no hex literals', () => {
    const allowed = new Set(['bitAnd', 'bitXor', 'bitShiftRight', 'toUInt64', 'reinterpretAsUInt64', 'reinterpretAsString', 'sum']);
    const used = new Set([...CHECKSUM_SQL.matchAll(/([A-Za-z_]\w*)\s*\(/g)].map((m) => m[1]!));
    expect([...used].filter((f) => !allowed.has(f))).toEqual([]);
    expect(CHECKSUM_SQL).not.toMatch(/0x/i);
  });

  describe('agrees with JS on chdb', () => {
    let session: Session;
    beforeAll(() => {
      session = new Session();
    });
    afterAll(() => session?.cleanup());

    it('per point and per sensor, on random and edge values', () => {
      // Deterministic pseudo-random points over 5 sensors, plus edge cases.
      const rows: { sensor: number; ts: number; bits: bigint }[] = [];
      const edgeBits = [0, -0, 5e-324, -5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, -1.7976931348623157e308, 1, -1, 0.1].map(
        toBits,
      );
      const edgeTs = [0, 1, -1, -(2 ** 40), 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, -(2 ** 53) + 1, Date.UTC(2025, 0, 1)];
      for (const ts of edgeTs) for (const bits of edgeBits) rows.push({ sensor: 0, ts, bits });
      const gen = fc.sample(fc.tuple(fc.integer({ min: 1, max: 4 }), fc.maxSafeInteger(), u64Arb), {
        numRuns: 4000,
        seed: 42,
      });
      const seen = new Set<string>();
      for (const [sensor, ts, bits] of gen) {
        // Distinct (sensor, ts) like a deduplicated table; NaN payloads and infinities are not data.
        if (isNaNBits(bits) || !Number.isFinite(fromBits(bits)) || seen.has(`${sensor}:${ts}`)) continue;
        seen.add(`${sensor}:${ts}`);
        rows.push({ sensor, ts, bits });
      }
      for (let i = 0; i < 500; i++) rows.push({ sensor: 5, ts: Date.UTC(2025, 0, 1) + i, bits: toBits(-1000 + i * 0.1) });

      session.query('CREATE TABLE src (sensor UInt32, ts Int64, bits UInt64) ENGINE = Memory');
      session.query(`INSERT INTO src VALUES ${rows.map((r) => `(${r.sensor},${r.ts},${r.bits})`).join(',')}`);
      // The real shape: a Float64 column named value (filled bit-exactly, so -0 and subnormals survive).
      session.query('CREATE TABLE raw (sensor UInt32, ts Int64, value Float64) ENGINE = Memory');
      session.query('INSERT INTO raw SELECT sensor, ts, reinterpretAsFloat64(bits) FROM src');

      const perPoint = session
        .query(
          `SELECT ts, toString(reinterpretAsUInt64(reinterpretAsString(value))) AS bits, ${POINT_HASH_SQL} AS h FROM raw WHERE sensor = 0 ORDER BY ts, bits`,
          'JSONEachRow',
        )
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { ts: string | number; bits: string; h: string | number });
      expect(perPoint.length).toBe(edgeTs.length * edgeBits.length);
      for (const p of perPoint) expect(Number(p.h)).toBe(pointHash(Number(p.ts), ...halves(BigInt(p.bits))));

      const js = new Map<number, SensorChecksum>();
      for (const r of rows) {
        if (!js.has(r.sensor)) js.set(r.sensor, new SensorChecksum());
        js.get(r.sensor)!.add(r.ts, fromBits(r.bits));
      }
      const sql = session
        .query(`SELECT sensor, count() AS n, ${CHECKSUM_SQL} AS checksum FROM raw GROUP BY sensor ORDER BY sensor`, 'JSONEachRow')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { sensor: number; n: string | number; checksum: string | number });
      expect(sql.map((r) => r.sensor)).toEqual([...js.keys()].sort((a, b) => a - b));
      for (const r of sql) {
        const c = js.get(r.sensor)!;
        expect({ sensor: r.sensor, n: Number(r.n), checksum: Number(r.checksum) }).toEqual({
          sensor: r.sensor,
          n: c.points,
          checksum: c.checksum,
        });
      }
    });
  });
});
