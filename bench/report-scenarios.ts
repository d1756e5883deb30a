import { queryLoadSection } from './report-query-load';
import { table, type Chart, type Json } from './report-section';

/** scenario --json: one row per scenario, then the users' load of those that had users during ingest (markdown lines). */
export function scenariosSection(scenarios: { file: string; json: Json }[], imgDir: string, charts: Chart[]): string[] {
  const md: string[] = ['## Scenarios', ''];
  md.push(
    table(
      [
        'scenario',
        'ClickHouse',
        'result',
        'seconds',
        'generated',
        'lost',
        'duplicates',
        'lens checks',
        'lens mismatches',
        'lens p50 ms',
        'lens p99 ms',
      ],
      scenarios.map(({ json }) => [
        json.scenario,
        json.clickhouse ?? 'embedded',
        json.ok ? 'OK' : '**FAILED**',
        json.seconds,
        json.generated_points.toLocaleString('en'),
        json.lost_points,
        json.duplicate_points,
        json.lens_checks,
        json.lens_mismatches,
        json.lens_p50_ms,
        json.lens_p99_ms,
      ]),
    ),
    '',
  );
  for (const { file, json } of scenarios) {
    if (json.users?.timeline)
      md.push(`### ${json.scenario}: users during ingest`, '', queryLoadSection(json.users, file, imgDir, charts), '');
  }
  return md;
}
