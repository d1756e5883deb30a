import { ConfigError } from '../lib/config/config';
import { UsageError } from '../lib/config/args';

type Command = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  dev: { summary: 'start Kafka, Temporal and Herodotus (API, worker, embedded ClickHouse)', load: async () => (await import('./dev')).dev },
  serve: {
    summary: 'run Herodotus only, against Kafka and Temporal given by the environment',
    load: async () => (await import('./serve')).serve,
  },
  generate: {
    summary: 'publish synthetic sensor batches to Kafka, simulating an unreliable upstream',
    load: async () => (await import('./generate')).generate,
  },
  verify: { summary: 'compare what is stored with a generator manifest', load: async () => (await import('./verify')).verify },
  backfill: {
    summary: 'generate, import or recompact history through a backfill workflow',
    load: async () => (await import('./backfill')).backfill,
  },
  cluster: {
    summary: 'local ClickHouse cluster (2 shards × 2 replicas, ZooKeeper): up, down, status',
    load: async () => (await import('./cluster')).cluster,
  },
  demo: {
    summary: 'set up, ingest a minute of 100 sensors at 1 kHz through faults, verify, report',
    load: async () => (await import('./demo')).demo,
  },
  'query-load': {
    summary: 'virtual users exploring lenses (zoom, pan) against the API: latency, errors, exactness (JSON)',
    load: async () => (await import('./query-load')).queryLoad,
  },
  scenario: {
    summary: 'run a named scenario (steady, late-data, duplicates, outage, burst, backfill-month) and report (JSON)',
    load: async () => (await import('./scenario')).scenario,
  },
  'bench-codec': {
    summary: 'micro-benchmark of the batch codec and signal generation (JSON)',
    load: async () => (await import('../bench/codec')).benchCodec,
  },
  'bench-lens': {
    summary: 'back-fill a month, then lens latency per preset and concurrency vs raw GROUP BY (JSON)',
    load: async () => (await import('../bench/lens')).benchLens,
  },
  'bench-floors': {
    summary: 'idle floors of a small store: GET /v1/health p50, idle CPU per process, visibility of a point after idle (JSON)',
    load: async () => (await import('../bench/floors')).benchFloors,
  },
  'bench-serve': {
    summary:
      'history back-filled once, then 1000 sensors × 1 kHz realtime while 100 users explore lenses: ingest, backlog, lens p50/p99, exactness, CPU per process, targets (JSON)',
    load: async () => (await import('../bench/serve')).benchServe,
  },
  'bench-peers': {
    summary:
      'same data and lenses against Herodotus, ClickHouse alone, QuestDB, InfluxDB, VictoriaMetrics: ingest, CPU, bytes/point, lens latency, exactness, late data (JSON)',
    load: async () => (await import('../bench/peers')).benchPeers,
  },
  'bench-compaction-plan': {
    summary: 'one compaction planning round on a month of ledger (1000 sensors): old vs dirty marks, ms, rows read, CPU, RSS (JSON)',
    load: async () => (await import('../bench/compaction-plan')).benchCompactionPlan,
  },
  'bench-replace-cost': {
    summary: 'a correction (on_conflict=replace) of 3 stored points vs a plain write of 3 points: median ms and CPU (JSON)',
    load: async () => (await import('../bench/replace-cost')).benchReplaceCost,
  },
  'bench-storage': {
    summary: 'compressed bytes per point of raw, rollups and ledgers, on the generator signal or the real ECG (JSON)',
    load: async () => (await import('../bench/storage')).benchStorage,
  },
  'bench-ingest': {
    summary: 'measure sustained end-to-end ingest at stepped rates (JSON)',
    load: async () => (await import('../bench/ingest-bench')).benchIngest,
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `usage: herodotus <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun 'herodotus <command> --help' for a command's options.`;
}

export async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage()}\n`);
    process.exit(name ? 0 : 2);
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`herodotus: unknown command '${name}'\n\n${usage()}\n`);
    process.exit(2);
  }
  try {
    const code = await (await command.load())(rest);
    // Native runtimes (Temporal's core, chdb) keep threads alive after a clean
    // shutdown; a finished command exits rather than waiting on them.
    process.exit(code);
  } catch (err) {
    if (err instanceof UsageError || err instanceof ConfigError) {
      process.stderr.write(`herodotus ${name}: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}
