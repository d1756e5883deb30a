import { describe, expect, it } from 'vitest';
import { checkExtents } from '../../harness/verify/manifest-check';

describe('checkExtents (points per sensor, for runs too large to audit)', () => {
  const expected = new Map([
    [1, { points: 100, checksum: 7 }],
    [2, { points: 50, checksum: 9 }],
  ]);

  it('passes when every sensor holds exactly its points', () => {
    const c = checkExtents(expected, [
      { sensor: 1, points: 100 },
      { sensor: 2, points: 50 },
    ]);
    expect(c).toMatchObject({
      ok: true,
      generated_points: 150,
      stored_points: 150,
      lost_points: 0,
      duplicate_points: 0,
      unexpected_points: 0,
    });
  });

  it('counts missing points as lost, extra ones as duplicates, unknown sensors as unexpected', () => {
    const c = checkExtents(expected, [
      { sensor: 1, points: 97 },
      { sensor: 2, points: 52 },
      { sensor: 3, points: 4 },
    ]);
    expect(c).toMatchObject({ ok: false, lost_points: 3, duplicate_points: 2, unexpected_points: 4, stored_points: 153 });
    expect(c.mismatched_sensors.map((m) => [m.sensor, m.stored_points])).toEqual([
      [1, 97],
      [2, 52],
    ]);
    expect(checkExtents(expected, [{ sensor: 1, points: 100 }]).lost_points).toBe(50);
  });
});
