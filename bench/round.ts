/** x rounded to `digits` decimals: how every number of a bench's JSON document is written. */
export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
