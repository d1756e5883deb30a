/**
 * docs/benchmarks.md from the benchmark JSON files under bench/results/
 * (the last stdout line of bench-ingest, bench-lens, bench-peers,
 * query-load --json, scenario --json),
 * with PNG charts rendered as SVG in headless Chromium (playwright-core).
 *
 *   npx tsx bench/report.ts [--results bench/results] [--out docs/benchmarks.md]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { PROJECT_ROOT } from '../lib/config/config';

type Json = Record<string, any>;

const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed', '#0891b2'];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/** Grouped bars: one group per category, one bar per series (log scale when values span > 100×). */
function barsSvg(title: string, categories: string[], series: { name: string; values: number[] }[], unit: string): string {
  const W = 900,
    H = 420,
    L = 70,
    B = 60,
    T = 50,
    R = 20;
  const all = series.flatMap((s) => s.values).filter((v) => v > 0);
  const max = Math.max(...all, 1);
  const min = Math.min(...all, max);
  const log = max / Math.max(min, 1e-3) > 100;
  const lo = log ? Math.pow(10, Math.floor(Math.log10(Math.max(min, 0.01)))) : 0;
  const hi = log ? Math.pow(10, Math.ceil(Math.log10(max))) : max * 1.1;
  const y = (v: number) =>
    T + (H - T - B) * (1 - (log ? (Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo)) : v / hi));
  const gw = (W - L - R) / categories.length;
  const bw = (gw * 0.8) / series.length;
  let out = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12"><rect width="100%" height="100%" fill="white"/>`;
  out += `<text x="${W / 2}" y="24" text-anchor="middle" font-size="16">${esc(title)}</text>`;
  const ticks = log
    ? Array.from({ length: Math.round(Math.log10(hi / lo)) + 1 }, (_, i) => lo * 10 ** i)
    : Array.from({ length: 6 }, (_, i) => (hi * i) / 5);
  for (const t of ticks)
    out += `<line x1="${L}" x2="${W - R}" y1="${y(t)}" y2="${y(t)}" stroke="#ddd"/><text x="${L - 6}" y="${y(t) + 4}" text-anchor="end">${Number(t.toPrecision(3))}</text>`;
  out += `<text x="16" y="${(H - B + T) / 2}" transform="rotate(-90 16 ${(H - B + T) / 2})" text-anchor="middle">${esc(unit)}${log ? ' (log)' : ''}</text>`;
  categories.forEach((c, i) => {
    series.forEach((s, k) => {
      const v = s.values[i] ?? 0;
      const x = L + i * gw + gw * 0.1 + k * bw;
      out += `<rect x="${x}" y="${y(v)}" width="${bw - 2}" height="${H - B - y(v)}" fill="${COLORS[k % COLORS.length]}"/><text x="${x + bw / 2}" y="${y(v) - 3}" text-anchor="middle" font-size="10">${v}</text>`;
    });
    out += `<text x="${L + i * gw + gw / 2}" y="${H - B + 18}" text-anchor="middle">${esc(c)}</text>`;
  });
  series.forEach(
    (s, k) =>
      (out += `<rect x="${L + k * 180}" y="${H - 24}" width="12" height="12" fill="${COLORS[k % COLORS.length]}"/><text x="${L + k * 180 + 16}" y="${H - 14}">${esc(s.name)}</text>`),
  );
  return `${out}</svg>`;
}

/** Lines over time (x in seconds). */
function linesSvg(title: string, series: { name: string; points: [number, number][] }[], unit: string): string {
  const W = 900,
    H = 380,
    L = 70,
    B = 60,
    T = 50,
    R = 20;
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  const xMax = Math.max(...xs, 1);
  const yMax = Math.max(...ys, 1) * 1.1;
  const x = (v: number) => L + ((W - L - R) * v) / xMax;
  const y = (v: number) => T + (H - T - B) * (1 - v / yMax);
  let out = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12"><rect width="100%" height="100%" fill="white"/>`;
  out += `<text x="${W / 2}" y="24" text-anchor="middle" font-size="16">${esc(title)}</text>`;
  for (let i = 0; i <= 5; i++) {
    const t = (yMax * i) / 5;
    out += `<line x1="${L}" x2="${W - R}" y1="${y(t)}" y2="${y(t)}" stroke="#ddd"/><text x="${L - 6}" y="${y(t) + 4}" text-anchor="end">${Number(t.toPrecision(3))}</text>`;
    const s = (xMax * i) / 5;
    out += `<text x="${x(s)}" y="${H - B + 18}" text-anchor="middle">${Math.round(s)} s</text>`;
  }
  out += `<text x="16" y="${(H - B + T) / 2}" transform="rotate(-90 16 ${(H - B + T) / 2})" text-anchor="middle">${esc(unit)}</text>`;
  series.forEach((s, k) => {
    out += `<polyline fill="none" stroke="${COLORS[k % COLORS.length]}" stroke-width="2" points="${s.points.map(([a, b]) => `${x(a).toFixed(1)},${y(b).toFixed(1)}`).join(' ')}"/>`;
    out += `<rect x="${L + k * 220}" y="${H - 24}" width="12" height="12" fill="${COLORS[k % COLORS.length]}"/><text x="${L + k * 220 + 16}" y="${H - 14}">${esc(s.name)}</text>`;
  });
  return `${out}</svg>`;
}

async function renderPngs(charts: { file: string; svg: string }[]): Promise<void> {
  if (charts.length === 0) return;
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 920, height: 440 } });
    for (const c of charts) {
      await page.setContent(`<html><body style="margin:0">${c.svg}</body></html>`);
      await (await page.$('svg'))!.screenshot({ path: c.file });
    }
  } finally {
    await browser.close();
  }
}

const table = (head: string[], rows: (string | number)[][]) =>
  [`| ${head.join(' | ')} |`, `|${head.map(() => ' --- ').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');

export async function main(argv: string[]): Promise<void> {
  const opt = (name: string, dflt: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1]! : dflt;
  };
  const resultsDir = path.resolve(PROJECT_ROOT, opt('results', 'bench/results'));
  const outFile = path.resolve(PROJECT_ROOT, opt('out', 'docs/benchmarks.md'));
  const imgDir = path.join(path.dirname(outFile), 'benchmarks');
  fs.mkdirSync(imgDir, { recursive: true });
  const files = fs.existsSync(resultsDir)
    ? fs
        .readdirSync(resultsDir)
        .filter((f) => f.endsWith('.json'))
        .sort()
    : [];
  const results = files.map((f) => ({ file: f, json: JSON.parse(fs.readFileSync(path.join(resultsDir, f), 'utf8')) as Json }));
  const charts: { file: string; svg: string }[] = [];
  const md: string[] = [
    '# Benchmarks',
    '',
    `Generated by \`npx tsx bench/report.ts\` from the JSON files in \`bench/results/\` (${files.length} files); do not edit by hand.`,
    '',
    '## Machine',
    '',
    `${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}), ${Math.round(os.totalmem() / 2 ** 30)} GB RAM, ${os.type()} ${os.release()}, Node ${process.version}.`,
    "The machine is shared with other developers' runs: the 1-minute load average at measurement time is recorded with each result where known; numbers are indicative, not peak.",
    '',
  ];

  for (const { file, json } of results.filter((r) => r.json.benchmark === 'ingest-end-to-end')) {
    md.push(ingestSection(json, file, imgDir, charts), '');
  }

  for (const { file, json } of results.filter((r) => r.json.lens?.presets && r.json.backfill)) {
    md.push(lensSection(json, file, imgDir, charts), '');
  }

  for (const { file, json } of results.filter((r) => r.json.bench === 'peers')) {
    const h = json.herodotus,
      i = json.influxdb,
      r = json.ratios_herodotus_over_influxdb;
    const presets: string[] = json.workload.presets;
    md.push(`## Herodotus vs InfluxDB ${i.version} (\`${file}\`)`, '');
    md.push(
      `Data: ${json.data.sensors} sensors × ${json.data.hours} h × ${json.data.rate_hz} Hz = ${json.data.points.toLocaleString('en')} points (${json.data.signal}). Workload: ${json.workload.queries_per_preset} lenses per preset, ${json.workload.points} points, ${json.workload.clients} client, identical windows and bucket widths for both. Load average at the end: ${json.machine.load_avg_1m}. Bucket counts of the first lens per preset agree: ${json.counts_agree ? 'yes' : `**no** ${JSON.stringify(json.counts)}`}.`,
      '',
    );
    md.push(
      table(
        ['', 'Herodotus', `InfluxDB ${i.version}`, 'ratio H/I'],
        [
          [
            'ingest points/s',
            h.ingest_points_per_s.toLocaleString('en'),
            i.ingest_points_per_s.toLocaleString('en'),
            r.ingest_points_per_s,
          ],
          ['bytes/point on disk', h.bytes_per_point, i.bytes_per_point, r.bytes_per_point],
          ...presets.flatMap((p) => [
            [`lens ${p} p50 ms`, h.lens[p].p50_ms, i.lens[p].p50_ms, r.lens_p50[p]],
            [`lens ${p} p99 ms`, h.lens[p].p99_ms, i.lens[p].p99_ms, r.lens_p99[p]],
          ]),
        ],
      ),
      '',
    );
    md.push(
      `Herodotus ingest path: ${h.ingest_path}. InfluxDB: HTTP /write line protocol, 2 concurrent writers; its bytes are data + WAL after a cold-write snapshot. Herodotus bytes are the whole embedded ClickHouse directory growth (raw, rollup pyramid, ledgers).${json.data.points < 5_000_000 ? ' At this size fixed overhead (parts not yet merged, metadata, WAL) dominates bytes/point for both; run with more data (e.g. `--hours 168`) for per-point storage cost.' : ''}`,
      '',
    );
    const png = `peers-latency-${path.basename(file, '.json')}.png`;
    charts.push({
      file: path.join(imgDir, png),
      svg: barsSvg(
        'Lens latency by preset (p50 / p99)',
        presets,
        [
          { name: 'Herodotus p50', values: presets.map((p) => h.lens[p].p50_ms) },
          { name: 'InfluxDB p50', values: presets.map((p) => i.lens[p].p50_ms) },
          { name: 'Herodotus p99', values: presets.map((p) => h.lens[p].p99_ms) },
          { name: 'InfluxDB p99', values: presets.map((p) => i.lens[p].p99_ms) },
        ],
        'ms',
      ),
    });
    md.push(`![lens latency by preset](benchmarks/${png})`, '');
  }

  for (const { file, json } of results.filter(
    (r) => Array.isArray(r.json.timeline) && r.json.users !== undefined && r.json.scenario === undefined,
  )) {
    md.push(`## Query load (\`${file}\`)`, '');
    md.push(queryLoadSection(json, file, imgDir, charts), '');
  }

  const scenarios = results.filter((r) => r.json.scenario !== undefined);
  if (scenarios.length > 0) {
    md.push('## Scenarios', '');
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
  }
  await renderPngs(charts);
  fs.writeFileSync(outFile, `${md.join('\n').replace(/\n{3,}/g, '\n\n')}\n`);
  process.stdout.write(`wrote ${path.relative(PROJECT_ROOT, outFile)} and ${charts.length} charts\n`);
}

/** bench:ingest: sustained rate per offered step, and points stored per second over the whole run. */
function ingestSection(j: Json, file: string, imgDir: string, charts: { file: string; svg: string }[]): string {
  const out = [`## Ingest end to end (\`${file}\`)`, ''];
  out.push(
    `Generator → Kafka → Temporal ingest workflows → embedded ClickHouse, ${j.config.step_seconds} s per step at ${j.config.rate_hz} Hz per sensor, ${j.config.partitions} partitions. ` +
      `A step is sustained when the backlog at its end is at most ${j.config.max_backlog_s} s. Target ${j.target_points_per_s.toLocaleString('en')} points/s: **${j.target_met ? 'met' : 'not met'}** ` +
      `(highest sustained step ${j.max_sustained_points_per_s.toLocaleString('en')} offered, ${j.max_sustained_achieved_points_per_s.toLocaleString('en')} achieved). ` +
      `Verified afterwards: ${j.verified.generated.toLocaleString('en')} generated, ${j.verified.stored.toLocaleString('en')} stored, ${j.verified.lost} lost, ${j.verified.duplicates} duplicates.`,
    '',
  );
  out.push(
    table(
      ['offered points/s', 'achieved points/s', 'sustained', 'backlog at end s', 'catch-up s', 'Herodotus cores', 'Herodotus RSS MB'],
      j.steps.map((st: Json) => [
        st.offered_points_per_s.toLocaleString('en'),
        st.achieved_points_per_s.toLocaleString('en'),
        st.sustained ? 'yes' : 'no',
        st.backlog_s_at_window_end,
        st.catch_up_s,
        st.processes?.herodotus?.cpu_cores ?? '',
        st.processes?.herodotus?.rss_mb_max ?? '',
      ]),
    ),
    '',
  );
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

/** bench:lens: latency per preset and concurrency, and the naive GROUP BY over raw. */
function lensSection(j: Json, file: string, imgDir: string, charts: { file: string; svg: string }[]): string {
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

function queryLoadSection(q: Json, file: string, imgDir: string, charts: { file: string; svg: string }[]): string {
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

if (import.meta.url === `file://${process.argv[1]}`) await main(process.argv.slice(2));
