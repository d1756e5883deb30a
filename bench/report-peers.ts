import path from 'node:path';
import { barsSvg } from './report-charts';
import { table, type Chart, type Json } from './report-section';

/** bench:peers: Herodotus and InfluxDB side by side on the same data and lenses. */
export function peersSection(json: Json, file: string, imgDir: string, charts: Chart[]): string {
  const h = json.herodotus,
    i = json.influxdb,
    r = json.ratios_herodotus_over_influxdb;
  const presets: string[] = json.workload.presets;
  const md: string[] = [];
  md.push(`## Herodotus vs InfluxDB ${i.version} (\`${file}\`)`, '');
  md.push(
    `Data: ${json.data.sensors} sensors × ${json.data.hours} h × ${json.data.rate_hz} Hz = ${json.data.points.toLocaleString('en')} points (${json.data.signal}). Workload: ${json.workload.queries_per_preset} lenses per preset, ${json.workload.points} points, ${json.workload.clients} client, identical windows and bucket widths for both. Load average at the end: ${json.machine.load_avg_1m}. Bucket counts of the first lens per preset agree: ${json.counts_agree ? 'yes' : `**no** ${JSON.stringify(json.counts)}`}.`,
    '',
  );
  md.push(
    table(
      ['', 'Herodotus', `InfluxDB ${i.version}`, 'ratio H/I'],
      [
        ['ingest points/s', h.ingest_points_per_s.toLocaleString('en'), i.ingest_points_per_s.toLocaleString('en'), r.ingest_points_per_s],
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
  md.push(`![lens latency by preset](benchmarks/${png})`);
  return md.join('\n');
}
