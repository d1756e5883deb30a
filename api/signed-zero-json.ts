import type { Context } from 'hono';

/**
 * JSON text that keeps the sign of zero: JSON.stringify writes -0 as 0, yet
 * -0 is a double a client may have written, and `-0` is a valid JSON number
 * that JSON.parse reads back as -0. Bodies without a -0 (nearly all) take
 * plain JSON.stringify; only those with one pay for the replacer.
 */
const MARK = '\u0000-0\u0000';
const MARK_JSON = JSON.stringify(MARK);

function hasNegativeZero(x: unknown): boolean {
  if (typeof x === 'number') return Object.is(x, -0);
  if (Array.isArray(x)) return x.some(hasNegativeZero);
  if (x !== null && typeof x === 'object') return Object.values(x).some(hasNegativeZero);
  return false;
}

export function signedZeroJson(value: unknown): string {
  if (!hasNegativeZero(value)) return JSON.stringify(value);
  // Lens and raw bodies hold no client-written strings, so only the replacer writes the mark.
  return JSON.stringify(value, (_k, v: unknown) => (Object.is(v, -0) ? MARK : v)).replaceAll(MARK_JSON, '-0');
}

/** c.json, keeping -0. */
export function jsonResponse(c: Context, value: unknown): Response {
  return c.body(signedZeroJson(value), 200, { 'content-type': 'application/json' });
}
