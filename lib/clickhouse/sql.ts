/** Values reach SQL only as validated integers: the same text works on every server version. */
export function int(n: number): string {
  if (!Number.isSafeInteger(n)) throw new TypeError(`not a safe integer: ${n}`);
  return String(n);
}

/** A literal array of integer tuples, for `ARRAY JOIN [...] AS x` over `system.one`. */
export function tupleArray(rows: readonly (readonly number[])[]): string {
  return `[${rows.map((r) => `(${r.map(int).join(', ')})`).join(', ')}]`;
}

/**
 * `(sensor IN (…) AND col >= a AND col < b) OR …` over half-open ranges.
 * Ranges that share a span become one term: a thousand sensors over the same
 * window are one set look-up on the primary key, not a thousand OR branches
 * (which cost the compactor most of its time at 1000 sensors).
 */
export function rangesWhere(col: string, ranges: readonly { sensor: number; from: number; to: number }[]): string {
  if (ranges.length === 0) return '0';
  const bySpan = new Map<string, { from: number; to: number; sensors: number[] }>();
  for (const r of ranges) {
    const key = `${r.from}:${r.to}`;
    let span = bySpan.get(key);
    if (!span) bySpan.set(key, (span = { from: r.from, to: r.to, sensors: [] }));
    span.sensors.push(r.sensor);
  }
  return [...bySpan.values()]
    .map((s) => `(sensor IN (${s.sensors.map(int).join(', ')}) AND ${col} >= ${int(s.from)} AND ${col} < ${int(s.to)})`)
    .join(' OR ');
}

/**
 * The sum aggregate for Float64 values: compensated (sumKahan) where the
 * server has it, so averages are the exact mean within 1e-12 relative at
 * every rollup level and in lenses; a plain sum on servers without it (18.16).
 */
export function sumFloat(features: { kahan: boolean }, expr: string): string {
  return `${features.kahan ? 'sumKahan' : 'sum'}(${expr})`;
}
