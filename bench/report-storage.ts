import { table, type Json } from './report-section';

const GENERATOR_TARGET = 2.39;

/**
 * Every bench-storage result in one table: bytes per raw point by table group.
 * Results written before `signal` was recorded measured the generator's signal.
 */
export function storageSection(results: { file: string; json: Json }[]): string {
  const rows = results.map(({ file, json: j }) => {
    const signal = j.signal ?? 'generator';
    const ledgers = j.tables
      .filter((t: Json) => t.table !== 'raw' && t.table !== 'rollup')
      .reduce((s: number, t: Json) => s + t.bytesPerPoint, 0);
    const verdict = signal === 'generator' ? (j.totalBytesPerPoint <= GENERATOR_TARGET ? 'reached' : 'not reached') : '';
    return [
      `\`${file}\``,
      signal,
      `${j.sensors} × ${j.seconds} s × ${j.rateHz} Hz`,
      j.points.toLocaleString('en'),
      j.rawBytesPerPoint,
      j.rollupBytesPerPoint,
      Math.round(ledgers * 1e4) / 1e4,
      j.totalBytesPerPoint,
      j.rollupRowsPerPoint,
      verdict,
    ];
  });
  return [
    '## Storage: compressed bytes per point (`npm run bench:storage`)',
    '',
    `One copy, after every rollup level is written and OPTIMIZE FINAL. Target (issue 12): total ≤ ${GENERATOR_TARGET} B/point on the generator signal.`,
    '',
    table(
      ['result', 'signal', 'shape', 'points', 'raw B/pt', 'rollups B/pt', 'ledgers B/pt', 'total B/pt', 'rollup rows/pt', 'target'],
      rows,
    ),
    '',
  ].join('\n');
}
