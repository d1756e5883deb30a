import { describe, expect, test } from 'vitest';
import { decodeLensBinary, encodeLensBinary } from '../../lib/lens/lens-binary';
import type { LensResult } from '../../lib/lens/query';

describe('binary lens', () => {
  test('round-trips every bucket, empty buckets included, bit for bit', () => {
    const lens: LensResult = {
      from: 1_767_225_600_000,
      to: 1_767_225_600_000 + 3 * 20_000,
      step_ms: 20_000,
      quality: 'good',
      sensors: [
        {
          sensor: 7,
          t: [1_767_225_600_000, 1_767_225_620_000, 1_767_225_640_000],
          count: [3, 0, 1],
          good: [3, 0, 1],
          uncertain: [0, 0, 0],
          bad: [0, 0, 0],
          avg: [0.1 + 0.2, null, -0],
          min: [-1e300, null, -0],
          max: [Number.MAX_VALUE, null, 5e-324],
          first: [0.1, null, -0],
          last: [Math.fround(0.3), null, 2 ** 53],
        },
        {
          sensor: 12,
          t: [0, 0, 0].map((_, i) => 1_767_225_600_000 + i * 20_000),
          count: [0, 0, 0],
          good: [0, 0, 0],
          uncertain: [0, 0, 0],
          bad: [0, 0, 0],
          avg: [null, null, null],
          min: [null, null, null],
          max: [null, null, null],
          first: [null, null, null],
          last: [null, null, null],
        },
      ],
      plan: { level_ms: 10_000, raw_windows: 2, rows_read: 123, segments: 4 },
    };
    const body = encodeLensBinary(lens);
    expect(body.byteLength % 8).toBe(0);
    const back = decodeLensBinary(body);
    expect(back).toEqual(lens);
    expect(Object.is(back.sensors[0]!.min[2], -0)).toBe(true);
  });

  test('a bucket of bad points only has counts, first and last but no avg, min or max over good points', () => {
    const lens: LensResult = {
      from: 0,
      to: 2000,
      step_ms: 1000,
      quality: 'good',
      sensors: [
        {
          sensor: 3,
          t: [0, 1000],
          count: [2, 3],
          good: [0, 2],
          uncertain: [0, 1],
          bad: [2, 0],
          avg: [null, 1.5],
          min: [null, 1],
          max: [null, 2],
          first: [7, 1],
          last: [8, 9],
        },
      ],
      plan: { level_ms: null, raw_windows: 1, rows_read: 5, segments: 1 },
    };
    expect(decodeLensBinary(encodeLensBinary(lens))).toEqual(lens);
    const any = { ...lens, quality: 'any' as const, sensors: [{ ...lens.sensors[0]!, avg: [7.5, 4], min: [7, 1], max: [8, 9] }] };
    expect(decodeLensBinary(encodeLensBinary(any))).toEqual(any);
  });

  test('refuses a body that is not a binary lens', () => {
    expect(() => decodeLensBinary(new TextEncoder().encode('{"from":1}'))).toThrow(/binary lens/);
  });
});
