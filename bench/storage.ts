/**
 * Storage benchmark: measured compressed bytes per point of the real schema.
 *
 * Generates `sensors × seconds × rate` points of the deterministic ADC
 * signals (generator/signal.ts), stores them through the real embedded store
 * (lib/clickhouse/store.ts: the schema rendered by renderSchema, RowBinary
 * inserts), records the window/day ledger and computes every rollup level
 * with the compactor's own SQL (lib/clickhouse/rollup.ts), then OPTIMIZE FINAL
 * and reads system.parts / system.columns. Prints one JSON document on stdout
 * (progress on stderr).
 *
 *   npx tsx bench/storage.ts [--sensors 100] [--seconds 240] [--rate 1000] [--keep]
 *
 * The state lives in a temporary directory (removed unless --keep).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from '../lib/config/config';
import { recordStage, type UnitVersion } from '../lib/clickhouse/ledger';
import { writeCoarseLevels, writeFineLevels } from '../lib/clickhouse/rollup';
import { DAY_LEDGER_TABLE, RAW_TABLE, ROLLUP_TABLE, SENSOR_EXTENT_TABLE, WINDOW_LEDGER_TABLE } from '../lib/clickhouse/schema';
import { singleShard } from '../lib/clickhouse/shards';
import { migrate } from '../lib/clickhouse/migrate';
import type { Store } from '../lib/clickhouse/store';
import { openStore } from '../lib/clickhouse/store-open';
import { sensorValues } from '../generator/signal';
import { allocatePoints } from '../lib/model/points';
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
  engine: string;
  points: number;
  sensors: number;
  seconds: number;
  rateHz: number;
  seed: number;
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

interface StorageRun {
  store: Store;
  sensors: number;
  seconds: number;
  seed: number;
  /** Epoch ms of the first point. */
  start: number;
  periodMs: number;
  perSensor: number;
}

const TABLES = [RAW_TABLE, ROLLUP_TABLE, WINDOW_LEDGER_TABLE, DAY_LEDGER_TABLE, SENSOR_EXTENT_TABLE].map((t) => t.name);

export async function measureStorage(opts: {
  sensors: number;
  seconds: number;
  rateHz: number;
  seed: number;
  dir: string;
}): Promise<StorageReport> {
  const { sensors, seconds, rateHz, seed } = opts;
  if (1000 % rateHz !== 0) throw new RangeError('rate must divide 1000');
  const periodMs = 1000 / rateHz;
  const perSensor = seconds * rateHz;
  const start = Date.UTC(2026, 0, 5, 6, 0, 0); // a whole minute, well inside one day partition
  const config = loadConfig({ HERODOTUS_STATE_DIR: opts.dir, HERODOTUS_TOOLS_DIR: path.join(opts.dir, 'tools') });
  const store = await openStore(config, { name: 'bench-storage' });
  try {
    await migrate(singleShard(store));
    const engine = (await rows<{ v: string }>(store, 'SELECT version() AS v'))[0]?.v ?? '?';
    const run: StorageRun = { store, sensors, seconds, seed, start, periodMs, perSensor };
    const generateAndInsert = await insertRaw(run);
    const compact = await writeLedgerAndRollups(run);
    const optimize = await optimizeTables(store);
    const points = sensors * perSensor;
    const report = await tableStorage(store, points);
    const by = (name: string) => report.find((t) => t.table === name)!;
    const total = report.reduce((s, t) => s + t.compressedBytes, 0);
    return {
      engine,
      points,
      sensors,
      seconds,
      rateHz,
      seed,
      start: new Date(start).toISOString(),
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
async function insertRaw(run: StorageRun): Promise<number> {
  const { store, sensors, seed, start, periodMs, perSensor } = run;
  const t0 = performance.now();
  const perInsert = Math.max(1, Math.floor(2_500_000 / perSensor));
  for (let first = 0; first < sensors; first += perInsert) {
    const group = Math.min(perInsert, sensors - first);
    const points = allocatePoints(group * perSensor);
    for (let g = 0; g < group; g++) {
      const sensor = first + g + 1;
      const values = sensorValues(seed, sensor, start, periodMs, perSensor);
      const o = g * perSensor;
      points.sensor.fill(sensor, o, o + perSensor);
      for (let i = 0; i < perSensor; i++) points.ts[o + i] = start + i * periodMs;
      points.value.set(values, o);
    }
    points.length = group * perSensor;
    await store.insertPoints(points, `bench-storage-raw-${seed}-${first}`);
    log(`inserted sensors ${first + 1}..${first + group} (${((first + group) * perSensor).toLocaleString('en')} points)`);
  }
  return (performance.now() - t0) / 1000;
}

/** 2. Ledger and rollups exactly as ingest and compaction write them; seconds taken. */
async function writeLedgerAndRollups(run: StorageRun): Promise<number> {
  const { store, sensors, seconds, start } = run;
  const t0 = performance.now();
  const ladder = makeLadder();
  const windows: UnitVersion[] = [];
  const days = new Map<string, UnitVersion>();
  const end = start + seconds * 1000;
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

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sensors: { type: 'string', default: '100' },
      seconds: { type: 'string', default: '240' },
      rate: { type: 'string', default: '1000' },
      seed: { type: 'string', default: '1' },
      keep: { type: 'boolean', default: false },
    },
  });
  const num = (s: string, what: string) => {
    const n = Number(s);
    if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`--${what} must be a positive integer`);
    return n;
  };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herodotus-bench-storage-'));
  try {
    const report = await measureStorage({
      sensors: num(values.sensors, 'sensors'),
      seconds: num(values.seconds, 'seconds'),
      rateHz: num(values.rate, 'rate'),
      seed: num(values.seed, 'seed'),
      dir,
    });
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } finally {
    if (values.keep) log(`state kept in ${dir}`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`bench-storage: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
