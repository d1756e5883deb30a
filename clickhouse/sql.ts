/** Values reach SQL only as validated integers: the same text works on every server version. */
export function int(n: number): string {
  if (!Number.isSafeInteger(n)) throw new TypeError(`not a safe integer: ${n}`);
  return String(n);
}

/** A literal array of integer tuples, for `ARRAY JOIN [...] AS x` over `system.one`. */
export function tupleArray(rows: readonly (readonly number[])[]): string {
  return `[${rows.map((r) => `(${r.map(int).join(', ')})`).join(', ')}]`;
}

/** `(sensor = s AND col >= a AND col < b) OR …` over half-open ranges. */
export function rangesWhere(col: string, ranges: readonly { sensor: number; from: number; to: number }[]): string {
  if (ranges.length === 0) return '0';
  return ranges.map((r) => `(sensor = ${int(r.sensor)} AND ${col} >= ${int(r.from)} AND ${col} < ${int(r.to)})`).join(' OR ');
}
