import type { JsonInt64, QuerySettings, Store } from '../clickhouse/store';

/**
 * Lens buckets as columns, one entry per (sensor, bucket) row of the lens
 * query, whose columns are sensor UInt32, bucket Int64, count, uncertain,
 * bad UInt64 and sum, min, max, first, last Float64 (lensSql casts them so).
 */
export interface BucketColumns {
  length: number;
  sensor: Uint32Array;
  bucket: Float64Array;
  count: Float64Array;
  uncertain: Float64Array;
  bad: Float64Array;
  sum: Float64Array;
  min: Float64Array;
  max: Float64Array;
  first: Float64Array;
  last: Float64Array;
}

/** The lens query's column names, in the order decodeBuckets reads them. */
export const BUCKET_COLUMNS = ['sensor', 'bucket', 'count', 'uncertain', 'bad', 'sum', 'min', 'max', 'first', 'last'] as const;
const ROW_BYTES = 4 + 8 + 3 * 8 + 5 * 8;
const TWO_32 = 2 ** 32;

function columns(length: number): BucketColumns {
  const f = () => new Float64Array(length);
  return {
    length,
    sensor: new Uint32Array(length),
    bucket: f(),
    count: f(),
    uncertain: f(),
    bad: f(),
    sum: f(),
    min: f(),
    max: f(),
    first: f(),
    last: f(),
  };
}

/** RowBinary rows of the lens query into columns: no text, no object per row. */
export function decodeBuckets(body: Uint8Array): BucketColumns {
  if (body.byteLength % ROW_BYTES !== 0) throw new Error(`lens result of ${body.byteLength} bytes is not whole ${ROW_BYTES}-byte rows`);
  const n = body.byteLength / ROW_BYTES;
  const out = columns(n);
  const v = new DataView(body.buffer, body.byteOffset, body.byteLength);
  for (let i = 0, o = 0; i < n; i++, o += ROW_BYTES) {
    out.sensor[i] = v.getUint32(o, true);
    // 64-bit integers as two halves: timestamps and counts stay far below 2^53.
    out.bucket[i] = v.getUint32(o + 4, true) + v.getInt32(o + 8, true) * TWO_32;
    out.count[i] = v.getUint32(o + 12, true) + v.getUint32(o + 16, true) * TWO_32;
    out.uncertain[i] = v.getUint32(o + 20, true) + v.getUint32(o + 24, true) * TWO_32;
    out.bad[i] = v.getUint32(o + 28, true) + v.getUint32(o + 32, true) * TWO_32;
    out.sum[i] = v.getFloat64(o + 36, true);
    out.min[i] = v.getFloat64(o + 44, true);
    out.max[i] = v.getFloat64(o + 52, true);
    out.first[i] = v.getFloat64(o + 60, true);
    out.last[i] = v.getFloat64(o + 68, true);
  }
  return out;
}

type BucketRow = [
  sensor: number,
  bucket: JsonInt64,
  count: JsonInt64,
  uncertain: JsonInt64,
  bad: JsonInt64,
  sum: number,
  min: number | null,
  max: number | null,
  first: number,
  last: number,
];

/** Runs the lens query: RowBinary where the store has that path, JSON (with the server's read statistics) elsewhere. */
export async function queryBuckets(store: Store, sql: string, settings: QuerySettings): Promise<{ rows: BucketColumns; rowsRead: number }> {
  if (store.queryRowBinary) {
    const { body, rowsRead } = await store.queryRowBinary(sql, BUCKET_COLUMNS, settings);
    return { rows: decodeBuckets(body), rowsRead };
  }
  const { rows, rowsRead } = await store.queryWithStats<BucketRow>(sql, settings);
  const out = columns(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const [sensor, bucket, count, uncertain, bad, sum, min, max, first, last] = rows[i]!;
    out.sensor[i] = sensor;
    out.bucket[i] = Number(bucket);
    out.count[i] = Number(count);
    out.uncertain[i] = Number(uncertain);
    out.bad[i] = Number(bad);
    out.sum[i] = sum;
    // JSON prints ±inf (no point of the asked quality) as null.
    out.min[i] = min ?? Number.POSITIVE_INFINITY;
    out.max[i] = max ?? Number.NEGATIVE_INFINITY;
    out.first[i] = first;
    out.last[i] = last;
  }
  return { rows: out, rowsRead };
}
