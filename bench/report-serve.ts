import { table, type Json } from './report-section';

const LABELS: Record<string, string> = {
  ingest: 'ingest sustained',
  lens_p50: 'lens p50',
  lens_p99: 'lens p99',
  errors: 'errors',
  verified: 'verified against raw',
  load_client: 'load client not the limit',
  stored: 'stored exactly',
};

const num = (x: number | null | undefined) => (x == null ? '' : x.toLocaleString('en'));

/** bench:serve (bench/results/serve-*.json): every target met or not reached, then ingest, lenses per preset and CPU per process. */
export function serveSection(j: Json, file: string): string {
  const o = j.options;
  const h = j.history;
  const ing = j.ingest;
  const u = j.users;
  const out = [`## Mixed serving (\`${file}\`)`, ''];
  out.push(
    `\`herodotus bench-serve\`: history of ${h.sensors} sensors × ${h.days} day${h.days === 1 ? '' : 's'} × ${h.rate_hz} Hz (${num(h.points)} points, ` +
      `${h.reused ? 'reused from an earlier run' : `back-filled in ${h.backfill_s} s`}), then ${ing.sensors} sensors × ${ing.rate_hz} Hz ` +
      `(${num(ing.offered_points_per_s)} points/s offered) in realtime for ${ing.window_s} s while ${u.users} users ` +
      `(think ${u.think_ms} ms mean, ${o.accept} lenses) explored presets 10 s … 30 d; ${o.verify * 100} % of answers sampled for verification against raw. ` +
      `${j.machine.cores} cores, 1-minute load average ${j.machine.load_1m?.toFixed(1) ?? 'unknown'} at the start.`,
    '',
  );
  const targets = Object.entries(j.targets as Record<string, { target: string; value: string; met: boolean }>);
  out.push(
    table(
      ['target', 'wanted', 'measured', ''],
      targets.map(([k, t]) => [LABELS[k] ?? k, t.target, t.value, t.met ? 'met' : '**not reached**']),
    ),
    '',
  );
  for (const [k, t] of targets.filter(([, t]) => !t.met)) out.push(`Not reached: ${LABELS[k] ?? k} (${t.value}; wanted ${t.target}).`, '');
  out.push(
    table(
      ['offered points/s', 'achieved', 'steady', 'backlog at the end, s', 'backlog max, s', 'catch-up, s'],
      [
        [
          num(ing.offered_points_per_s),
          num(ing.achieved_points_per_s),
          num(ing.steady_state_points_per_s),
          ing.backlog_s_at_window_end,
          ing.backlog_s_max ?? '',
          ing.catch_up_s ?? 'timed out',
        ],
      ],
    ),
    '',
    lensTable(u),
    '',
    cpuTable(j),
    '',
    `Load client (its own thread): event loop ${(j.load_client.event_loop_utilization * 100).toFixed(1)} % busy, late p50 ${j.load_client.event_loop_delay_ms.p50} / p99 ${j.load_client.event_loop_delay_ms.p99} / max ${j.load_client.event_loop_delay_ms.max} ms; ` +
      `the generator's main thread ${j.load_client.generator_main_thread_cores ?? 'n/a'} cores. ` +
      `Stored: ${num(j.verified.generated_points)} points generated, ${num(j.verified.lost_points)} lost, ${num(j.verified.duplicate_points)} stored twice (${j.verified.method}).`,
  );
  return out.join('\n');
}

function lensTable(u: Json): string {
  const presets = Object.entries(u.by_preset as Record<string, { requests: number; p50_ms: number; p99_ms: number }>);
  return table(
    ['lenses', 'requests', 'p50 ms', 'p99 ms'],
    [
      [
        `all (${u.requests_per_s}/s, ${u.errors} errors, ${u.verified} verified, ${u.mismatches} mismatches)`,
        u.requests,
        u.latency_ms.p50,
        u.latency_ms.p99,
      ],
      ...presets.map(([name, p]) => [name, p.requests, p.p50_ms, p.p99_ms]),
    ],
  );
}

function cpuTable(j: Json): string {
  const procs = Object.keys(j.cpu_cores);
  return table(
    ['process', 'cores over the window', 'cores during catch-up', 'RSS max, MB'],
    [
      ...procs.map((p) => [
        p === 'bench' ? 'bench (generator, load client)' : p,
        j.cpu_cores[p] ?? '',
        j.catch_up_cpu_cores[p] ?? '',
        j.rss_mb_max[p] ?? '',
      ]),
      ['machine (other work)', `${j.machine_cpu_cores ?? ''} (${j.other_cpu_cores ?? ''})`, '', ''],
    ],
  );
}
