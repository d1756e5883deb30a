import path from 'node:path';
import { barsSvg, linesSvg } from './report-charts';
import { table, type Chart, type Json } from './report-section';

/** query-load --json (also the users during a scenario): throughput and latency over time, latency by preset. */
export function queryLoadSection(q: Json, file: string, imgDir: string, charts: Chart[]): string {
  const presets = Object.keys(q.by_preset);
  const base = path.basename(file, '.json');
  charts.push({
    file: path.join(imgDir, `${base}-throughput.png`),
    svg: linesSvg(
      `Query load: ${q.users} users`,
      [
        { name: 'requests/s', points: q.timeline.map((s: Json) => [s.t_s, s.requests]) },
        { name: 'p50 ms', points: q.timeline.map((s: Json) => [s.t_s, s.p50_ms]) },
        { name: 'p99 ms', points: q.timeline.map((s: Json) => [s.t_s, s.p99_ms]) },
      ],
      'requests/s, ms',
    ),
  });
  charts.push({
    file: path.join(imgDir, `${base}-presets.png`),
    svg: barsSvg(
      'Query load: latency by preset (session start; zooms keep the preset label)',
      presets,
      [
        { name: 'p50', values: presets.map((p) => q.by_preset[p].p50_ms) },
        { name: 'p99', values: presets.map((p) => q.by_preset[p].p99_ms) },
      ],
      'ms',
    ),
  });
  return [
    `${q.users} users, ${q.duration_s} s, think ${q.think_ms} ms: ${q.requests} lenses (${q.requests_per_s}/s), latency p50 ${q.latency_ms.p50} ms, p90 ${q.latency_ms.p90} ms, p99 ${q.latency_ms.p99} ms, max ${q.latency_ms.max} ms; errors ${q.errors} ${JSON.stringify(q.errors_by_kind)}; ${q.verified} verified against raw, ${q.mismatches} mismatches (${q.verify_unsettled} unsettled).`,
    '',
    table(
      ['preset', 'requests', 'p50 ms', 'p99 ms'],
      presets.map((p) => [p, q.by_preset[p].requests, q.by_preset[p].p50_ms, q.by_preset[p].p99_ms]),
    ),
    '',
    `![throughput over time](benchmarks/${base}-throughput.png)`,
    '',
    `![latency by preset](benchmarks/${base}-presets.png)`,
  ].join('\n');
}
