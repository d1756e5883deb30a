import { describe, expect, it } from 'vitest';
import type { SensorBatch } from '../../lib/batch/types';
import { CONFLICT_CODE, CONFLICT_KEY_SUFFIX, conflictLetters, sameValue } from '../../lib/ingest/conflicts';
import type { OffsetBatch } from '../../lib/ingest/decode';
import { mergeBatches, originFinder } from '../../lib/ingest/merge';

const regular = (sensor: number, start: number, values: number[]): SensorBatch => ({
  kind: 'regular',
  sensor,
  start,
  periodMs: 10,
  values: Float64Array.from(values),
});
const irregular = (sensor: number, ts: number[], values: number[]): SensorBatch => ({
  kind: 'irregular',
  sensor,
  timestamps: Float64Array.from(ts),
  values: Float64Array.from(values),
});
const at = (offset: number, batch: SensorBatch): OffsetBatch => ({ offset, batch });
const rows = (p: ReturnType<typeof mergeBatches>['points']) =>
  Array.from({ length: p.length }, (_, i) => [p.sensor[i], p.ts[i], p.value[i]]);

describe('mergeBatches: repeats within a chunk', () => {
  it('collapses an identical re-sent batch silently', () => {
    const b = regular(1, 1000, [1.5, 2.5, 3.5]);
    const merged = mergeBatches([at(5, b), at(9, regular(1, 1000, [1.5, 2.5, 3.5]))]);
    expect(rows(merged.points)).toEqual([
      [1, 1000, 1.5],
      [1, 1010, 2.5],
      [1, 1020, 3.5],
    ]);
    expect(merged.conflicts).toEqual([]);
  });

  it('keeps the lower offset and reports each different repeat with the offset that offered it', () => {
    // Offsets out of order in the list: the lower offset wins whatever the order batches come in.
    const merged = mergeBatches([
      at(12, regular(1, 1010, [20.25, 3.5, 4.5])),
      at(7, regular(1, 1000, [1.5, 2.5, 3.5])),
      at(15, irregular(1, [1020], [3.5])),
    ]);
    expect(rows(merged.points)).toEqual([
      [1, 1000, 1.5],
      [1, 1010, 2.5],
      [1, 1020, 3.5],
      [1, 1030, 4.5],
    ]);
    expect(merged.conflicts).toEqual([
      { sensor: 1, ts: 1010, stored: 2.5, offered: 20.25, storedQuality: 0, offeredQuality: 0, offset: 12 },
    ]);
  });

  it('tells -0 from 0 and a last-bit difference from equality (bit identity)', () => {
    const next = 0.1 + 2 ** -56;
    expect(sameValue(0.1, next)).toBe(false);
    expect(sameValue(-0, 0)).toBe(false);
    expect(sameValue(0.1, 0.1)).toBe(true);
    const merged = mergeBatches([at(1, irregular(2, [5, 6], [0, 0.1])), at(2, irregular(2, [5, 6], [-0, next]))]);
    expect(merged.conflicts.map((c) => [c.ts, c.offered])).toEqual([
      [5, -0],
      [6, next],
    ]);
  });

  it('carries quality with each point; the same value with another quality is a conflict, the same quality a re-send', () => {
    const bad = { ...regular(1, 1000, [1, 2, 3]), quality: Uint8Array.from([0, 2, 1]) };
    const merged = mergeBatches([at(3, bad), at(5, { ...bad }), at(6, irregular(1, [1010, 1030], [2, 4]))]);
    expect(Array.from(merged.points.quality.subarray(0, merged.points.length))).toEqual([0, 2, 1, 0]);
    expect(merged.conflicts).toEqual([{ sensor: 1, ts: 1010, stored: 2, offered: 2, storedQuality: 2, offeredQuality: 0, offset: 6 }]);
  });

  it('keeps sensors apart: the same ts on two sensors is no conflict', () => {
    const merged = mergeBatches([at(1, irregular(3, [5], [1])), at(2, irregular(4, [5], [2]))]);
    expect(merged.points.length).toBe(2);
    expect(merged.conflicts).toEqual([]);
  });
});

describe('mergeBatches: corrections (latestWins)', () => {
  it('lets the higher offset correct the lower, reporting what it replaced with the offset that offered it', () => {
    const merged = mergeBatches([at(12, irregular(1, [1010], [7])), at(7, regular(1, 1000, [1, 2, 3]))], true);
    expect(rows(merged.points)).toEqual([
      [1, 1000, 1],
      [1, 1010, 7],
      [1, 1020, 3],
    ]);
    expect(merged.conflicts).toEqual([{ sensor: 1, ts: 1010, stored: 7, offered: 2, storedQuality: 0, offeredQuality: 0, offset: 7 }]);
  });
});

describe('originFinder and conflictLetters', () => {
  const batches = [at(3, regular(1, 1000, [1, 2, 3])), at(8, irregular(1, [1020, 1025], [9, 9])), at(4, regular(2, 1000, [1]))];

  it('names the lowest offset holding a point, undefined where none does', () => {
    const origin = originFinder(batches);
    expect(origin(1, 1020)).toBe(3);
    expect(origin(1, 1025)).toBe(8);
    expect(origin(1, 1015)).toBeUndefined();
    expect(origin(2, 1000)).toBe(4);
    expect(origin(3, 1000)).toBeUndefined();
  });

  it('builds one letter per record, naming every conflict, the same on a retry', () => {
    const conflicts = [
      { sensor: 1, ts: 1025, stored: 7, offered: 7, storedQuality: 0, offeredQuality: 2, offset: 8 },
      { sensor: 1, ts: 1020, stored: 3.25, offered: 9, storedQuality: 0, offeredQuality: 0, offset: 8 },
      { sensor: 2, ts: 1000, stored: 0.5, offered: 1, storedQuality: 0, offeredQuality: 0, offset: 4 },
    ];
    const key = (o: number) => Buffer.from(String(o));
    const letters = conflictLetters(conflicts, key);
    expect(letters.map((l) => [l.offset, l.error.code, l.keySuffix])).toEqual([
      [4, CONFLICT_CODE, CONFLICT_KEY_SUFFIX],
      [8, CONFLICT_CODE, CONFLICT_KEY_SUFFIX],
    ]);
    expect(JSON.parse(letters[1]!.value.toString())).toEqual({
      sensor: 1,
      conflicts: [
        { ts: 1020, stored: 3.25, offered: 9 },
        // The same value offered as bad: a conflict, and the letter names both qualities.
        { ts: 1025, stored: 7, offered: 7, stored_quality: 0, offered_quality: 2 },
      ],
    });
    expect(letters[1]!.error.message).toContain('ts 1020, stored 3.25, offered 9');
    expect(conflictLetters([...conflicts].reverse(), key)).toEqual(letters);
  });
});
