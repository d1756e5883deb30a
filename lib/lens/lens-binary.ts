import type { LensResult, SensorSeries } from './query';

/**
 * The compact binary lens (docs/api.md#binary-lenses), for clients that send
 * `Accept: application/vnd.herodotus.lens`: no number is printed or parsed.
 *
 *   0   "HLNS", format version (u8, 2), 3 zero bytes
 *   8   u32 LE: header length H
 *   12  header, UTF-8 JSON {from, to, step_ms, quality, buckets, sensors: [id…], plan},
 *       padded with spaces so that the columns start at a multiple of 8
 *   …   per sensor in header order, 9 columns of `buckets` Float64 LE:
 *       count, good, uncertain, bad, avg, min, max, first, last; an empty
 *       bucket has count 0 and NaN values, a bucket without a point of the
 *       asked quality NaN avg, min and max. Bucket i starts at from + i × step_ms.
 */
export const LENS_BINARY_TYPE = 'application/vnd.herodotus.lens';

const MAGIC = [0x48, 0x4c, 0x4e, 0x53];
const VERSION = 2;
const COLUMNS = ['count', 'good', 'uncertain', 'bad', 'avg', 'min', 'max', 'first', 'last'] as const;

export function encodeLensBinary(lens: LensResult): Uint8Array {
  const buckets = lens.sensors[0]?.t.length ?? 0;
  const header = JSON.stringify({
    from: lens.from,
    to: lens.to,
    step_ms: lens.step_ms,
    quality: lens.quality,
    buckets,
    sensors: lens.sensors.map((s) => s.sensor),
    plan: lens.plan,
  });
  const headerBytes = Buffer.byteLength(header);
  const start = Math.ceil((12 + headerBytes) / 8) * 8;
  const out = new Uint8Array(start + lens.sensors.length * COLUMNS.length * buckets * 8);
  out.set(MAGIC, 0);
  out[4] = VERSION;
  new DataView(out.buffer).setUint32(8, start - 12, true);
  out.fill(0x20, 12, start);
  Buffer.from(out.buffer).write(header, 12, 'utf8');
  // The column area starts 8-aligned in a fresh buffer: Float64Array views write it in place (little-endian hosts).
  let at = start;
  for (const s of lens.sensors) {
    for (const name of COLUMNS) {
      const col = new Float64Array(out.buffer, at, buckets);
      const values = s[name];
      for (let i = 0; i < buckets; i++) col[i] = values[i] ?? Number.NaN;
      at += buckets * 8;
    }
  }
  return out;
}

/** What a binary lens says before its columns. */
export interface LensBinaryHeader {
  from: number;
  to: number;
  step_ms: number;
  quality: LensResult['quality'];
  buckets: number;
  sensors: number[];
  plan: LensResult['plan'];
}

/** The header of a binary body alone, and where its columns start: what a client that does not read the buckets needs (load clients). */
export function readLensBinaryHeader(body: Uint8Array): { header: LensBinaryHeader; columnsAt: number } {
  if (MAGIC.some((b, i) => body[i] !== b) || body[4] !== VERSION) throw new Error(`not a version ${VERSION} binary lens`);
  const length = new DataView(body.buffer, body.byteOffset, body.byteLength).getUint32(8, true);
  const header = JSON.parse(Buffer.from(body.buffer, body.byteOffset + 12, length).toString('utf8')) as LensBinaryHeader;
  return { header, columnsAt: 12 + length };
}

/** The lens a binary body holds, as the JSON form gives it (benchmarks, tests). */
export function decodeLensBinary(body: Uint8Array): LensResult {
  const { header, columnsAt } = readLensBinaryHeader(body);
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const n = header.buckets;
  let at = columnsAt;
  const column = () => {
    const values = Array.from({ length: n }, (_, i) => view.getFloat64(at + i * 8, true));
    at += n * 8;
    return values;
  };
  const sensors: SensorSeries[] = header.sensors.map((sensor) => {
    const [count, good, uncertain, bad, avg, min, max, first, last] = COLUMNS.map(column) as number[][] as [
      number[],
      number[],
      number[],
      number[],
      number[],
      number[],
      number[],
      number[],
      number[],
    ];
    // Empty buckets by their counts (values are finite: NaN is never a value).
    const covered = header.quality === 'good' ? good : count;
    const orNull = (values: number[], n: number[]) => values.map((v, i) => (n[i] === 0 ? null : v));
    return {
      sensor,
      t: Array.from({ length: n }, (_, i) => header.from + i * header.step_ms),
      count,
      good,
      uncertain,
      bad,
      avg: orNull(avg, covered),
      min: orNull(min, covered),
      max: orNull(max, covered),
      first: orNull(first, count),
      last: orNull(last, count),
    };
  });
  return { from: header.from, to: header.to, step_ms: header.step_ms, quality: header.quality, sensors, plan: header.plan };
}
