import { describe, expect, it } from 'vitest';
import { encodeBatch } from '../../lib/batch/encode';
import { DEFAULT_BATCH_LIMITS, limitsAt, type BatchLimits, type SensorBatch } from '../../lib/batch/types';
import { validateBatch } from '../../lib/batch/validate';
import { classifyClickHouseError, clickHouseCode } from '../../lib/clickhouse/errors';
import { decodeChunk } from '../../lib/ingest/decode';
import { blockStarts, splitByDays } from '../../lib/ingest/day-blocks';
import type { RangeRecord } from '../../lib/kafka/range-reader';
import { allocatePoints, type PointColumns } from '../../lib/model/points';

const DAY = 86_400_000;
const T0 = Date.UTC(2025, 0, 1);
const INGEST: BatchLimits = { ...DEFAULT_BATCH_LIMITS, ingest: { maxDays: 100, maxBytes: 4096, futureSkewMs: DAY } };

const regular = (start: number, periodMs: number, n: number, sensor = 7): SensorBatch => ({
  kind: 'regular',
  sensor,
  start,
  periodMs,
  values: new Float64Array(n),
});
const irregular = (ts: number[]): SensorBatch => ({
  kind: 'irregular',
  sensor: 7,
  timestamps: Float64Array.from(ts),
  values: new Float64Array(ts.length),
});

describe('ingest limits', () => {
  it('ingest takes good, uncertain and bad points; a code other than 0, 1, 2 is refused with its position', () => {
    const q = (codes: number[]): SensorBatch => ({ ...regular(T0, 1, codes.length), quality: Uint8Array.from(codes) });
    expect(validateBatch(q([0, 0, 0]), INGEST)).toBeNull();
    expect(validateBatch(q([0, 2, 1]), INGEST)).toBeNull();
    expect(validateBatch(q([0, 1, 3]), INGEST)).toMatchObject({ code: 'invalid_quality', field: 'quality[2]' });
  });

  it('a batch touches at most maxDays UTC days; the field is the first point beyond them', () => {
    expect(validateBatch(regular(T0, DAY, 100), INGEST)).toBeNull();
    // the last of 100 days, to its last millisecond
    expect(validateBatch(irregular([T0 + DAY - 1, T0 + 100 * DAY - 1]), INGEST)).toBeNull();
    expect(validateBatch(regular(T0, DAY, 200), INGEST)).toMatchObject({ code: 'too_many_days', field: 'ts[100]' });
    expect(validateBatch(regular(T0 + DAY - 1, 1, 2), { ...INGEST, ingest: { ...INGEST.ingest!, maxDays: 1 } })).toMatchObject({
      code: 'too_many_days',
      field: 'ts[1]',
    });
    expect(validateBatch(irregular([T0, T0 + 1, T0 + 100 * DAY, T0 + 101 * DAY]), INGEST)).toMatchObject({
      code: 'too_many_days',
      field: 'ts[2]',
    });
    // The format alone has no such bound.
    expect(validateBatch(regular(T0, DAY, 200))).toBeNull();
  });

  it('no timestamp after now + skew, judged only when now is given', () => {
    const now = T0 + 10 * DAY;
    const at = limitsAt(INGEST, now);
    expect(validateBatch(regular(now + DAY - 2, 1, 3), at)).toBeNull();
    expect(validateBatch(regular(now + DAY - 2, 1, 4), at)).toMatchObject({ code: 'future_timestamp', field: 'ts[3]' });
    expect(validateBatch(irregular([now, now + 2 * DAY]), at)).toMatchObject({ code: 'future_timestamp', field: 'ts[1]' });
    expect(validateBatch(regular(now + 2 * DAY, 1, 1), at)?.message).toMatch(/at most 86400000 ms after now/);
    expect(validateBatch(regular(now + 2 * DAY, 1, 1), INGEST)).toBeNull();
  });

  it('a batch frame is at most maxBytes', () => {
    // 40 + 8·507 = 4096 (version 2: 8-byte values, a 36-byte regular header)
    expect(validateBatch(regular(T0, 1, 507), INGEST)).toBeNull();
    expect(validateBatch(regular(T0, 1, 508), INGEST)).toMatchObject({ code: 'batch_too_large', field: 'count' });
  });
});

function points(rows: [sensor: number, ts: number][]): PointColumns {
  const p = allocatePoints(rows.length);
  for (const [sensor, ts] of rows) {
    p.sensor[p.length] = sensor;
    p.ts[p.length] = ts;
    p.value[p.length++] = ts / DAY;
  }
  return p;
}

describe('insert blocks by day', () => {
  const rows: [number, number][] = [
    [1, T0],
    [1, T0 + 150 * DAY],
    [2, T0 + 5],
    [2, T0 + 99 * DAY],
    [2, T0 + 100 * DAY],
    [3, T0 + 250 * DAY],
  ];
  const day0 = T0 / DAY;

  it('groups the distinct days of the points (the partitions they touch) by at most the block size', () => {
    // days 0, 99, 100, 150 and 250: five partitions
    expect(blockStarts(points(rows), 100)).toEqual([day0]);
    expect(blockStarts(points(rows), 2)).toEqual([day0, day0 + 100, day0 + 250]);
    expect(blockStarts(points([]), 100)).toEqual([]);
  });

  it('splits points by those starts, keeping their order; a block may be empty', () => {
    const p = points(rows);
    const blocks = splitByDays(p, [day0, day0 + 100, day0 + 200]);
    expect(blocks.map((b) => Array.from(b.ts.subarray(0, b.length)))).toEqual([
      [T0, T0 + 5, T0 + 99 * DAY],
      [T0 + 150 * DAY, T0 + 100 * DAY],
      [T0 + 250 * DAY],
    ]);
    expect(blocks.map((b) => Array.from(b.sensor.subarray(0, b.length)))).toEqual([[1, 2, 2], [1, 2], [3]]);
    expect(splitByDays(points([[1, T0 + 300 * DAY]]), [day0, day0 + 100]).map((b) => b.length)).toEqual([0, 1]);
    expect(splitByDays(p, [day0])).toEqual([p]);
  });
});

describe('chunk budget', () => {
  const record = (offset: number, batch: SensorBatch | Buffer): RangeRecord => ({
    offset,
    key: Buffer.from(String(7)),
    value: Buffer.isBuffer(batch) ? batch : encodeBatch(batch),
    headers: {},
  });

  it('stops before the first record that would take the points past the budget, after at least one', () => {
    const records = [record(10, regular(T0, 1, 600)), record(11, Buffer.from('garbage')), record(12, regular(T0 + 600, 1, 500))];
    expect(decodeChunk(records, DEFAULT_BATCH_LIMITS, 1000)).toMatchObject({ taken: 2, batches: [{ offset: 10 }] });
    expect(decodeChunk(records, DEFAULT_BATCH_LIMITS, 1100).taken).toBe(3);
    expect(decodeChunk(records, DEFAULT_BATCH_LIMITS, 10).taken).toBe(1);
  });
});

describe('ClickHouse errors no retry fixes', () => {
  const error = (code: string, message: string) => Object.assign(new Error(message), { code });

  it('are data the server refuses; too many partitions, not too many parts', () => {
    expect(classifyClickHouseError(error('469', 'Constraint `c` for table raw is violated at row 1'))).toBe('permanent');
    expect(classifyClickHouseError(error('252', 'Too many partitions for single INSERT block (more than 100)'))).toBe('permanent');
    expect(classifyClickHouseError(error('252', 'Too many parts (300). Merges are processing significantly slower than inserts'))).toBe(
      'other',
    );
    expect(classifyClickHouseError(error('62', 'Syntax error'))).toBe('other');
    expect(classifyClickHouseError(error('242', 'Table is in readonly mode'))).toBe('other');
  });

  it('take the code from the error, or from its message', () => {
    expect(clickHouseCode(error('469', 'x'))).toBe('469');
    expect(clickHouseCode(new Error('Query failed: Code: 252. DB::Exception: Too many partitions'))).toBe('252');
    expect(clickHouseCode(error('ECONNREFUSED', 'connect ECONNREFUSED'))).toBe('');
  });
});
