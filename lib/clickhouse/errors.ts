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

/** A replica that answers but still has parts of its shard to fetch: it does not take over yet. */
export class ReplicaBehindError extends Error {}

/**
 * What went wrong in a call to ClickHouse, as the callers act on it:
 * - `unavailable`: no server of a store answered ({@link StoreUnavailableError}); retry when it is back.
 * - `replica_behind`: a replica answered but has not caught up ({@link ReplicaBehindError}); try the next one.
 * - `timeout`: the query ran past its `max_execution_time` and was stopped.
 * - `busy`: ClickHouse refused the query for now (too many queries, or too much memory or data for one).
 * - `unreachable`: the request never reached a working server; another replica may answer.
 * - `other`: anything else (a bug, a bad query, a server error): not retried elsewhere.
 */
export type ClickHouseErrorKind = 'unavailable' | 'replica_behind' | 'timeout' | 'busy' | 'unreachable' | 'other';

export function classifyClickHouseError(err: unknown): ClickHouseErrorKind {
  if (err instanceof StoreUnavailableError) return 'unavailable';
  if (err instanceof ReplicaBehindError) return 'replica_behind';
  if (isQueryTimeout(err)) return 'timeout';
  if (BUSY_CODES.has(clickHouseCode(err))) return 'busy';
  if (isUnreachable(err)) return 'unreachable';
  return 'other';
}

/** True when ClickHouse stopped a query at its `max_execution_time` (code 159, TIMEOUT_EXCEEDED). */
function isQueryTimeout(err: unknown): boolean {
  const e = err as { code?: unknown; clickhouseCode?: unknown; type?: unknown; message?: unknown } | null;
  if (!e) return false;
  return (
    String(e.code) === '159' ||
    String(e.clickhouseCode) === '159' ||
    e.type === 'TIMEOUT_EXCEEDED' ||
    /TIMEOUT_EXCEEDED|Timeout exceeded: elapsed/i.test(String(e.message ?? ''))
  );
}

/** ClickHouse error codes that mean "too busy or too big right now", not a bug: 503 with a hint. */
const BUSY_CODES = new Set(['202', '241', '158', '396']); // too many queries, memory limit, too many rows, too many rows or bytes

/**
 * True when ClickHouse stopped a query at a row limit the query itself set
 * (`max_rows_to_read`: code 158 TOO_MANY_ROWS, or 396 TOO_MANY_ROWS_OR_BYTES):
 * the request asked for too much, asking again will not help.
 */
export function isRowLimit(err: unknown): boolean {
  const code = clickHouseCode(err);
  return code === '158' || code === '396' || /TOO_MANY_ROWS|Limit for rows/.test(String((err as Error | null)?.message ?? ''));
}

function clickHouseCode(err: unknown): string {
  const e = err as { clickhouseCode?: unknown; code?: unknown } | null;
  // A server's error carries the ClickHouse code in `code`, chdb's in `clickhouseCode`.
  return String(e?.clickhouseCode ?? e?.code ?? '');
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
