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

export async function api(path, signal) {
  const headers = state.token ? { authorization: `Bearer ${state.token}` } : {};
  let res;
  try {
    res = await fetch(path, { headers, signal });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, 'network', 'Cannot reach the Herodotus server. Check that it is running, then try again.');
  }
  let body = null;
  try {
    body = await res.json();
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
