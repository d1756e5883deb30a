import { describe, expect, it } from 'vitest';
import { rangesWhere } from '../../lib/clickhouse/sql';

describe('rangesWhere', () => {
  it('is false for no ranges', () => {
    expect(rangesWhere('ts', [])).toBe('0');
  });

  it('renders sensors sharing a span as one IN term, other spans as their own', () => {
    const sql = rangesWhere('ts', [
      { sensor: 1, from: 0, to: 60_000 },
      { sensor: 7, from: 0, to: 60_000 },
      { sensor: 1, from: 120_000, to: 180_000 },
    ]);
    expect(sql).toBe('(sensor IN (1, 7) AND ts >= 0 AND ts < 60000) OR (sensor IN (1) AND ts >= 120000 AND ts < 180000)');
  });

  it('refuses anything but safe integers', () => {
    expect(() => rangesWhere('ts', [{ sensor: 1.5, from: 0, to: 1 }])).toThrow(TypeError);
  });
});
