import { createHash } from 'node:crypto';

/**
 * Series by name. A named series gets its numeric id (the `sensor` of its
 * batches, raw rows and rollups) from a hash of its name, so every writer
 * derives the same id without asking anyone. Named ids live in
 * [NAMED_SERIES_BASE, 2^32): above every id a person picks by hand
 * (HERODOTUS_MAX_SENSOR_ID stays below the base), so a hash never lands on
 * a numbered sensor. Two names hashing to one id is a collision: the
 * catalog refuses the second name, it never merges them (lib/series).
 */
export const NAMED_SERIES_BASE = 0x8000_0000;
export const NAMED_SERIES_MAX = 0xffff_ffff;

/** Longest name, in UTF-16 units. */
export const MAX_SERIES_NAME = 512;

/** The id of a named series: the first 31 bits of SHA-256(name, UTF-8), above the base. */
export function seriesIdOf(name: string): number {
  const h = createHash('sha256').update(name, 'utf8').digest();
  return NAMED_SERIES_BASE + (h.readUInt32BE(0) >>> 1);
}

export function isNamedSeriesId(id: number): boolean {
  return Number.isInteger(id) && id >= NAMED_SERIES_BASE && id <= NAMED_SERIES_MAX;
}

/**
 * Why a name cannot be a series name, or null. A name is a path of
 * non-empty segments separated by `/` (plant1/line2/pump3/discharge_pressure):
 * no control characters, no leading, trailing or doubled `/`, and not all
 * digits (an all-digit name would read as a numeric sensor id).
 */
export function seriesNameProblem(name: string): string | null {
  if (name.length === 0) return 'a series name must not be empty';
  if (name.length > MAX_SERIES_NAME) return `a series name has at most ${MAX_SERIES_NAME} characters, got ${name.length}`;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this refuses
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'a series name must not contain control characters';
  if (name.split('/').some((s) => s === ''))
    return `a series name is a path of non-empty segments separated by "/", got ${JSON.stringify(name)}`;
  if (/^\d+$/.test(name)) return 'a series name must not be all digits (that reads as a sensor id)';
  return null;
}
