import { round } from './round';
import { table, type Json } from './report-section';

/** Service CPU milliseconds per lens of a run: contention on a shared machine stretches latency far more than it does CPU. */
const cpuMsPerLens = (r: Json) =>
  r.cpu_cores?.herodotus == null || r.requests === 0
    ? null
    : round((r.cpu_cores.herodotus * 1000 * (r.requests / r.requests_per_s)) / r.requests, 1);

const ratio = (a: number | null, b: number | null) => (a == null || b == null || b === 0 ? '' : `${round(a / b, 2)}×`);

/** The serving path before and after (issue 13), measured one after the other on the same data: a table per preset and concurrency, the floors, the profile. */
export function servingSection(j: Json, file: string): string {
  const out = [`## Serving path before / after (\`${file}\`)`, '', j.note, ''];
  const presets = Object.keys(j.after.lens.presets);
  const rows: (string | number)[][] = [];
  for (const p of presets) {
    j.after.lens.presets[p].runs.forEach((a: Json, k: number) => {
      const b: Json = j.before.lens.presets[p]?.runs[k] ?? {};
      rows.push([
        p,
        a.clients,
        `${b.requests_per_s ?? ''} → ${a.requests_per_s}`,
        ratio(a.requests_per_s, b.requests_per_s),
        `${b.p50_ms ?? ''} → ${a.p50_ms}`,
        `${b.p99_ms ?? ''} → ${a.p99_ms}`,
        `${cpuMsPerLens(b) ?? ''} → ${cpuMsPerLens(a) ?? ''}`,
        ratio(cpuMsPerLens(b), cpuMsPerLens(a)),
        `${round(b.cpu_cores?.bench ?? 0, 2)} → ${round(a.cpu_cores?.bench ?? 0, 2)}`,
      ]);
    });
  }
  out.push(
    table(
      [
        'preset',
        'clients',
        'lens/s',
        'lens/s after/before',
        'p50 ms',
        'p99 ms',
        'service CPU ms per lens',
        'before/after',
        'load client cores',
      ],
      rows,
    ),
    '',
  );
  const floors = (f: Json | undefined) =>
    f
      ? `health p50 ${f.health_p50_ms} ms (p99 ${f.health_p99_ms} ms); idle service ${round((f.idle_cpu_cores?.herodotus ?? 0) * 100, 1)} % of a core`
      : 'not measured';
  out.push(`Floors before: ${floors(j.before.floors)}. After: ${floors(j.after.floors)}.`, '');
  if (j.profile) {
    const stages = Object.keys(j.profile.median_ms[Object.keys(j.profile.median_ms)[0]!]);
    out.push(
      `Where a lens's time goes (\`bench/lens-profile.ts\`, medians of ${j.profile.lenses_per_preset} lenses one at a time per preset, ms; ledger and lens query before and after side by side):`,
      '',
      table(
        ['preset', ...stages],
        Object.entries(j.profile.median_ms).map(([p, m]) => [p, ...stages.map((s) => (m as Json)[s])]),
      ),
      '',
    );
  }
  if (j.not_reached) out.push(`Not reached: ${j.not_reached}`, '');
  return out.join('\n');
}
