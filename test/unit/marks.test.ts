import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { markKey, unmarked, type Mark } from '../../lib/clickhouse/marks';
import { runSlices, unitRanges, unitRuns, type UnitRun, type UnitVersion } from '../../lib/clickhouse/units';

const expand = (runs: UnitRun[]): UnitVersion[] =>
  runs.flatMap((r) => Array.from({ length: r.count }, (_, k) => ({ sensor: r.sensor, start: r.first + k * r.step, version: r.version })));

const unitArb = fc.record({
  sensor: fc.integer({ min: 1, max: 4 }),
  start: fc.integer({ min: 0, max: 20 }).map((k) => k * 60_000),
  version: fc.integer({ min: 1, max: 3 }),
});

describe('unit runs', () => {
  test('a day of windows of one sensor is one run; order and every unit are kept', () => {
    const day = Array.from({ length: 1440 }, (_, i) => ({ sensor: 7, start: i * 60_000, version: 5 }));
    expect(unitRuns(day)).toEqual([{ sensor: 7, first: 0, step: 60_000, count: 1440, version: 5 }]);
  });

  test('runs expand to exactly the units given, in order, for any list', () => {
    fc.assert(
      fc.property(fc.array(unitArb, { maxLength: 60 }), (units) => {
        expect(expand(unitRuns(units))).toEqual(units);
      }),
    );
  });

  test('slices hold at most maxRuns runs and maxUnits units, and expand to the same units', () => {
    fc.assert(
      fc.property(
        fc.array(unitArb, { maxLength: 60 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 7 }),
        (units, maxRuns, maxUnits) => {
          const slices = runSlices(unitRuns(units), maxRuns, maxUnits);
          for (const s of slices) {
            expect(s.length).toBeLessThanOrEqual(maxRuns);
            expect(s.reduce((a, r) => a + r.count, 0)).toBeLessThanOrEqual(maxUnits);
          }
          expect(slices.flatMap(expand)).toEqual(units);
        },
      ),
    );
  });

  test('ranges cover exactly the units: contiguous ones share a range', () => {
    const units = [0, 1, 2, 5].map((k) => ({ sensor: 1, start: k * 10 })).concat([{ sensor: 2, start: 10 }]);
    expect(unitRanges(units, 10)).toEqual([
      { sensor: 1, from: 0, to: 30 },
      { sensor: 1, from: 50, to: 60 },
      { sensor: 2, from: 10, to: 20 },
    ]);
  });
});

const mark = (sensor: number, start: number, version: number): Mark => ({ sensor, start, version, count: 1, touched: 100 });

describe('marks', () => {
  test('unmarked: units whose latest live mark is not above their compacted version', () => {
    const latest = [mark(1, 0, 20), mark(1, 60, 5), mark(2, 0, 7)];
    const units = [
      { sensor: 1, start: 0, compacted: 20 },
      { sensor: 1, start: 60, compacted: 4 },
      { sensor: 2, start: 0, compacted: 0 },
      { sensor: 3, start: 0, compacted: 0 },
    ];
    expect(unmarked(units, (u) => u.compacted, latest).map(markKey)).toEqual(['1:0', '3:0']);
  });
});
