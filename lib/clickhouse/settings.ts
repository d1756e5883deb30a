/** Insert settings that keep one call one block, so a retried call is deduplicated whole. */
export const ONE_BLOCK = { max_insert_block_size: '100000000', min_insert_block_size_rows: '100000000' } as const;

/**
 * `max_execution_time` in seconds: fractions on current engines, whole
 * seconds (at least 1) on old servers whose setting is an integer.
 */
export function executionTimeSetting(ms: number, fractional: boolean): number {
  return fractional ? ms / 1000 : Math.max(1, Math.ceil(ms / 1000));
}
