import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { LedgerRow } from '../../lib/clickhouse/ledger';
import { checkStep, planLens, stepCost } from '../../lib/lens/planner';
import { bucketCount, levelFor, makeLadder, MS, niceStep, NICE_STEPS_MS } from '../../lib/model/ladder';

const ladder = makeLadder();
const DAY0 = Date.UTC(2026, 0, 1);

const row = (sensor: number, start: number, pending: number, compacted: number): LedgerRow => ({
  sensor,
  start,
  pending,
  ingested: pending,
  compacted,
  touched: 0,
});

describe('ladder', () => {
  it('rejects levels that do not divide each other or miss the window', () => {
    expect(() => makeLadder([10, 30, 100, 60_000])).toThrow(/multiple/);
    expect(() => makeLadder([10, 100, 1000])).toThrow(/window/);
  });

  it('chooses the coarsest level that tiles the step, at most 5 rows per bucket', () => {
    expect(levelFor(ladder, 7)).toBeNull();
    expect(levelFor(ladder, 20)).toBe(10);
    expect(levelFor(ladder, 50)).toBe(10);
    expect(levelFor(ladder, 2000)).toBe(1000);
    expect(levelFor(ladder, 7000)).toBe(1000);
    expect(levelFor(ladder, 30 * MS.minute)).toBe(10 * MS.minute);
    expect(levelFor(ladder, 2 * MS.day)).toBe(MS.day);
    for (const step of NICE_STEPS_MS) {
      const level = levelFor(ladder, step);
      if (level !== null) expect(step / level).toBeLessThanOrEqual(5);
    }
  });

  it('niceStep is the smallest nice width giving at most `points` epoch-aligned buckets', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: DAY0, max: DAY0 + 400 * MS.day }),
        fc.integer({ min: 1, max: 60 * MS.day }),
        fc.integer({ min: 1, max: 10_000 }),
        (from, span, points) => {
          const step = niceStep(from, from + span, points);
          expect(NICE_STEPS_MS).toContain(step);
          expect(bucketCount(from, from + span, step)).toBeLessThanOrEqual(points);
          const smaller = NICE_STEPS_MS.filter((s) => s < step);
          for (const s of smaller) expect(bucketCount(from, from + span, s)).toBeGreaterThan(points);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('lens planner', () => {
  it('clean days read one rollup level, whole range in one segment per sensor', () => {
    const plan = planLens(ladder, [1, 2], DAY0, DAY0 + 3 * MS.day, 20 * MS.minute, {
      days: [row(1, DAY0, 5, 5), row(2, DAY0 + MS.day, 7, 7)],
      windows: [],
    });
    expect(plan.level).toBe(10 * MS.minute);
    expect(plan.rawWindows).toBe(0);
    expect(plan.segments).toEqual([
      { sensor: 1, from: DAY0, to: DAY0 + 3 * MS.day, source: { kind: 'rollup', level: 10 * MS.minute } },
      { sensor: 2, from: DAY0, to: DAY0 + 3 * MS.day, source: { kind: 'rollup', level: 10 * MS.minute } },
    ]);
  });

  it('inside a day that is not clean: clean windows from window-level rows, dirty windows from raw', () => {
    const dirty = DAY0 + MS.day + 10 * MS.minute;
    const plan = planLens(ladder, [1], DAY0, DAY0 + 2 * MS.day, MS.hour, {
      days: [row(1, DAY0 + MS.day, 9, 5)],
      windows: [row(1, dirty, 9, 5), row(1, dirty + MS.minute, 5, 5)],
    });
    expect(plan.rawWindows).toBe(1);
    expect(plan.segments).toEqual([
      { sensor: 1, from: DAY0, to: DAY0 + MS.day, source: { kind: 'rollup', level: MS.hour } },
      { sensor: 1, from: DAY0 + MS.day, to: dirty, source: { kind: 'rollup', level: MS.minute } },
      { sensor: 1, from: dirty, to: dirty + MS.minute, source: { kind: 'raw' } },
      { sensor: 1, from: dirty + MS.minute, to: DAY0 + 2 * MS.day, source: { kind: 'rollup', level: MS.minute } },
    ]);
  });

  it('segments tile the bucket grid exactly, for any ledger state', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3 * MS.day }),
        fc.integer({ min: 1, max: 300 * MS.day }),
        fc.constantFrom(...NICE_STEPS_MS.filter((s) => s <= 200 * MS.day)),
        fc.array(fc.integer({ min: 0, max: 400 * 1440 }), { maxLength: 20 }),
        (offset, span, step, dirtyMinutes) => {
          const from = DAY0 + offset;
          const windows = dirtyMinutes.map((m) => row(1, DAY0 + m * MS.minute, 2, 1));
          const days = [...new Set(windows.map((w) => Math.floor(w.start / MS.day) * MS.day))].map((d) => row(1, d, 2, 1));
          const plan = planLens(ladder, [1], from, from + span, step, { days, windows });
          expect(plan.segments[0]!.from).toBe(plan.from);
          expect(plan.segments[plan.segments.length - 1]!.to).toBe(plan.to);
          for (let i = 1; i < plan.segments.length; i++) expect(plan.segments[i]!.from).toBe(plan.segments[i - 1]!.to);
          for (const s of plan.segments) {
            if (s.source.kind === 'raw') continue;
            // Rollup rows of the chosen level must fit whole inside the segment.
            expect(s.from % s.source.level).toBe(0);
            expect(s.to % s.source.level).toBe(0);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('lens row budget', () => {
  const limits = { maxRows: 1_000_000, maxBuckets: 10_000, maxStepMs: 366 * MS.day };
  const t0 = 84 * 17 * 1_234_567 * 1000; // 2025-11-12, on the grid of every step below

  it('the coarsest level that tiles the step is used: 17 s is tiled by 1 s (not 10 s), 17 ms by none (raw points)', () => {
    expect(stepCost(ladder, 1, t0, t0 + 17_000 * 100, 17_000)).toEqual({ stepMs: 17_000, level: 1000, rows: 1700 });
    expect(stepCost(ladder, 2, t0, t0 + 1700, 17)).toEqual({ stepMs: 17, level: null, rows: 3400 });
    // Within the budget, both are planned as they are.
    expect(checkStep(ladder, 10, { from: t0, to: t0 + 5000 * 17_000 }, 17_000, limits)).toEqual({ ok: true });
    expect(checkStep(ladder, 1, { from: t0, to: t0 + 100 * 17 }, 17, limits)).toEqual({ ok: true });
  });

  it('a step reading more than the budget is refused with the nearest cheap steps below and above', () => {
    const raw17 = checkStep(ladder, 10, { from: t0, to: t0 + 9000 * 17 }, 17, limits);
    expect(raw17).toEqual({ ok: false, cost: { stepMs: 17, level: null, rows: 1_530_000 }, nearest: [20] });
    const odd = checkStep(ladder, 1, { from: t0, to: t0 + 9000 * 1_234_567 }, 1_234_567, limits);
    expect(odd).toMatchObject({ ok: false, cost: { level: null }, nearest: [1_200_000, 1_260_000] });
    // Over 100 buckets the 1 s level fits (the 10 ms and 10 s multiples next to the step do not).
    const short = checkStep(ladder, 1, { from: t0, to: t0 + 100 * 1_234_567 }, 1_234_567, limits);
    expect(short).toMatchObject({ ok: false, nearest: [1_234_000, 1_235_000] });
    // Nothing fits: no suggestion (the message asks for a shorter range or fewer sensors).
    const none = checkStep(ladder, 10, { from: t0, to: t0 + 1000 * MS.day }, 17, { ...limits, maxRows: 1000, maxStepMs: MS.day });
    expect(none).toMatchObject({ ok: false, nearest: [] });
  });

  it('every suggestion fits: within the budget and the bucket limit, on its side of the step', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10 * MS.day }),
        fc.integer({ min: 1, max: 30 * MS.day }),
        fc.integer({ min: 1, max: 10 * MS.day }),
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 1000, max: 2_000_000 }),
        (offset, span, step, sensors, maxRows) => {
          const range = { from: DAY0 + offset, to: DAY0 + offset + span };
          const check = checkStep(ladder, sensors, range, step, { ...limits, maxRows });
          if (check.ok) {
            expect(stepCost(ladder, sensors, range.from, range.to, step).rows).toBeLessThanOrEqual(maxRows);
            return;
          }
          expect(check.cost.rows).toBeGreaterThan(maxRows);
          expect(check.nearest.length).toBeLessThanOrEqual(2);
          for (const s of check.nearest) {
            expect(s).not.toBe(step);
            expect(stepCost(ladder, sensors, range.from, range.to, s).rows).toBeLessThanOrEqual(maxRows);
            expect(bucketCount(range.from, range.to, s)).toBeLessThanOrEqual(limits.maxBuckets);
          }
          if (check.nearest.length === 2) expect(check.nearest[0]!).toBeLessThan(step);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('at the default budget no 1-2-5 step is ever refused, at the most points and sensors a lens may ask for', () => {
    for (const step of NICE_STEPS_MS) {
      for (const offset of [0, 1, step - 1]) {
        const from = DAY0 + offset;
        expect(checkStep(ladder, 10, { from, to: from + 10_000 * step }, step, limits), `step ${step}`).toEqual({ ok: true });
      }
    }
  });
});
