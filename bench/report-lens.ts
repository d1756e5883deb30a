import path from 'node:path';
import { barsSvg } from './report-charts';
import { table, type Chart, type Json } from './report-section';

/** bench:lens: latency per preset and concurrency, and the naive GROUP BY over raw. */
export function lensSection(j: Json, file: string, imgDir: string, charts: Chart[]): string {
  const presets = Object.keys(j.lens.presets);
  const clients: number[] = j.lens.presets[presets[0]!].runs.map((r: Json) => r.clients);
  const out = [`## Lens latency (\`${file}\`)`, ''];
  out.push(
    `${j.data.sensors} sensors × ${j.data.days} days × ${j.data.rate_hz} Hz = ${j.data.points.toLocaleString('en')} points, back-filled through the backfill workflow` +
      `${j.backfill.reused ? ' (reused from an earlier run)' : ` at ${j.backfill.points_per_s.toLocaleString('en')} points/s (${Math.round(j.backfill.seconds)} s)`}. ` +
      `Lenses over all ${j.lens.sensors} sensors, ${j.lens.points} points, random windows, closed-loop clients without think time, ${j.lens.seconds_per_run} s per run. Target: ${j.target}.`,
    '',
  );
  if (j.lens.rows_read !== 'scanned') {
    out.push(
      'Its "rows read per lens" are result rows, not rows scanned: before the embedded store read ClickHouse\'s statistics from the result (FORMAT JSONCompact), it took the result-row count for them. Latencies are unaffected.',
      '',
    );
  }
  out.push(
    table(
      [
        'preset',
        ...clients.flatMap((c) => [`${c} client p50 / p99 ms`, `${c} client lens/s`]),
        'rows read per lens',
        'naive GROUP BY p50 ms',
        'naive / lens p50',
      ],
      presets.map((p) => {
        const e = j.lens.presets[p];
        return [
          p,
          ...e.runs.flatMap((r: Json) => [`${r.p50_ms} / ${r.p99_ms}`, r.requests_per_s]),
          e.runs[0].rows_read_per_lens,
          e.raw_group_by_p50_ms ?? 'failed',
          e.raw_over_lens_p50 ?? '',
        ];
      }),
    ),
    '',
  );
  const png = `lens-latency-${path.basename(file, '.json')}.png`;
  charts.push({
    file: path.join(imgDir, png),
    svg: barsSvg(
      'Lens p99 by preset and concurrent clients',
      presets,
      clients.map((c, k) => ({
        name: `${c} client${c > 1 ? 's' : ''} p99`,
        values: presets.map((p) => j.lens.presets[p].runs[k].p99_ms),
      })),
      'ms',
    ),
  });
  out.push(`![lens latency by preset](benchmarks/${png})`);
  return out.join('\n');
}
