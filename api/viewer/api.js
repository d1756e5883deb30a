// The Herodotus HTTP API as the viewer calls it: GET with the token, JSON
// back, and every failure as an ApiError (status 0: the server is unreachable).
import { state } from './state.js';

export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

// The compact binary lens (docs/api.md#binary-lenses): no numbers printed or parsed.
const LENS_BINARY = 'application/vnd.herodotus.lens';

export async function api(path, signal, accept) {
  const headers = state.token ? { authorization: `Bearer ${state.token}` } : {};
  if (accept) headers.accept = accept;
  let res;
  try {
    res = await fetch(path, { headers, signal });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, 'network', 'Cannot reach the Herodotus server. Check that it is running, then try again.');
  }
  let body = null;
  try {
    const binary = res.ok && (res.headers.get('content-type') || '').startsWith(LENS_BINARY);
    body = binary ? decodeLens(await res.arrayBuffer()) : await res.json();
  } catch (err) {
    // Not JSON (an error page) leaves the body empty; a lens this viewer cannot read must say so, not draw nothing.
    if (err.name === 'AbortError') throw err;
    if (err.code === 'lens_format') throw new ApiError(res.status, err.code, err.message);
  }
  if (!res.ok) {
    const e = body?.error;
    throw new ApiError(
      res.status,
      e ? e.code : `http_${res.status}`,
      e ? e.message : `The server answered ${res.status} ${res.statusText}.`,
      e?.field,
    );
  }
  return { body, serverMs: serverTiming(res) };
}

function serverTiming(res) {
  const m = /dur=([\d.]+)/.exec(res.headers.get('server-timing') || '');
  return m ? Number(m[1]) : null;
}

/** GET /v1/lens as a binary lens, decoded to the JSON form's shape. */
export function apiLens(path, signal) {
  return api(path, signal, LENS_BINARY);
}

// Layout: lib/lens/lens-binary.ts, format version 2: per sensor these columns, in this order.
const LENS_VERSION = 2;
const COLUMNS = ['count', 'good', 'uncertain', 'bad', 'avg', 'min', 'max', 'first', 'last'];

/**
 * A binary lens in the JSON form's shape. Values stay Float64 until here;
 * NaN marks no value, but the counts decide: avg, min and max are null where
 * no point of the lens's quality is (good ones, or any), first and last where
 * the bucket is empty.
 */
function decodeLens(buf) {
  const bytes = new Uint8Array(buf);
  const magic = String.fromCharCode(...bytes.subarray(0, 4));
  if (magic !== 'HLNS' || bytes[4] !== LENS_VERSION) {
    const what = magic === 'HLNS' ? `format version ${bytes[4]}` : 'an unknown format';
    const message = `The server sent a binary lens in ${what}; this viewer reads version ${LENS_VERSION}. Reload the page.`;
    throw Object.assign(new Error(message), { code: 'lens_format' });
  }
  const length = new DataView(buf).getUint32(8, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + length)));
  const n = header.buckets;
  let at = 12 + length;
  const column = () => {
    const values = new Float64Array(buf, at, n);
    at += n * 8;
    return values;
  };
  const t = Array.from({ length: n }, (_, i) => header.from + i * header.step_ms);
  const sensors = header.sensors.map((sensor) => {
    const c = Object.fromEntries(COLUMNS.map((name) => [name, column()]));
    const covered = header.quality === 'any' ? c.count : c.good;
    const orNull = (values, counts) => Array.from(values, (v, i) => (counts[i] === 0 ? null : v));
    return {
      sensor,
      t,
      count: Array.from(c.count),
      good: Array.from(c.good),
      uncertain: Array.from(c.uncertain),
      bad: Array.from(c.bad),
      avg: orNull(c.avg, covered),
      min: orNull(c.min, covered),
      max: orNull(c.max, covered),
      first: orNull(c.first, c.count),
      last: orNull(c.last, c.count),
    };
  });
  return { from: header.from, to: header.to, step_ms: header.step_ms, quality: header.quality, sensors, plan: header.plan };
}
