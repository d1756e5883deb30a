/**
 * Quality of a point, OPC UA style (Part 4 status code severity, Part 11/13
 * aggregates): good, uncertain or bad. Stored as one byte per point; a point
 * written without one is good.
 */
export const QUALITY = { good: 0, uncertain: 1, bad: 2 } as const;
export type QualityName = keyof typeof QUALITY;
export const QUALITY_NAMES: readonly QualityName[] = ['good', 'uncertain', 'bad'];
/** The largest valid code. */
export const MAX_QUALITY = QUALITY.bad;

/** A code from its name or its number (0, 1, 2); null if it is neither. */
export function parseQuality(text: string): number | null {
  const t = text.trim().toLowerCase();
  if (t in QUALITY) return QUALITY[t as QualityName];
  if (/^[0-2]$/.test(t)) return Number(t);
  return null;
}
