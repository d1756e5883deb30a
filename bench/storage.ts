/**
 * bench-storage: measured compressed bytes per point of the real schema.
 *
 * Stores a signal through the real embedded store (lib/clickhouse/store.ts:
 * the schema rendered by renderSchema, RowBinary inserts), records the
 * window/day ledger and computes every rollup level with the compactor's own
 * SQL (lib/clickhouse/rollup.ts), then OPTIMIZE FINAL and reads system.parts /
 * system.columns. The signal is the generator's (`sensors × seconds × rate`
 * points of generator/signal.ts) or the MIT-BIH ECG in mV at 360 Hz
 * (harness/verify/ecg.ts). The last line of stdout is one JSON object.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { parseOptions } from '../lib/config/args';
import { loadConfig } from '../lib/config/config';
import { recordStage, type UnitVersion } from '../lib/clickhouse/ledger';
import { writeCoarseLevels, writeFineLevels } from '../lib/clickhouse/rollup';
import { DAY_LEDGER_TABLE, RAW_TABLE, ROLLUP_TABLE, SENSOR_EXTENT_TABLE, WINDOW_LEDGER_TABLE } from '../lib/clickhouse/schema';
import { singleShard } from '../lib/clickhouse/shards';
import { migrate } from '../lib/clickhouse/migrate';
import type { Store } from '../lib/clickhouse/store';
import { openStore } from '../lib/clickhouse/store-open';
import { sensorValues } from '../generator/signal';
import { allocatePoints, type PointColumns } from '../lib/model/points';
import { readEcg } from '../harness/verify/ecg';
import { makeLadder, MS } from '../lib/model/ladder';
import { round } from './round';

export interface TableStorage {
  table: string;
  rows: number;
  parts: number;
  compressedBytes: number;
  uncompressedBytes: number;
  /** Compressed bytes of the table ÷ raw points stored. */
  bytesPerPoint: number;
  /** Compressed bytes ÷ the table's own rows. */
  bytesPerRow: number;
  /** Per column; empty for tables whose only part is compact (all columns in one file, no per-column sizes). */
  columns: { name: string; compressedBytes: number; uncompressedBytes: number; bytesPerRow: number }[];
}

export interface StorageReport {
  bench: 'storage';
  signal: SignalName;
  engine: string;
  points: number;
  sensors: number;
  seconds: number;
  rateHz: number;
  /** The generator's seed; null for the ECG. */
  seed: number | null;
  start: string;
  tables: TableStorage[];
  /** raw + rollup + ledgers + extent, compressed, per raw point. */
  totalBytesPerPoint: number;
  rawBytesPerPoint: number;
  rollupBytesPerPoint: number;
  /** Rollup rows per raw point (all levels), as stored after FINAL. */
  rollupRowsPerPoint: number;
  elapsedSeconds: { generateAndInsert: number; compact: number; optimize: number };
}

const log = (line: string) => process.stderr.write(`bench-storage: ${line}\n`);

async function rows<T>(store: Store, sql: string): Promise<T[]> {
  const rs = await store.client.query({ query: sql, format: 'JSONEachRow' });
  return rs.json<T>();
}

type SignalName = 'generator' | 'ecg';

/** What is stored: `perSensor` points of each sensor 1..sensors, from `start`, all before `start + spanMs`. */
interface StoredSignal {
  name: SignalName;
  sensors: number;
  perSensor: number;
  rateHz: number;
  seed: number | null;
  start: number;
  spanMs: number;
  /** Writes sensor `sensor`'s points into `points` from row `at`. */
  write(points: PointColumns, sensor: number, at: number): void;
}

/** A whole minute, well inside one day partition. */
const START = Date.UTC(2026, 0, 5, 6, 0, 0);

function generatorSignal(sensors: number, seconds: number, rateHz: number, seed: number): StoredSignal {
  if (1000 % rateHz !== 0) throw new RangeError('--rate must divide 1000');
  const periodMs = 1000 / rateHz;
  const perSensor = seconds * rateHz;
  return {
    name: 'generator',
    sensors,
    perSensor,
    rateHz,
    seed,
    start: START,
    spanMs: seconds * 1000,
    write(points, sensor, at) {
      points.value.set(sensorValues(seed, sensor, START, periodMs, perSensor), at);
      for (let i = 0; i < perSensor; i++) points.ts[at + i] = START + i * periodMs;
    },
  };
}

function ecgSignal(toolsDir: string): StoredSignal {
  const ecg = readEcg(toolsDir, START);
  return {
    name: 'ecg',
    sensors: 1,
    perSensor: ecg.times.length,
    rateHz: 360,
    seed: null,
    start: START,
    spanMs: ecg.times[ecg.times.length - 1]! - START + 1,
    write(points, _sensor, at) {
      points.value.set(ecg.millivolts, at);
      points.ts.set(ecg.times, at);
    },
  };
}

const TABLES = [RAW_TABLE, ROLLUP_TABLE, WINDOW_LEDGER_TABLE, DAY_LEDGER_TABLE, SENSOR_EXTENT_TABLE].map((t) => t.name);

export async function measureStorage(signal: StoredSignal, dir: string): Promise<StorageReport> {
  const config = loadConfig({ HERODOTUS_STATE_DIR: dir, HERODOTUS_TOOLS_DIR: path.join(dir, 'tools') });
  const store = await openStore(config, { name: 'bench-storage' });
  try {
    await migrate(singleShard(store));
    const engine = (await rows<{ v: string }>(store, 'SELECT version() AS v'))[0]?.v ?? '?';
    const generateAndInsert = await insertRaw(store, signal);
    const compact = await writeLedgerAndRollups(store, signal);
    const optimize = await optimizeTables(store);
    const points = signal.sensors * signal.perSensor;
    const report = await tableStorage(store, points);
    const by = (name: string) => report.find((t) => t.table === name)!;
    const total = report.reduce((s, t) => s + t.compressedBytes, 0);
    return {
      bench: 'storage',
      signal: signal.name,
      engine,
      points,
      sensors: signal.sensors,
      seconds: round(signal.spanMs / 1000, 3),
      rateHz: signal.rateHz,
      seed: signal.seed,
      start: new Date(signal.start).toISOString(),
      tables: report,
      totalBytesPerPoint: round(total / points, 4),
      rawBytesPerPoint: by(RAW_TABLE.name).bytesPerPoint,
      rollupBytesPerPoint: by(ROLLUP_TABLE.name).bytesPerPoint,
      rollupRowsPerPoint: round(by(ROLLUP_TABLE.name).rows / points, 4),
      elapsedSeconds: { generateAndInsert: round(generateAndInsert, 1), compact: round(compact, 1), optimize: round(optimize, 1) },
    };
  } finally {
    await store.close();
  }
}

/** 1. Raw points, a few sensors per insert (≈2-3M rows, like a few seconds of a busy partition); seconds taken. */
async function insertRaw(store: Store, signal: StoredSignal): Promise<number> {
  const { sensors, perSensor } = signal;
  const t0 = performance.now();
  const perInsert = Math.max(1, Math.floor(2_500_000 / perSensor));
  for (let first = 0; first < sensors; first += perInsert) {
    const group = Math.min(perInsert, sensors - first);
    const points = allocatePoints(group * perSensor);
    for (let g = 0; g < group; g++) {
      const o = g * perSensor;
      points.sensor.fill(first + g + 1, o, o + perSensor);
      signal.write(points, first + g + 1, o);
    }
    points.length = group * perSensor;
    await store.insertPoints(points, `bench-storage-raw-${signal.name}-${signal.seed}-${first}`);
    log(`inserted sensors ${first + 1}..${first + group} (${((first + group) * perSensor).toLocaleString('en')} points)`);
  }
  return (performance.now() - t0) / 1000;
}

/** 2. Ledger and rollups exactly as ingest and compaction write them; seconds taken. */
async function writeLedgerAndRollups(store: Store, signal: StoredSignal): Promise<number> {
  const { sensors, start } = signal;
  const t0 = performance.now();
  const ladder = makeLadder();
  const windows: UnitVersion[] = [];
  const days = new Map<string, UnitVersion>();
  const end = start + signal.spanMs;
  for (let sensor = 1; sensor <= sensors; sensor++) {
    for (let w = Math.floor(start / ladder.windowMs) * ladder.windowMs; w < end; w += ladder.windowMs) {
      windows.push({ sensor, start: w, version: 1 });
      const day = Math.floor(w / MS.day) * MS.day;
      days.set(`${sensor}:${day}`, { sensor, start: day, version: 1 });
    }
  }
  for (const stage of ['pending', 'ingested'] as const)
    await recordStage(store, stage, windows, [...days.values()], `bench-ledger-${stage}`);
  const UNITS_PER_STATEMENT = 200;
  for (let i = 0; i < windows.length; i += UNITS_PER_STATEMENT) {
    const units = windows.slice(i, i + UNITS_PER_STATEMENT);
    await writeFineLevels(store, ladder, units, `bench-fine-${i}`);
    await writeCoarseLevels(store, ladder, units, `bench-coarse-${i}`);
  }
  await recordStage(store, 'compacted', windows, [...days.values()], 'bench-ledger-compacted');
  const compact = (performance.now() - t0) / 1000;
  log(`rollups and ledger written for ${windows.length} (sensor, window) units in ${compact.toFixed(1)} s`);
  return compact;
}

/** 3. One part per partition, as a month-old table ends up after merges; seconds taken. */
async function optimizeTables(store: Store): Promise<number> {
  const t0 = performance.now();
  for (const t of TABLES) await store.client.command({ query: `OPTIMIZE TABLE ${store.db}.${t} FINAL` });
  return (performance.now() - t0) / 1000;
}

/** Rows, parts and bytes of every table from system.parts and system.columns, per raw point and per row. */
async function tableStorage(store: Store, points: number): Promise<TableStorage[]> {
  const db = store.db;
  const partStats = await rows<{ table: string; rows: string; parts: string; c: string; u: string }>(
    store,
    `SELECT table, sum(rows) AS rows, count() AS parts, sum(data_compressed_bytes) AS c, sum(data_uncompressed_bytes) AS u
       FROM system.parts WHERE database = '${db}' AND active GROUP BY table`,
  );
  const columnStats = await rows<{ table: string; name: string; c: string; u: string }>(
    store,
    `SELECT table, name, data_compressed_bytes AS c, data_uncompressed_bytes AS u
       FROM system.columns WHERE database = '${db}' ORDER BY table, position`,
  );
  return TABLES.map((table) => {
    const p = partStats.find((s) => s.table === table);
    const tableRows = Number(p?.rows ?? 0);
    const compressed = Number(p?.c ?? 0);
    return {
      table,
      rows: tableRows,
      parts: Number(p?.parts ?? 0),
      compressedBytes: compressed,
      uncompressedBytes: Number(p?.u ?? 0),
      bytesPerPoint: round(compressed / points, 4),
      bytesPerRow: round(tableRows > 0 ? compressed / tableRows : 0, 4),
      columns: columnStats
        .filter((c) => c.table === table && Number(c.c) > 0)
        .map((c) => ({
          name: c.name,
          compressedBytes: Number(c.c),
          uncompressedBytes: Number(c.u),
          bytesPerRow: round(tableRows > 0 ? Number(c.c) / tableRows : 0, 4),
        })),
    };
  });
}

const HELP = `usage: herodotus bench-storage [--signal generator|ecg] [--sensors 100] [--seconds 240] [--rate 1000] [--seed 1] [--keep]

Compressed bytes per point of the real schema (raw, rollups, ledgers), after
every rollup level is written and OPTIMIZE FINAL: the generator's signal
(--sensors × --seconds × --rate points), or with --signal ecg the MIT-BIH
ECG in mV at 360 Hz (108,000 points; the other options are ignored). The
state lives in a temporary directory, removed unless --keep. The last line
of stdout is one JSON object; issue 12 keeps total ≤ 2.39 B/point on the
generator signal.`;

const schema = z.object({
  signal: z.enum(['generator', 'ecg']).default('generator'),
  sensors: z.coerce.number().int().min(1).max(10_000).default(100),
  seconds: z.coerce.number().int().min(1).max(86_400).default(240),
  rate: z.coerce.number().int().min(1).max(1000).default(1000),
  seed: z.coerce.number().int().min(0).default(1),
  keep: z.boolean().default(false),
});

export async function benchStorage(argv: string[]): Promise<number> {
  const args = parseOptions(
    argv,
    {
      signal: { type: 'string' },
      sensors: { type: 'string' },
      seconds: { type: 'string' },
      rate: { type: 'string' },
      seed: { type: 'string' },
      keep: { type: 'boolean' },
    },
    schema,
    HELP,
  );
  const signal =
    args.signal === 'ecg' ? ecgSignal(loadConfig().toolsDir) : generatorSignal(args.sensors, args.seconds, args.rate, args.seed);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herodotus-bench-storage-'));
  try {
    const report = await measureStorage(signal, dir);
    log(
      `${signal.name}: ${report.totalBytesPerPoint} B/point in all (raw ${report.rawBytesPerPoint}, rollups ${report.rollupBytesPerPoint})`,
    );
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return 0;
  } finally {
    if (args.keep) log(`state kept in ${dir}`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }
}
