/**
 * bench-peers: the same generated data (generator/signal.ts) and the same
 * lens workload against Herodotus and the systems a user would run instead —
 * ClickHouse alone (chdb), QuestDB, InfluxDB 1.x and VictoriaMetrics — one
 * after the other, each measured the same way (peers-measure.ts).
 */
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { parseOptions } from '../lib/config/args';
import { loadConfig } from '../lib/config/config';
import { loadTools } from '../harness/stack/tools';
import { ClickHousePeer } from './peers-clickhouse';
import { HerodotusPeer } from './peers-herodotus';
import { InfluxPeer } from './peers-influx';
import { CLIENTS, measurePeer, type PeerResult } from './peers-measure';
import type { Peer } from './peers-peer';
import { HerodotusStoragePeer } from './peers-storage';
import { QuestDbPeer } from './peers-questdb';
import { VictoriaPeer } from './peers-victoria';
import { makeWorkload, type EcgSeries, type PeerRun } from './peers-workload';
import { ecgSeries } from './peers-ecg';

const PEERS = ['herodotus', 'herodotus-storage', 'clickhouse', 'questdb', 'influxdb', 'victoriametrics'] as const;

const HELP = `usage: herodotus bench-peers [--sensors 100] [--minutes 10] [--rate 1000] [--queries 10] [--cell-seconds 30] [--request-timeout 120] [--no-ecg] [--peers ${PEERS.join(',')}] [--state DIR]

The same generated data (generator/signal.ts) and the same lens workload
against Herodotus (POST /v1/ingest through Kafka and the ingest workflows,
GET /v1/lens), Herodotus's storage path alone (the same writes, compaction
and lens code in this process on chdb, without Kafka or Temporal) and its peers, each started here on loopback with its own data
directory and stopped by PID: ClickHouse alone (chdb, one MergeTree table,
GROUP BY), QuestDB (ILP over HTTP, SAMPLE BY), InfluxDB 1.x (line protocol,
GROUP BY time()) and VictoriaMetrics (line protocol, query_range with
*_over_time). Per system: ingest points/s and CPU-seconds per million points,
bytes per point once settled, lens latency p50/p99 per preset (10 s, 1 min,
1 h, 1 d, 30 d; the longer ones cover all the data of a short run) at 1, 10
and 100 clients on 10 sensors × 2500 points, and each preset's first answer
compared bucket by bucket with the raw points. The MIT-BIH ECG (360 Hz, mV)
is written as one more sensor and each preset's lens over it is compared with
the recording (--no-ecg leaves it out). A latency cell sends no request after
--cell-seconds; a request unanswered after --request-timeout seconds is
aborted and counted. The last line of stdout is one JSON object.`;

const schema = z.object({
  sensors: z.coerce.number().int().min(1).max(10_000).default(100),
  minutes: z.coerce
    .number()
    .int()
    .min(1)
    .max(60 * 24 * 60)
    .default(10),
  rate: z.coerce
    .number()
    .int()
    .min(1)
    .max(1000)
    .refine((r) => 1000 % r === 0, 'rate must divide 1000 (whole-ms periods)')
    .default(1000),
  queries: z.coerce.number().int().min(1).max(10_000).default(10),
  'cell-seconds': z.coerce.number().min(1).max(3600).default(30),
  'request-timeout': z.coerce.number().min(1).max(3600).default(120),
  'no-ecg': z.boolean().default(false),
  peers: z
    .string()
    .default(PEERS.join(','))
    .transform((s) => s.split(','))
    .pipe(z.array(z.enum(PEERS))),
  state: z.string().optional(),
});

const PRESETS: Record<string, number> = { '10s': 10_000, '1min': 60_000, '1h': 3_600_000, '1d': 86_400_000, '30d': 30 * 86_400_000 };
const POINTS = 2500;
const LENS_SENSORS = 10;
const WRITERS = 2;
const log = (line: string) => process.stderr.write(`bench-peers: ${line}\n`);

export async function benchPeers(argv: string[]): Promise<number> {
  const opts = { type: 'string' } as const;
  const args = parseOptions(
    argv,
    {
      sensors: opts,
      minutes: opts,
      rate: opts,
      queries: opts,
      'cell-seconds': opts,
      'request-timeout': opts,
      'no-ecg': { type: 'boolean' },
      peers: opts,
      state: opts,
    },
    schema,
    HELP,
  );
  const config = loadConfig();
  const stateDir = args.state ?? path.join(config.stateDir, 'bench-peers');
  const tools = loadTools(config.toolsDir);
  const to = Date.UTC(2026, 0, 1);
  const from = to - args.minutes * 60_000;
  const points = args.sensors * args.minutes * 60 * args.rate;
  const data = { sensors: args.sensors, from, to, rate: args.rate };
  log(`${args.sensors} sensors × ${args.minutes} min × ${args.rate} Hz = ${points.toLocaleString('en')} points`);
  const workload = makeWorkload(PRESETS, data, args.queries, POINTS, LENS_SENSORS);
  // The ECG is one more sensor, after the generated ones, from the start of the range.
  const ecg = args['no-ecg'] ? null : ecgSeries(config.toolsDir, args.sensors + 1, from);
  const run: PeerRun = {
    data,
    points,
    workload,
    ecg,
    cellDeadlineMs: args['cell-seconds'] * 1000,
    requestTimeoutMs: args['request-timeout'] * 1000,
    writers: WRITERS,
    log,
  };
  const make: Record<(typeof PEERS)[number], () => Peer> = {
    herodotus: () => new HerodotusPeer(path.join(stateDir, 'herodotus')),
    'herodotus-storage': () => new HerodotusStoragePeer(path.join(stateDir, 'herodotus-storage')),
    clickhouse: () => new ClickHousePeer(path.join(stateDir, 'clickhouse')),
    questdb: () => new QuestDbPeer(tools.questdbJar ?? '', path.join(stateDir, 'questdb')),
    influxdb: () => new InfluxPeer(tools.influxd ?? '/usr/bin/influxd', path.join(stateDir, 'influxdb')),
    victoriametrics: () => new VictoriaPeer(tools.victoriaMetrics ?? '/usr/bin/victoria-metrics', path.join(stateDir, 'victoriametrics')),
  };
  const results: Record<string, PeerResult> = {};
  const failed: Record<string, string> = {};
  for (const name of args.peers) {
    try {
      results[name] = await measurePeer(make[name](), run);
    } catch (err) {
      // One system failing is a finding about it, not the end of the run.
      failed[name] = String(err instanceof Error ? err.message : err).slice(0, 500);
      log(`${name} failed: ${failed[name]}`);
    }
  }
  const result = resultJson(args, ecg, results, failed);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  return 0;
}

/** The run's JSON: the machine, the data and workload as run, every system's result and Herodotus ÷ each. */
function resultJson(
  args: z.infer<typeof schema>,
  ecg: EcgSeries | null,
  results: Record<string, PeerResult>,
  failed: Record<string, string>,
) {
  const points = args.sensors * args.minutes * 60 * args.rate;
  return {
    bench: 'peers',
    at: new Date().toISOString(),
    machine: {
      cores: os.cpus().length,
      cpu: os.cpus()[0]?.model,
      mem_gb: Math.round(os.totalmem() / 2 ** 30),
      load_avg_1m: Number(os.loadavg()[0]!.toFixed(1)),
      node: process.version,
    },
    data: {
      sensors: args.sensors,
      minutes: args.minutes,
      rate_hz: args.rate,
      points,
      signal: 'generator/signal.ts sensorValues seed 1',
      ecg: ecg ? { sensor: ecg.sensor, points: ecg.values.length, rate_hz: 360, unit: 'mV', times: 'whole ms' } : null,
    },
    workload: {
      presets: Object.keys(PRESETS),
      queries_per_preset: args.queries,
      points: POINTS,
      lens_sensors: Math.min(LENS_SENSORS, args.sensors),
      clients: CLIENTS,
      writers: WRITERS,
      cell_deadline_s: args['cell-seconds'],
      request_timeout_s: args['request-timeout'],
      same_windows_and_steps: true,
    },
    // In the canonical order, whatever order --peers ran them in.
    peers: PEERS.filter((p) => p in results),
    failed,
    results,
    ratios_herodotus_over: results.herodotus ? ratiosOver(results.herodotus, results) : {},
  };
}

/** Herodotus ÷ each peer: ingest rate, CPU per million points, bytes per point, lens p50/p99 per preset at each client count. */
function ratiosOver(hero: PeerResult, results: Record<string, PeerResult>) {
  // Null when either side timed out at that percentile.
  const ratio = (a: number | null, b: number | null) => (a === null || b === null ? null : Number((a / Math.max(0.01, b)).toFixed(2)));
  const lens = (pick: 'p50_ms' | 'p99_ms', peer: PeerResult) =>
    Object.fromEntries(
      Object.keys(PRESETS).map((p) => [
        p,
        Object.fromEntries(CLIENTS.map((c) => [c, ratio(hero.lens[p]![c]![pick], peer.lens[p]![c]![pick])])),
      ]),
    );
  return Object.fromEntries(
    Object.entries(results)
      .filter(([name]) => name !== 'herodotus')
      .map(([name, r]) => [
        name,
        {
          ingest_points_per_s: ratio(hero.ingest_points_per_s, r.ingest_points_per_s),
          ingest_cpu_s_per_million: ratio(hero.ingest_cpu_s_per_million, r.ingest_cpu_s_per_million),
          bytes_per_point: ratio(hero.bytes_per_point, r.bytes_per_point),
          lens_p50: lens('p50_ms', r),
          lens_p99: lens('p99_ms', r),
        },
      ]),
  );
}
