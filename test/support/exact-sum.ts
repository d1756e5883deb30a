/**
 * The sum of doubles rounded once (Shewchuk's exact partials, as Python's
 * math.fsum): the reference "exact mean" lens averages are held to.
 */
export function exactSum(values: Iterable<number>): number {
  const partials: number[] = [];
  for (let x of values) {
    let i = 0;
    for (let y of partials) {
      if (Math.abs(x) < Math.abs(y)) [x, y] = [y, x];
      const hi = x + y;
      const lo = y - (hi - x);
      if (lo !== 0) partials[i++] = lo;
      x = hi;
    }
    partials.length = i;
    partials.push(x);
  }
  // Summing the non-overlapping partials from the largest down loses at most the last half ulp.
  let total = 0;
  for (let k = partials.length - 1; k >= 0; k--) total += partials[k]!;
  return total;
}

/** |got − exact| within `rel` of |exact| (or of the mean magnitude, when the exact mean is 0). */
export function withinRelative(got: number, exact: number, rel: number, scale = 0): boolean {
  return Math.abs(got - exact) <= rel * (exact === 0 ? scale : Math.abs(exact));
}
