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
  } catch {
    /* not JSON */
  }
  if (!res.ok) {
    const e = body && body.error;
    throw new ApiError(
      res.status,
      e ? e.code : 'http_' + res.status,
      e ? e.message : `The server answered ${res.status} ${res.statusText}.`,
      e && e.field,
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

// Layout: lib/lens/lens-binary.ts. Values stay Float64Array views (count 0: an empty bucket).
function decodeLens(buf) {
  const view = new DataView(buf);
  const length = view.getUint32(8, true);
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 12, length)));
  const n = header.buckets;
  let at = 12 + length;
  const column = () => {
    const values = new Float64Array(buf, at, n);
    at += n * 8;
    return values;
  };
  const t = Array.from({ length: n }, (_, i) => header.from + i * header.step_ms);
  const sensors = header.sensors.map((sensor) => {
    const count = column();
    const [avg, min, max, first, last] = [column(), column(), column(), column(), column()].map((c) =>
      Array.from(c, (v, i) => (count[i] === 0 ? null : v)),
    );
    return { sensor, t, count: Array.from(count), avg, min, max, first, last };
  });
  return { from: header.from, to: header.to, step_ms: header.step_ms, sensors, plan: header.plan };
}
