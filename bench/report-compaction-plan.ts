import { table, type Json } from './report-section';

type Run = { ms: number; rows_read: number; cpu_s: number; rss_mb_before: number; rss_mb_peak: number | null };

const medianOf = (runs: Run[], f: (r: Run) => number) => [...runs.map(f)].sort((a, b) => a - b)[Math.floor(runs.length / 2)]!;

/** bench:compaction-plan: one planning round the old way (every window of every unclean day) and from the dirty marks. */
export function compactionPlanSection(json: Json, file: string): string {
  const d = json.data;
  const row = (label: string, round: { median_ms: number; runs: Run[] }) => [
    label,
    round.median_ms,
    round.runs.map((r) => r.ms).join(', '),
    medianOf(round.runs, (r) => r.rows_read).toLocaleString('en'),
    medianOf(round.runs, (r) => r.cpu_s),
    `${medianOf(round.runs, (r) => r.rss_mb_before)} → ${medianOf(round.runs, (r) => r.rss_mb_peak ?? 0)}`,
  ];
  return [
    `## Compaction planning (\`${file}\`)`,
    '',
    `A ledger of ${d.sensors} sensors × ${d.days} days (${d.window_ledger_rows.toLocaleString('en')} window rows, ${d.day_ledger_rows.toLocaleString('en')} day rows) with ${d.dirty_windows.toLocaleString('en')} dirty windows (${d.dirty_writes} writes: ingest chunks into every sensor's current window, late data into today, a backfill into an old day). One planning round, timed in one run; both plan the same groups: ${json.same_groups_as_old ? 'yes' : '**no**'}. Load average (1 min) before / after: ${json.machine.load_avg_1m.before} / ${json.machine.load_avg_1m.after}. Target: ${json.target}: **${json.pass ? 'met' : 'not met'}**.`,
    '',
    table(
      ['round', 'median ms', 'runs ms', 'rows read', 'CPU s (process)', 'RSS MB before → peak'],
      [row('every window of every unclean day (before)', json.old_round), row('dirty marks (after)', json.new_round)],
    ),
    '',
    `Settling (superseded marks cancelled, days checked): ${json.settle_days.ms} ms. The sweep's safety net (the old reads, once a minute): ${json.sweep.ms} ms, ${json.sweep.rows_read.toLocaleString('en')} rows read, backlog ${json.sweep.result.backlog}, repaired ${json.sweep.result.repaired.windows} windows and ${json.sweep.result.repaired.days} days. Rows read are ClickHouse's statistics of the SELECTs; CPU is the whole process (chdb's threads included), medians over the runs. Wall times on this shared 2-core machine follow its load: compare CPU and rows read.`,
  ].join('\n');
}
