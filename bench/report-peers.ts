import path from 'node:path';
import { barsSvg } from './report-charts';
import { table, type Chart, type Json } from './report-section';

const LABEL: Record<string, string> = {
  herodotus: 'Herodotus',
  'herodotus-storage': 'Herodotus storage path alone',
  clickhouse: 'ClickHouse alone',
  questdb: 'QuestDB',
  influxdb: 'InfluxDB',
  victoriametrics: 'VictoriaMetrics',
};
const FIELDS = ['count', 'min', 'max', 'first', 'last'];
/** Systems in LABEL's order, whatever order the run measured them in; unknown ones after. */
const ordered = (peers: string[]) => [...Object.keys(LABEL).filter((k) => peers.includes(k)), ...peers.filter((k) => !(k in LABEL))];
const n = (x: number) => x.toLocaleString('en');

/** bench:peers: Herodotus and the systems a user would run instead, side by side on the same data and lenses. */
export function peersSection(json: Json, file: string, imgDir: string, charts: Chart[]): string {
  const names = ordered(json.peers);
  const res = json.results;
  const presets: string[] = json.workload.presets;
  const clients: number[] = json.workload.clients;
  const d = json.data;
  const md: string[] = [`## Herodotus and its peers (\`${file}\`)`, ''];
  md.push(
    `Data: ${d.sensors} sensors × ${d.minutes} min × ${d.rate_hz} Hz = ${n(d.points)} points (${d.signal}), ${json.workload.writers} concurrent writers. Lenses: ${json.workload.lens_sensors} sensors × ${json.workload.points} points, ${json.workload.queries_per_preset} windows per preset (at least one request per client), identical windows and bucket widths for every system; a preset longer than the data covers all of it. Machine: ${json.machine.cores} cores, load average at the end ${json.machine.load_avg_1m}.`,
    '',
  );
  for (const [k, why] of Object.entries(json.failed ?? {})) md.push(`**${LABEL[k] ?? k} failed in this run:** ${why}`, '');
  const row = (label: string, pick: (r: Json) => string | number) => [label, ...names.map((k) => pick(res[k]))];
  md.push(
    table(
      ['', ...names.map((k) => header(k, res[k].version))],
      [
        row('ingest points/s', (r) => n(r.ingest_points_per_s)),
        row('ingest CPU-s per million points', (r) => r.ingest_cpu_s_per_million),
        row('bytes/point on disk, settled', (r) => r.bytes_per_point),
        ...presets.flatMap((p) =>
          clients.map((c) =>
            row(`lens ${p}, ${c} client${c > 1 ? 's' : ''}: p50 / p99 ms`, (r) =>
              latencyCell(r.lens[p][c], json.workload.request_timeout_s),
            ),
          ),
        ),
      ],
    ),
    '',
  );
  md.push(
    "Bytes are the allocated blocks of each system's data directory growth once its settle step returned: Herodotus after compaction drained, ClickHouse after OPTIMIZE FINAL, InfluxDB 15 s after the last write (cold-write snapshot and full compaction) and then until two readings 3 s apart agree, VictoriaMetrics after a forced merge, QuestDB after its WAL was applied and VACUUM TABLE (applied WAL segments purged every second instead of its default 30 s) and then until two readings 5 s apart agree; at small sizes every system's fixed overhead dominates.",
    '',
  );
  md.push(...ratioTable(json, names, presets, clients));
  md.push(...exactnessTables(json, names, presets));
  md.push(
    'Paths: ',
    ...names.map((k) => `- ${LABEL[k]}: ingest ${res[k].ingest_path}; lens ${res[k].lens_path}; CPU of ${res[k].cpu_measured}.`),
    '',
  );
  md.push(...latencyCharts(json, file, imgDir, charts));
  return md.join('\n');
}

/** p50 / p99, a percentile among aborted requests as "> timeout", and how many were aborted. */
function latencyCell(l: Json, timeoutS: number | undefined): string {
  const v = (x: number | null) => (x === null ? `> ${(timeoutS ?? 0) * 1000}` : String(x));
  const cut = l.timed_out > 0 ? ` (${l.timed_out} of ${l.sent} aborted)` : '';
  return `${v(l.p50_ms)} / ${v(l.p99_ms)}${cut}`;
}

/** Each preset's first lens, the ECG lenses and the late window, each system against the raw points. */
function exactnessTables(json: Json, names: string[], presets: string[]): string[] {
  const res = json.results;
  const e = json.data.ecg;
  // One row per system, one cell per preset.
  const byPreset = (cell: (r: Json, p: string) => string) =>
    table(
      ['', ...presets],
      names.map((k) => [LABEL[k]!, ...presets.map((p) => cell(res[k], p))]),
    );
  const md = [
    'Exactness of each preset’s first lens against the raw points, bucket by bucket (count, min, max, first, last equal; avg by its largest relative error):',
    '',
    byPreset((r, p) => exactCell(r.exactness[p])),
    '',
  ];
  if (names.every((k) => res[k].ecg && Object.keys(res[k].ecg).length > 0))
    md.push(
      `The real recording: the MIT-BIH ECG (${n(e.points)} points at ${e.rate_hz} Hz in ${e.unit}, ${e.times}) written as sensor ${e.sensor} with the first ingest; each preset's lens centred on it against the recording:`,
      '',
      byPreset((r, p) => exactCell(r.ecg[p])),
      '',
    );
  if (names.every((k) => res[k].late))
    md.push(
      `Late data: ${n(res[names[0]!].late.points)} points (1 % of the range, every sensor, one contiguous window) held back and written after the system settled; each preset's lens over that window asked every 250 ms from the acknowledged write until exact (up to 120 s). First answer exact? / exact after:`,
      '',
      byPreset((r, p) => lateCell(r.late.presets[p])),
      '',
    );
  return md;
}

/** One chart per client count; a cell that timed out at p50 is drawn at the request timeout. */
function latencyCharts(json: Json, file: string, imgDir: string, charts: Chart[]): string[] {
  const names = ordered(json.peers);
  const res = json.results;
  const presets: string[] = json.workload.presets;
  const md: string[] = [];
  const timeoutMs = (json.workload.request_timeout_s ?? 0) * 1000;
  for (const c of json.workload.clients as number[]) {
    const png = `peers-latency-${c}-${path.basename(file, '.json')}.png`;
    charts.push({
      file: path.join(imgDir, png),
      svg: barsSvg(
        `Lens latency p50 by preset, ${c} client${c > 1 ? 's' : ''}`,
        presets,
        names.map((k) => ({ name: LABEL[k]!, values: presets.map((p) => res[k].lens[p][c].p50_ms ?? timeoutMs) })),
        'ms',
      ),
    });
    md.push(`![lens latency by preset at ${c} client${c > 1 ? 's' : ''}](benchmarks/${png})`, '');
  }
  return md;
}

/** Herodotus ÷ each peer, one column per peer. */
function ratioTable(json: Json, names: string[], presets: string[], clients: number[]): string[] {
  const md: string[] = [];
  const ratios = json.ratios_herodotus_over ?? {};
  const others = names.filter((k) => ratios[k]);
  if (others.length > 0) {
    md.push('Herodotus ÷ each peer (ingest: above 1 is faster; CPU, bytes and latency: below 1 is better):', '');
    const rr = (label: string, pick: (r: Json) => number) => [label, ...others.map((k) => pick(ratios[k]))];
    md.push(
      table(
        ['Herodotus ÷', ...others.map((k) => LABEL[k]!)],
        [
          rr('ingest points/s', (r) => r.ingest_points_per_s),
          rr('ingest CPU-s per million points', (r) => r.ingest_cpu_s_per_million),
          rr('bytes/point', (r) => r.bytes_per_point),
          ...presets.flatMap((p) =>
            clients.map((c) => rr(`lens ${p} p50, ${c} client${c > 1 ? 's' : ''}`, (r) => r.lens_p50[p][c] ?? '–')),
          ),
        ],
      ),
      '',
    );
  }
  return md;
}

function exactCell(e: Json): string {
  const wrong = FIELDS.filter((f) => e.wrong[f] > 0).map((f) => `${f} ≠ in ${e.wrong[f]}`);
  if (e.missing > 0) wrong.push(`${e.missing} missing`);
  if (e.extra > 0) wrong.push(`${e.extra} extra`);
  const avg = e.avg_max_rel_err === 0 ? 'avg exact' : `avg rel err ≤ ${Number(e.avg_max_rel_err).toExponential(1)}`;
  return `${wrong.length === 0 ? `exact (${e.buckets} buckets)` : `**${wrong.join(', ')}** of ${e.buckets}`}; ${avg}`;
}

function lateCell(l: Json | undefined): string {
  if (!l) return '–';
  return `${l.first_answer_exact ? 'yes' : '**no**'} / ${l.exact_after_ms === null ? '**not exact in 120 s**' : `${l.exact_after_ms} ms`}`;
}

/** The system's name and version, once (QuestDB's build() already starts with its name). */
function header(k: string, version: string): string {
  const label = LABEL[k] ?? k;
  if (k === 'herodotus') return label;
  return version.startsWith(label) ? version : `${label} ${version}`;
}
