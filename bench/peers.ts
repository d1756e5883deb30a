/**
 * bench-peers: the same generated data (generator/signal.ts) and the same
 * lens workload against InfluxDB 1.x (peers-influx.ts) and against Herodotus
 * (peers-herodotus.ts), one after the other; what both are given and how
 * they are timed is in peers-workload.ts.
 */
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { parseOptions } from '../lib/config/args';
import { loadConfig } from '../lib/config/config';
import { measureHerodotus, type HerodotusMeasurement } from './peers-herodotus';
import { measureInflux, type InfluxMeasurement } from './peers-influx';
import { makeWorkload, type PeerRun } from './peers-workload';

const HELP = `usage: herodotus bench-peers [--sensors 4] [--hours 24] [--rate 10] [--queries 30] [--state DIR]

The same generated data (generator/signal.ts) and the same lens workload
against InfluxDB 1.x (Debian's influxd, started here on loopback with its own
config and data dir, stopped by PID; native GROUP BY time() with count, mean,
min, max, first, last) and against Herodotus (POST /v1/ingest through Kafka
and the ingest workflows, lenses from GET /v1/lens): ingest points/s, bytes per
point on disk, lens latency p50/p99 per preset, and ratios. The last line of
stdout is one JSON object.`;

const schema = z.object({
  sensors: z.coerce.number().int().min(1).max(10).default(4),
  hours: z.coerce
    .number()
    .int()
    .min(1)
    .max(24 * 60)
    .default(24),
  rate: z.coerce.number().int().min(1).max(1000).default(10),
  queries: z.coerce.number().int().min(1).max(10_000).default(30),
  state: z.string().optional(),
});

const PRESETS: Record<string, number> = { '10s': 10_000, '1min': 60_000, '1h': 3_600_000, '1d': 86_400_000 };
const POINTS = 2500;
const log = (line: string) => process.stderr.write(`bench-peers: ${line}\n`);

export async function benchPeers(argv: string[]): Promise<number> {
  const args = parseOptions(
    argv,
    {
      sensors: { type: 'string' },
      hours: { type: 'string' },
      rate: { type: 'string' },
      queries: { type: 'string' },
      state: { type: 'string' },
    },
    schema,
    HELP,
  );
  const stateDir = args.state ?? path.join(loadConfig().stateDir, 'bench-peers');
  const to = Date.UTC(2026, 0, 1);
  const from = to - args.hours * 3_600_000;
  const points = args.sensors * args.hours * 3600 * args.rate;
  const data = { sensors: args.sensors, from, to, rate: args.rate };
  log(`${args.sensors} sensors × ${args.hours} h × ${args.rate} Hz = ${points.toLocaleString('en')} points`);
  // The same random lens windows for both systems.
  const run: PeerRun = { data, points, workload: makeWorkload(PRESETS, data, args.queries, POINTS), log };

  const influx = await measureInflux(path.join(stateDir, 'influxdb'), run);
  const hero = await measureHerodotus(path.join(stateDir, 'herodotus'), run);
  const result = {
    bench: 'peers',
    at: new Date().toISOString(),
    machine: {
      cores: os.cpus().length,
      cpu: os.cpus()[0]?.model,
      mem_gb: Math.round(os.totalmem() / 2 ** 30),
      load_avg_1m: Number(os.loadavg()[0]!.toFixed(1)),
      node: process.version,
    },
    data: { sensors: args.sensors, hours: args.hours, rate_hz: args.rate, points, signal: 'generator/signal.ts sensorValues seed 1' },
    workload: { presets: Object.keys(PRESETS), queries_per_preset: args.queries, points: POINTS, clients: 1, same_windows_and_steps: true },
    counts_agree: JSON.stringify(hero.counts) === JSON.stringify(influx.counts),
    counts: { herodotus: hero.counts, influxdb: influx.counts },
    herodotus: hero.result,
    influxdb: influx.result,
    ratios_herodotus_over_influxdb: ratios(hero.result, influx.result),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  return 0;
}

/** Herodotus ÷ InfluxDB for ingest rate, bytes per point and lens latency per preset. */
function ratios(hero: HerodotusMeasurement, influx: InfluxMeasurement) {
  const ratio = (a: number, b: number) => Number((a / Math.max(0.01, b)).toFixed(2));
  const hl = hero.lens;
  const il = influx.lens;
  return {
    ingest_points_per_s: ratio(hero.ingest_points_per_s, influx.ingest_points_per_s),
    bytes_per_point: ratio(hero.bytes_per_point, influx.bytes_per_point),
    lens_p50: Object.fromEntries(Object.keys(PRESETS).map((k) => [k, ratio(hl[k]!.p50_ms, il[k]!.p50_ms)])),
    lens_p99: Object.fromEntries(Object.keys(PRESETS).map((k) => [k, ratio(hl[k]!.p99_ms, il[k]!.p99_ms)])),
  };
}
