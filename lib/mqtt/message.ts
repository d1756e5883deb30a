import { QUALITY, qualityOfOpcCode, type QualityName } from '../model/quality';
import type { LinePoint, Rejection } from '../lineprotocol/points';

/** What one MQTT message comes to: its points (numbered like lines, from 1), and each element refused with its reason. */
export interface MqttMessage {
  points: LinePoint[];
  /** `line` is the element's 1-based position in the message (1 for a single object). */
  rejected: Rejection[];
}

export interface MqttContext {
  minTs: number;
  maxTs: number;
}

/** Full ISO 8601 date-times only (Date.parse alone also reads forms like "1/2/2026"); a zone is required. */
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

const MAX_OPC_CODE = 65_535;

function timestampOf(ts: unknown, ctx: MqttContext): number | string {
  let ms: number;
  if (typeof ts === 'number') ms = ts;
  else if (typeof ts === 'string' && ISO_8601.test(ts)) ms = Date.parse(ts);
  else return 'ts must be epoch milliseconds (a number) or an ISO 8601 date-time with a zone (a string)';
  if (!Number.isFinite(ms)) return `ts ${JSON.stringify(ts)} is not a valid time`;
  // Frames hold microseconds: a finer fraction of a millisecond would be altered, so it is refused.
  if (Math.round(ms * 1000) !== ms * 1000) return `ts ${ts} has a fraction finer than a microsecond`;
  if (ms < ctx.minTs || ms > ctx.maxTs)
    return `ts ${new Date(ms).toISOString()} lies outside ${new Date(ctx.minTs).toISOString()} .. ${new Date(ctx.maxTs).toISOString()}`;
  return ms;
}

/** An element's quality code: absent (good), an OPC DA code, or a quality word; null if it is none of them. */
function qualityOf(quality: unknown): number | undefined | null {
  if (quality === undefined) return undefined;
  if (typeof quality === 'string') return quality in QUALITY ? QUALITY[quality as QualityName] : null;
  if (Number.isInteger(quality) && (quality as number) >= 0 && (quality as number) <= MAX_OPC_CODE)
    return qualityOfOpcCode(quality as number);
  return null;
}

/** One element: its point, or why it is refused. */
function pointOf(el: unknown, line: number, ctx: MqttContext): LinePoint | string {
  if (typeof el !== 'object' || el === null || Array.isArray(el)) return 'an element must be an object {"series", "ts", "value"}';
  const { series, ts, value, quality, ...rest } = el as Record<string, unknown>;
  const extra = Object.keys(rest);
  if (extra.length > 0) return `unknown field ${JSON.stringify(extra[0])} (fields: series, ts, value, quality)`;
  if (typeof series !== 'string') return 'series must be a string (the series name)';
  const at = timestampOf(ts, ctx);
  if (typeof at === 'string') return at;
  if (typeof value !== 'number') return 'value must be a number';
  const q = qualityOf(quality);
  if (q === null) return `quality must be an OPC code from 0 to ${MAX_OPC_CODE} (e.g. 192, good) or "good", "uncertain", "bad"`;
  return {
    line,
    name: series,
    sensor: null,
    tags: {},
    valueType: 'float',
    ts: at,
    value,
    ...(q === undefined ? {} : { quality: q }),
  };
}

/**
 * An MQTT message's JSON: one point `{"series", "ts", "value", "quality"?}`
 * or an array of them. A refused element does not stop the others; a message
 * that is no JSON, or none of these shapes, is refused whole (line 0).
 */
export function decodeMqttMessage(payload: Buffer, ctx: MqttContext): MqttMessage {
  let json: unknown;
  try {
    json = JSON.parse(payload.toString('utf8'));
  } catch (err) {
    return { points: [], rejected: [{ line: 0, reason: `not JSON: ${(err as Error).message}` }] };
  }
  const elements = Array.isArray(json) ? json : [json];
  if (elements.length === 0) return { points: [], rejected: [{ line: 0, reason: 'an empty array holds no point' }] };
  const points: LinePoint[] = [];
  const rejected: Rejection[] = [];
  elements.forEach((el, i) => {
    const p = pointOf(el, i + 1, ctx);
    if (typeof p === 'string') rejected.push({ line: i + 1, reason: p });
    else points.push(p);
  });
  return { points, rejected };
}
