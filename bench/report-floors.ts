import { round } from './round';
import { table, type Json } from './report-section';

const pct = (cores: number | null | undefined) => (cores == null ? '' : `${round(cores * 100, 1)} %`);

const threadList = (t: Json | undefined) =>
  Object.entries(t ?? {})
    .map(([name, cores]) => `${name} ${round(cores as number, 3)}`)
    .join(', ');

/** The idle floors before and after (bench-floors, both stacks side by side in one run): health latency, idle CPU per process, visibility after idle. */
export function floorsSection(j: Json, file: string): string {
  const b = j.before;
  const a = j.after;
  const procs = Object.keys(a.idle.cpu_cores);
  const rows: (string | number)[][] = [
    ['GET /v1/health p50 ms', b.health.p50_ms, a.health.p50_ms],
    ['GET /v1/health p99 ms', b.health.p99_ms, a.health.p99_ms],
    ...procs.map((p) => [`idle CPU, ${p} (of one core)`, pct(b.idle.cpu_cores[p]), pct(a.idle.cpu_cores[p])]),
    ['idle CPU, service threads (cores)', threadList(b.idle.herodotus_threads), threadList(a.idle.herodotus_threads)],
    [
      'point visible after 15 s idle, ms (samples)',
      b.visibility_after_idle_ms.samples.join(', '),
      a.visibility_after_idle_ms.samples.join(', '),
    ],
  ];
  const out = [`## Idle floors before / after (\`${file}\`)`, '', j.note, '', table(['', 'before', 'after'], rows), ''];
  if (j.not_reached) out.push(`Not reached: ${j.not_reached}`, '');
  return out.join('\n');
}
