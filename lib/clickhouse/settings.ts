/** Insert settings that keep one call one block, so a retried call is deduplicated whole. */
export const ONE_BLOCK = { max_insert_block_size: '100000000', min_insert_block_size_rows: '100000000' } as const;

/**
 * `max_execution_time` in seconds: fractions on current engines, whole
 * seconds (at least 1) on old servers whose setting is an integer.
 */
function executionTimeSetting(ms: number, fractional: boolean): number {
  return fractional ? ms / 1000 : Math.max(1, Math.ceil(ms / 1000));
}

/**
 * Client-level settings of a store whose queries have a time limit (the
 * query pool): sent with every call. A row limit (`max_rows_to_read`) is set
 * per query by the few queries that need one (raw lenses); the 0 here goes
 * with every other query, so that a limit never outlives its query on chdb,
 * whose per-call settings stay set for the session.
 */
export function timeLimitedSettings(ms: number, fractional: boolean) {
  return { max_execution_time: executionTimeSetting(ms, fractional), max_rows_to_read: '0' };
}
