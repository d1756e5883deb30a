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

/**
 * The quality of an OPC DA-style 16-bit quality code (0–65535), the codes line
 * protocol, CSV exports and MQTT gateways carry (192 good, 64 uncertain, 0
 * bad): its quality bits 7–6 are 11 good, 01 uncertain, 00 bad; 10 is not a
 * defined quality in OPC DA and reads as bad.
 */
export function qualityOfOpcCode(code: number): number {
  const bits = code & 0xc0;
  if (bits === 0xc0) return QUALITY.good;
  if (bits === 0x40) return QUALITY.uncertain;
  return QUALITY.bad;
}
