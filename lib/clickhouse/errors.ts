/**
 * Error of a store none of whose servers answered: the server (or every
 * replica of a shard) is down or unreachable. The API answers 503 with its
 * message; activities retry.
 */
export class StoreUnavailableError extends Error {
  constructor(
    /** "ClickHouse at http://…" or "ClickHouse shard 2 (replicas …)". */
    readonly what: string,
    override readonly cause: unknown,
  ) {
    super(`${what} is unavailable: ${(cause as Error)?.message ?? String(cause)}`);
    this.name = 'StoreUnavailableError';
  }
}

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
]);

/** True when a request never reached a working server (refused, reset, dropped): another replica may answer. */
export function isUnreachable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown; cause?: unknown } | null;
  if (!e) return false;
  if (UNREACHABLE_CODES.has(String(e.code))) return true;
  if (/socket hang up|ECONNREFUSED|ECONNRESET|other side closed/i.test(String(e.message ?? ''))) return true;
  return e.cause !== undefined && e.cause !== e && isUnreachable(e.cause);
}

/** The same unavailability, naming the sensors that need the store (what a caller asked for and cannot get). */
export function holdingSensors(err: unknown, sensors: number[]): unknown {
  if (!(err instanceof StoreUnavailableError)) return err;
  return new StoreUnavailableError(`${err.what}, which holds sensor${sensors.length > 1 ? 's' : ''} ${sensors.join(', ')},`, err.cause);
}
