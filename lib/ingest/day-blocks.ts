import { MS } from '../model/ladder';
import { allocatePoints, appendPoint, type PointColumns } from '../model/points';

/**
 * Where the insert blocks start, as UTC day numbers: the distinct days of the
 * points (of one set, or of several written together) in groups of at most `daysPerBlock`. Taken from the request before
 * stored points are dropped, so a retry cuts at the same days and rebuilds,
 * for what is still missing, the same blocks with the same tokens.
 */
export function blockStarts(sets: PointColumns | readonly PointColumns[], daysPerBlock: number): number[] {
  const days = new Set<number>();
  for (const points of Array.isArray(sets) ? sets : [sets]) {
    let last = Number.NaN;
    for (let i = 0; i < points.length; i++) {
      const day = Math.floor(points.ts[i]! / MS.day);
      if (day !== last) days.add((last = day));
    }
  }
  const sorted = [...days].sort((a, b) => a - b);
  const starts: number[] = [];
  for (let i = 0; i < sorted.length; i += daysPerBlock) starts.push(sorted[i]!);
  return starts;
}

/**
 * The points of each block (block k: days from starts[k] up to starts[k + 1]),
 * in their order; a block may be empty. One block or none: the points as they are.
 */
export function splitByDays(p: PointColumns, starts: number[]): PointColumns[] {
  if (starts.length <= 1) return [p];
  const blockOf = (i: number) => {
    const day = Math.floor(p.ts[i]! / MS.day);
    let k = 0;
    while (k + 1 < starts.length && starts[k + 1]! <= day) k++;
    return k;
  };
  const counts = new Array<number>(starts.length).fill(0);
  for (let i = 0; i < p.length; i++) counts[blockOf(i)]!++;
  const blocks = counts.map((n) => allocatePoints(n));
  for (let i = 0; i < p.length; i++) {
    appendPoint(blocks[blockOf(i)]!, p, i);
  }
  return blocks;
}
