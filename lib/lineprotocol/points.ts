import { qualityOfOpcCode } from '../model/quality';
import type { FieldValue, Line } from './parse';

export type Precision = 'ns' | 'us' | 'ms' | 's';

/** Both spellings: InfluxDB 1.x says n, u, ms, s; 2.x ns, us, ms, s. */
const PRECISIONS: Record<string, Precision> = { n: 'ns', ns: 'ns', u: 'us', us: 'us', ms: 'ms', s: 's' };

export function parsePrecision(text: string): Precision | null {
  return PRECISIONS[text] ?? null;
}

/** Units of the precision in one millisecond, or milliseconds in one unit (s). */
const PER_MS: Record<Precision, bigint> = { ns: 1_000_000n, us: 1000n, ms: 1n, s: 1n };

/** The value type a field gives its series. */
export type LineValueType = 'float' | 'integer' | 'unsigned' | 'boolean';

/** One point of one series, as a line gave it. */
export interface LinePoint {
  /** 1-based line number in the body or file. */
  line: number;
  /** A named series (see seriesNameOf), or null for a numbered sensor. */
  name: string | null;
  /** The numbered sensor of a legacy `sensor=<id>` line's `value` field, else null. */
  sensor: number | null;
  tags: Record<string, string>;
  valueType: LineValueType;
  ts: number;
  value: number;
  /** Quality of the point (lib/model/quality.ts): from the line's `quality` field, an OPC DA code (192 = good). */
  quality?: number;
}

export interface Rejection {
  line: number;
  /** The field refused, when the rest of the line was taken. */
  field?: string;
  reason: string;
}

/**
 * The series a field of a line writes, by name: the measurement, then one
 * `key=value` segment per tag in key order, then the field key, which is left
 * out when it is `value`:
 *
 *   plant1/line2/pump3 discharge_pressure=4.2          → plant1/line2/pump3/discharge_pressure
 *   cpu,host=a usage_idle=99.5                         → cpu/host=a/usage_idle
 *   plant1/line2/pump3/discharge_pressure value=4.2    → plant1/line2/pump3/discharge_pressure
 */
export function seriesNameOf(measurement: string, tags: readonly [string, string][], field: string): string {
  const segments = [measurement, ...sortTags(tags).map(([k, v]) => `${k}=${v}`)];
  if (field !== 'value') segments.push(field);
  return segments.join('/');
}

const sortTags = (tags: readonly [string, string][]) => [...tags].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/** The field that carries a line's quality code rather than a series of its own. */
export const QUALITY_FIELD = 'quality';
const MAX_EXACT = BigInt(Number.MAX_SAFE_INTEGER);

/** A field's number, or why it cannot be stored as one without changing it. */
function numberOf(v: FieldValue): { value: number } | { reason: string } {
  switch (v.kind) {
    case 'float':
      return { value: v.value };
    case 'boolean':
      return { value: v.value ? 1 : 0 };
    case 'string':
      return { reason: 'string fields are not stored: a series holds numbers' };
    default:
      if (v.value > MAX_EXACT || v.value < -MAX_EXACT)
        return { reason: `${v.kind} ${v.value} is beyond 2^53 and would not be stored exactly` };
      return { value: Number(v.value) };
  }
}

/** Epoch ms of a timestamp, or why it cannot be stored as written. */
function msOf(ts: bigint, precision: Precision): { ms: number } | { reason: string } {
  const ms = precision === 's' ? ts * 1000n : ts / PER_MS[precision];
  if (precision !== 's' && ts % PER_MS[precision] !== 0n)
    return { reason: `timestamp ${ts} (${precision}) has a sub-millisecond part; storage holds milliseconds and would round it` };
  if (ms > MAX_EXACT || ms < -MAX_EXACT) return { reason: `timestamp ${ts} (${precision}) is out of range` };
  return { ms: Number(ms) };
}

export interface LineContext {
  precision: Precision;
  /** Epoch ms given to a line without a timestamp (the request's arrival); null: a timestamp is required (file imports, which may be retried). */
  now: number | null;
  minTs: number;
  maxTs: number;
  /** Numbered sensors go up to this (legacy `sensor=<id>` lines). */
  maxSensorId: number;
}

/** Why a line's quality field is unusable, or its code. */
function qualityOf(line: Line): { quality?: number } | { reason: string } {
  const f = line.fields.find((x) => x.key === QUALITY_FIELD);
  if (!f) return {};
  const v = f.value;
  if ((v.kind !== 'integer' && v.kind !== 'unsigned') || v.value < 0n || v.value > 65535n)
    return { reason: 'the quality field must be an integer code from 0 to 65535 (e.g. quality=192i, OPC good)' };
  return { quality: qualityOfOpcCode(Number(v.value)) };
}

/** The points of a parsed line, and what of it was refused (the whole line, or single fields). */
export function linePoints(line: Line, n: number, ctx: LineContext): { points: LinePoint[]; rejected: Rejection[] } {
  if (line.timestamp === null && ctx.now === null)
    return {
      points: [],
      rejected: [{ line: n, reason: 'the line has no timestamp; an import needs one (a retried import would stamp it anew)' }],
    };
  const ts = line.timestamp === null ? { ms: ctx.now! } : msOf(line.timestamp, ctx.precision);
  if ('reason' in ts) return { points: [], rejected: [{ line: n, reason: ts.reason }] };
  if (ts.ms < ctx.minTs || ts.ms > ctx.maxTs)
    return {
      points: [],
      rejected: [
        {
          line: n,
          reason: `timestamp ${new Date(ts.ms).toISOString()} is outside ${new Date(ctx.minTs).toISOString()} … ${new Date(ctx.maxTs).toISOString()}`,
        },
      ],
    };
  const q = qualityOf(line);
  if ('reason' in q) return { points: [], rejected: [{ line: n, field: QUALITY_FIELD, reason: q.reason }] };
  const values = line.fields.filter((f) => f.key !== QUALITY_FIELD);
  if (values.length === 0) return { points: [], rejected: [{ line: n, reason: 'the line has only a quality field and no value' }] };
  const tags = Object.fromEntries(line.tags);
  const legacy = /^\d+$/.test(tags.sensor ?? '') ? Number(tags.sensor) : null;
  const points: LinePoint[] = [];
  const rejected: Rejection[] = [];
  for (const f of values) {
    const v = numberOf(f.value);
    if ('reason' in v) {
      rejected.push({ line: n, field: f.key, reason: v.reason });
      continue;
    }
    const numbered = legacy !== null && f.key === 'value';
    if (numbered && legacy > ctx.maxSensorId) {
      rejected.push({ line: n, field: f.key, reason: `sensor id ${legacy} is above ${ctx.maxSensorId} (HERODOTUS_MAX_SENSOR_ID)` });
      continue;
    }
    const name = numbered ? null : seriesNameOf(line.measurement, line.tags, f.key);
    const valueType = f.value.kind as LineValueType;
    points.push({ line: n, name, sensor: numbered ? legacy : null, tags, valueType, ts: ts.ms, value: v.value, ...q });
  }
  return { points, rejected };
}
