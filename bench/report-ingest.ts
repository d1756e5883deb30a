import path from 'node:path';
import { linesSvg } from './report-charts';
import { table, type Chart, type Json } from './report-section';

/** bench:ingest: sustained rate per offered step, and points stored per second over the whole run. */
export function ingestSection(j: Json, file: string, imgDir: string, charts: Chart[]): string {
  const out = [`## Ingest end to end (\`${file}\`)`, ''];
  out.push(
    `Generator → Kafka → Temporal ingest workflows → embedded ClickHouse, ${j.config.step_seconds} s per step at ${j.config.rate_hz} Hz per sensor, ${j.config.partitions} partitions. ` +
      `A step is sustained when the backlog at its end is at most ${j.config.max_backlog_s} s. Target ${j.target_points_per_s.toLocaleString('en')} points/s: **${j.target_met ? 'met' : 'not met'}** ` +
      `(highest sustained step ${j.max_sustained_points_per_s.toLocaleString('en')} offered, ${j.max_sustained_achieved_points_per_s.toLocaleString('en')} achieved). ` +
      `Verified afterwards: ${j.verified.generated.toLocaleString('en')} generated, ${j.verified.stored.toLocaleString('en')} stored, ${j.verified.lost} lost, ${j.verified.duplicates} duplicates.`,
    '',
  );
  const cores = (st: Json, proc: string) => st.processes?.[proc]?.cpu_cores ?? '';
  out.push(
    table(
      [
        'offered points/s',
        'achieved points/s',
        'sustained',
        'backlog at end s',
        'catch-up s',
        'CPU cores herodotus / kafka / temporal / bench',
        'other work cores',
        'Herodotus RSS MB',
        'max new parts/s per table',
      ],
      j.steps.map((st: Json) => [
        st.offered_points_per_s.toLocaleString('en'),
        st.achieved_points_per_s.toLocaleString('en'),
        st.sustained ? 'yes' : 'no',
        st.backlog_s_at_window_end,
        st.catch_up_s,
        ['herodotus', 'kafka', 'temporal', 'bench'].map((p) => cores(st, p)).join(' / '),
        st.other_cpu_cores ?? '',
        st.processes?.herodotus?.rss_mb_max ?? '',
        st.parts?.max_new_parts_per_s ?? 'not measured',
      ]),
    ),
    '',
  );
  const withParts = (j.steps as Json[]).filter((st) => st.parts);
  if (withParts.length > 0) {
    const tables = [...new Set(withParts.flatMap((st) => Object.keys(st.parts.tables)))].sort();
    out.push(
      "New parts per second over each step's window, per table (and shard), from ClickHouse's block numbers (`GET /v1/storage/parts`):",
      '',
      table(
        ['offered points/s', ...tables],
        withParts.map((st) => [
          st.offered_points_per_s.toLocaleString('en'),
          ...tables.map((t) => st.parts.tables[t]?.new_parts_per_s ?? ''),
        ]),
      ),
      '',
    );
  }
  // One time axis over the steps, each step's timeline shifted by the steps before it.
  const published: [number, number][] = [];
  const stored: [number, number][] = [];
  let offset = 0;
  for (const st of j.steps as Json[]) {
    for (const p of st.timeline as Json[]) {
      if (p.inserted_points_per_s_5s !== undefined) stored.push([offset + p.t_s, p.inserted_points_per_s_5s]);
      published.push([offset + p.t_s, p.published_points_per_s]);
    }
    offset += (st.timeline as Json[]).at(-1)?.t_s ?? 0;
  }
  const png = `ingest-throughput-${path.basename(file, '.json')}.png`;
  charts.push({
    file: path.join(imgDir, png),
    svg: linesSvg(
      'Ingest throughput over time (one step after another)',
      [
        { name: 'published points/s', points: published },
        { name: 'stored points/s (5 s mean)', points: stored },
      ],
      'points/s',
    ),
  });
  out.push(`![ingest throughput over time](benchmarks/${png})`);
  return out.join('\n');
}
