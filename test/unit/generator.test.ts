import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBatch } from '../../lib/batch/decode';
import { encodeBatch } from '../../lib/batch/encode';
import type { RegularBatch } from '../../lib/batch/types';
import { Manifest } from '../../generator/manifest';
import { ADC_MAX, regularBatch, sensorParams, sensorValue, sensorValues } from '../../generator/signal';
import {
  GARBAGE_SPREAD_S,
  MAX_RESEND_DELAY_S,
  REORDER_WINDOW_S,
  publicationPlan,
  type PlannedRecord,
  type UpstreamOptions,
} from '../../generator/upstream';
import { SensorChecksum } from '../../lib/model/checksum';

const T0 = Date.UTC(2025, 2, 1);
const DAY = 86_400_000;

describe('signal', () => {
  it('is a pure function of (seed, sensor, ts): ranges equal concatenated sub-ranges', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        fc.integer({ min: 1, max: 5000 }),
        fc.integer({ min: 0, max: 30 * DAY }),
        fc.constantFrom(1, 10, 100, 1000, 60_000),
        fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 6 }),
        (seed, sensor, offset, period, parts) => {
          const start = T0 + offset;
          const total = parts.reduce((a, b) => a + b, 0);
          const whole = sensorValues(seed, sensor, start, period, total);
          let at = 0;
          for (const n of parts) {
            expect(sensorValues(seed, sensor, start + at * period, period, n)).toEqual(whole.subarray(at, at + n));
            at += n;
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('gives the same value in any access order, across day boundaries', () => {
    const start = T0 + DAY - 5000; // straddles midnight
    const whole = sensorValues(11, 3, start, 1, 10_000);
    const idx = fc.sample(fc.integer({ min: 0, max: 9999 }), { numRuns: 500, seed: 1 });
    for (const i of idx) expect(sensorValue(11, 3, start + i)).toBe(whole[i]);
    // Random access at a coarser rate hits the same instants.
    const coarse = sensorValues(11, 3, start, 10, 1000);
    for (let i = 0; i < 1000; i++) expect(coarse[i]).toBe(whole[i * 10]);
  });

  it('is quantized exactly: offset + raw·scale, raw integer in the ADC range', () => {
    for (let sensor = 1; sensor <= 200; sensor++) {
      const { offset, scale } = sensorParams(5, sensor);
      expect(Number.isInteger(Math.log2(scale))).toBe(true);
      expect(Number.isInteger(offset / scale)).toBe(true);
      const v = sensorValues(5, sensor, T0 + sensor * 7919, 250, 2000); // ~8 minutes
      // Collect and assert once: 400k expect() calls would dominate the run time.
      const bad = Array.from(v).filter((x) => {
        const raw = (x - offset) / scale;
        return !(Number.isInteger(raw) && raw >= 0 && raw <= ADC_MAX && offset + raw * scale === x);
      });
      expect(bad).toEqual([]);
    }
  });

  it('looks like a sensor: moves, is noisy, and steps only at segment edges', () => {
    let stepEdges = 0;
    for (let sensor = 1; sensor <= 5; sensor++) {
      const p = sensorParams(9, sensor);
      const counts = (ts: number): number => (sensorValue(9, sensor, ts) - p.offset) / p.scale;
      const day = Array.from(sensorValues(9, sensor, T0, 1000, 86_400), (x) => (x - p.offset) / p.scale);
      expect(new Set(day).size).toBeGreaterThan(500); // noise + oscillation + trend, not a flat line
      expect(Math.max(...day) - Math.min(...day)).toBeGreaterThan(300);
      // Between adjacent milliseconds only a step edge moves the value by far more than the noise.
      const big = 8 * Math.SQRT2 * p.noiseSigma + 10;
      const firstEdge = Math.ceil(T0 / p.stepSegmentMs) * p.stepSegmentMs;
      for (let b = firstEdge; b < T0 + DAY; b += p.stepSegmentMs) {
        if (Math.abs(counts(b) - counts(b - 1)) > big) stepEdges++;
        expect(Math.abs(counts(b + 1) - counts(b))).toBeLessThan(big);
      }
    }
    expect(stepEdges).toBeGreaterThan(10);
  });

  it('depends on seed and sensor', () => {
    const a = sensorValues(1, 1, T0, 100, 100);
    expect(sensorValues(1, 1, T0, 100, 100)).toEqual(a);
    expect(sensorValues(2, 1, T0, 100, 100)).not.toEqual(a);
    expect(sensorValues(1, 2, T0, 100, 100)).not.toEqual(a);
  });

  it('builds regular batches and rejects rates that do not divide 1000', () => {
    const b = regularBatch(3, 17, T0, 50);
    expect(b).toMatchObject({ kind: 'regular', sensor: 17, start: T0, periodMs: 20 });
    expect(b.values).toEqual(sensorValues(3, 17, T0, 20, 50));
    expect(regularBatch(3, 17, T0, 1000, 5000).values.length).toBe(5000);
    expect(() => regularBatch(3, 17, T0, 7)).toThrow(RangeError);
    expect(() => regularBatch(3, 17, T0, 0)).toThrow(RangeError);
  });
});

// ---------------------------------------------------------------------------

const base: UpstreamOptions = {
  sensors: 20,
  rateHz: 10,
  durationS: 30,
  startMs: T0,
  seed: 1234,
  lateFraction: 0.05,
  maxLateMs: 8000,
  dupFraction: 0.05,
  reorder: true,
  corruptFraction: 0.05,
};

function digest(opts: UpstreamOptions): string {
  const h = createHash('sha256');
  for (const r of publicationPlan(opts)) h.update(`${r.key}|${r.kind}|${r.sensor}|${r.second}|${r.late}|`).update(r.value);
  return h.digest('hex');
}

/** The plan with each record's natural position n = second·sensors + (sensor − first). */
function positioned(opts: UpstreamOptions): (PlannedRecord & { n: number })[] {
  const first = opts.firstSensor ?? 1;
  return [...publicationPlan(opts)].map((r) => ({ ...r, n: r.second * opts.sensors + (r.sensor - first) }));
}

describe('publicationPlan', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    expect(digest(base)).toBe(digest(base));
    expect(digest({ ...base, seed: 1235 })).not.toBe(digest(base));
  });

  it('with no faults publishes every batch once, in natural order, decoding to the signal', () => {
    const opts = { ...base, firstSensor: 100, lateFraction: 0, dupFraction: 0, corruptFraction: 0, reorder: false };
    const recs = positioned(opts);
    expect(recs.map((r) => r.n)).toEqual(Array.from({ length: opts.sensors * opts.durationS }, (_, i) => i));
    for (const r of recs.slice(0, 50)) {
      expect(r.kind).toBe('batch');
      expect(r.key).toBe(String(r.sensor));
      const d = decodeBatch(r.value);
      expect(d.ok && d.value).toEqual(regularBatch(opts.seed, r.sensor, T0 + r.second * 1000, opts.rateHz));
    }
  });

  it('hits the requested fault rates over a large run, each batch exactly once', () => {
    const opts: UpstreamOptions = {
      ...base,
      sensors: 200,
      rateHz: 1,
      durationS: 300,
      lateFraction: 0.05,
      dupFraction: 0.03,
      corruptFraction: 0.02,
    };
    const total = opts.sensors * opts.durationS;
    const batches = new Map<number, Buffer>();
    const counts = { late: 0, resend: 0, garbage: 0 };
    const garbageErrors = new Set<string>();
    let randomKeys = 0;
    for (const r of positioned(opts)) {
      if (r.kind === 'batch') {
        expect(batches.has(r.n)).toBe(false);
        batches.set(r.n, r.value);
        if (r.late) counts.late++;
      } else if (r.kind === 'resend') {
        counts.resend++;
        expect(r.value.equals(batches.get(r.n)!)).toBe(true); // after, and byte-identical
      } else {
        counts.garbage++;
        const d = decodeBatch(r.value);
        expect(d.ok).toBe(false);
        if (!d.ok) garbageErrors.add(d.error.code);
        if (r.key !== String(r.sensor)) randomKeys++;
      }
    }
    expect(batches.size).toBe(total);
    expect(counts.late / total).toBeCloseTo(0.05, 2);
    expect(counts.resend / total).toBeCloseTo(0.03, 2);
    expect(counts.garbage / total).toBeCloseTo(0.02, 2);
    // All garbage kinds show up: random bytes, truncation, bit flips, bad magic/version.
    for (const code of ['bad_magic', 'unsupported_version', 'checksum_mismatch']) expect(garbageErrors).toContain(code);
    expect([...garbageErrors].some((c) => c === 'truncated_frame' || c === 'count_mismatch' || c === 'empty_input')).toBe(true);
    expect(randomKeys).toBeGreaterThan(0);
  });

  it('holds late batches back by more than 1 s and at most maxLateMs of natural order', () => {
    const opts: UpstreamOptions = {
      ...base,
      sensors: 50,
      durationS: 120,
      rateHz: 1,
      reorder: false,
      lateFraction: 0.1,
      dupFraction: 0,
      corruptFraction: 0,
    };
    const N = opts.sensors;
    const recs = positioned(opts);
    const end = N * opts.durationS;
    let maxBefore = -1;
    let late = 0;
    for (const r of recs) {
      if (r.late) {
        late++;
        expect(maxBefore - r.n).toBeLessThanOrEqual((opts.maxLateMs / 1000) * N);
        // Either something more than a second newer went out first, or the run ended.
        if (maxBefore - r.n <= N) expect(r.n + N).toBeGreaterThanOrEqual(end - 1);
      }
      maxBefore = Math.max(maxBefore, r.n);
    }
    expect(late).toBeGreaterThan(400);
  });

  it('reorders only within the window and keeps garbage and resends near their batch', () => {
    const opts: UpstreamOptions = {
      ...base,
      sensors: 100,
      durationS: 60,
      rateHz: 1,
      lateFraction: 0,
      dupFraction: 0.05,
      corruptFraction: 0.05,
    };
    const N = opts.sensors;
    const recs = positioned(opts);
    let maxBefore = -1;
    let displaced = 0;
    const pos = new Map<number, number>();
    recs.forEach((r, i) => {
      if (r.kind === 'batch') {
        expect(maxBefore - r.n).toBeLessThanOrEqual(REORDER_WINDOW_S * N);
        if (maxBefore > r.n) displaced++;
        maxBefore = Math.max(maxBefore, r.n);
        pos.set(r.n, i);
      }
    });
    expect(displaced).toBeGreaterThan(recs.length / 4); // it really shuffles
    // Resends and garbage, relative to the newest batch already out when they are published.
    maxBefore = -1;
    for (const r of recs) {
      if (r.kind === 'resend') expect(maxBefore - r.n).toBeLessThanOrEqual((REORDER_WINDOW_S + MAX_RESEND_DELAY_S) * N);
      if (r.kind === 'garbage') expect(Math.abs(maxBefore - r.n)).toBeLessThanOrEqual((REORDER_WINDOW_S + GARBAGE_SPREAD_S) * N + 1);
      if (r.kind === 'batch') maxBefore = Math.max(maxBefore, r.n);
    }
  });

  it('streams: pulls the first records of a 1000 sensors × 3600 s plan without materializing it', () => {
    const it = publicationPlan({ ...base, sensors: 1000, durationS: 3600, maxLateMs: 30_000 });
    const first: PlannedRecord[] = [];
    for (const r of it) {
      first.push(r);
      if (first.length === 20_000) break;
    }
    expect(first.length).toBe(20_000);
    expect(Math.max(...first.map((r) => r.second))).toBeLessThan(30);
  });

  it('rejects bad options', () => {
    expect(() => [...publicationPlan({ ...base, rateHz: 3 })]).toThrow(RangeError);
    expect(() => [...publicationPlan({ ...base, lateFraction: 2 })]).toThrow(RangeError);
    expect(() => [...publicationPlan({ ...base, sensors: 0 })]).toThrow(RangeError);
  });
});

// ---------------------------------------------------------------------------

describe('Manifest', () => {
  const batchOf = (opts: UpstreamOptions, r: PlannedRecord): RegularBatch =>
    regularBatch(opts.seed, r.sensor, opts.startMs + r.second * 1000, opts.rateHz);

  it('counts each (sensor, second) once however often it is re-sent', () => {
    const opts: UpstreamOptions = { ...base, dupFraction: 0.3 };
    const manifest = new Manifest(opts.seed);
    const n = { batch: 0, resend: 0, garbage: 0, late: 0 };
    for (const r of publicationPlan(opts)) {
      n[r.kind]++;
      if (r.late) n.late++;
      manifest.record(r); // decodes the frame itself, as generator/run.ts relies on
    }
    expect(n.resend).toBeGreaterThan(0);
    const perSensor = opts.durationS * opts.rateHz;
    const json = manifest.toJSON();
    expect(json.totals).toEqual({
      batches: n.batch,
      resent: n.resend,
      late: n.late,
      garbage: n.garbage,
      generated_points: perSensor * opts.sensors,
    });
    for (let s = 1; s <= opts.sensors; s++) {
      // Independent recomputation over the whole contiguous range.
      const c = new SensorChecksum();
      const values = sensorValues(opts.seed, s, opts.startMs, 1000 / opts.rateHz, perSensor);
      values.forEach((v, i) => {
        c.add(opts.startMs + (i * 1000) / opts.rateHz, v);
      });
      expect(json.sensors[String(s)]).toEqual({ points: perSensor, checksum: c.checksum });
    }
  });

  it('takes a given batch or decodes the frame, and round-trips through a file', () => {
    const opts = { ...base, sensors: 2, durationS: 2 };
    const manifest = new Manifest(7);
    const rec = (kind: PlannedRecord['kind'], second: number, value: Buffer = Buffer.alloc(0)): PlannedRecord => ({
      key: '1',
      value,
      kind,
      sensor: 1,
      second,
      late: false,
    });
    const frame = (second: number): Buffer => encodeBatch(batchOf(opts, rec('batch', second)));
    expect(() => manifest.record(rec('batch', 0))).toThrow(/does not decode/); // no batch, empty frame
    manifest.record(rec('resend', 0), batchOf(opts, rec('batch', 0))); // a resend may arrive first
    manifest.record(rec('batch', 0)); // already seen: nothing to decode
    manifest.record(rec('batch', 1, frame(1)));
    manifest.record(rec('garbage', 1, Buffer.from('junk')));
    expect(manifest.sensor(1)?.points).toBe(2 * opts.rateHz);
    expect(manifest.totals).toMatchObject({ batches: 2, resent: 1, garbage: 1, generated_points: 2 * opts.rateHz });

    const dir = mkdtempSync(join(tmpdir(), 'manifest-'));
    try {
      const path = join(dir, 'sub', 'manifest.json');
      manifest.writeFile(path);
      const back = Manifest.readFile(path);
      expect(back.toJSON()).toEqual(manifest.toJSON());
      expect(back.toJSON()).toMatchObject({ version: 1, seed: 7 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// encodeBatch is what the plan uses for valid frames; keep the import honest.
it('plan frames are encodeBatch output', () => {
  const r = publicationPlan({ ...base, lateFraction: 0, dupFraction: 0, corruptFraction: 0, reorder: false }).next().value as PlannedRecord;
  expect(r.value.equals(encodeBatch(regularBatch(base.seed, 1, T0, base.rateHz)))).toBe(true);
});
