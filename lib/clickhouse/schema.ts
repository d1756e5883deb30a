/**
 * The one schema definition. Every deployment shape renders its DDL from the
 * table list below: embedded chdb (ClickHouse 26.x) and a replicated cluster
 * of servers that may be as old as 18.16 (no codecs, no dedup tokens).
 */

export interface Column {
  name: string;
  type: string;
  /** Compression for servers that support column codecs. */
  codec?: string;
  /** DEFAULT expression: what rows written before the column existed read (lib/clickhouse/add-columns.ts). */
  default?: string;
}

export interface TableDef {
  name: string;
  columns: Column[];
  engine: 'MergeTree' | 'AggregatingMergeTree' | 'ReplacingMergeTree' | 'CollapsingMergeTree';
  /** ReplacingMergeTree's version column. */
  version?: string;
  /** CollapsingMergeTree's sign column. */
  sign?: string;
  orderBy: string;
  partitionBy?: string;
  /** Sharding key of the Distributed table in cluster mode. */
  shardBy: string;
  settings?: Record<string, number>;
  /** Keep recent insert tokens so a retried insert is dropped (non-replicated tables only). */
  dedupWindow?: number;
}

export interface ViewDef {
  name: string;
  /** Target table; the view only moves rows. */
  to: string;
  /** SELECT over `{source}` (replaced by the source table's name). */
  source: string;
  select: string;
}

export const RAW_TABLE: TableDef = {
  name: 'raw',
  columns: [
    { name: 'sensor', type: 'UInt32', codec: 'ZSTD(1)' },
    // Timestamps of a sensor arrive at a fixed period: double-delta makes them almost free.
    { name: 'ts', type: 'Int64', codec: 'DoubleDelta, ZSTD(1)' },
    // Float64, chosen by measurement (bytes per value, chdb 26.7, one run on a loaded machine):
    //   generator ADC signal (10 sensors × 240 s × 1 kHz): ZSTD(1) 1.42, Gorilla+ZSTD(1) 1.40, ZSTD(3) 1.60,
    //   Delta+ZSTD(1) 1.65, FPC+ZSTD(1) 1.82, Gorilla 1.55, FPC 6.28;
    //   MIT-BIH ECG in mV (108,000 points): ZSTD(3) 1.71, Delta+ZSTD(1) 1.85, ZSTD(1) 1.99, FPC+ZSTD(1) 2.86,
    //   Gorilla+ZSTD(1) 3.44, Gorilla 7.56. ZSTD(1) is within 1.5 % of the best on the ADC signal and
    //   1.7× better than Gorilla on the ECG's decimal values.
    { name: 'value', type: 'Float64', codec: 'ZSTD(1)' },
    // OPC UA-style quality (lib/model/quality.ts): almost always 0, good, so the column costs almost nothing.
    { name: 'quality', type: 'UInt8', codec: 'ZSTD(1)', default: '0' },
  ],
  engine: 'MergeTree',
  orderBy: '(sensor, ts)',
  partitionBy: 'intDiv(ts, 86400000)',
  shardBy: 'sensor',
  dedupWindow: 10_000,
};

/**
 * Raw is partitioned by UTC day (partitionBy above), and ClickHouse refuses an
 * insert block that touches more partitions than `max_partitions_per_insert_block`
 * (100 by default, on 18.16 as on 26.x): an insert spanning more days goes in
 * several blocks of at most this many days each.
 */
export const RAW_DAYS_PER_BLOCK = 100;

/**
 * Per-sensor first/last timestamp and point count, fed by a view on raw. Ingest
 * reads it to tell fresh batches (after a sensor's last point: nothing to check)
 * from late or re-sent ones (checked against raw).
 */
export const SENSOR_EXTENT_TABLE: TableDef = {
  name: 'sensor_extent',
  columns: [
    { name: 'sensor', type: 'UInt32' },
    { name: 'first_ts', type: 'AggregateFunction(min, Int64)' },
    { name: 'last_ts', type: 'AggregateFunction(max, Int64)' },
    { name: 'points', type: 'AggregateFunction(count)' },
  ],
  engine: 'AggregatingMergeTree',
  orderBy: 'sensor',
  shardBy: 'sensor',
};

export const SENSOR_EXTENT_VIEW: ViewDef = {
  name: 'sensor_extent_mv',
  to: SENSOR_EXTENT_TABLE.name,
  source: RAW_TABLE.name,
  select: 'SELECT sensor, minState(ts) AS first_ts, maxState(ts) AS last_ts, countState() AS points FROM {source} GROUP BY sensor',
};

/**
 * The rollup pyramid: one row per (level, sensor, bucket start). Compaction
 * rewrites a window's rows with a higher version, so reads use FINAL. Small
 * granules keep a lens's reads close to the rows it needs.
 *
 * Quality: `count`, `first` and `last` are over every point; `sum`, `min` and
 * `max` over the good points only (min +inf, max -inf when there is none), and
 * `sum_ng`, `min_ng`, `max_ng` the same over the points that are not good
 * (uncertain or bad, counted in `uncertain` and `bad`). Either half merges with
 * plain sum/min/max, and the two together give every point's aggregates. On
 * the usual all-good data the *_ng columns are constant: they cost almost no
 * bytes, unlike a second copy of sum, min and max over all points.
 */
export const ROLLUP_TABLE: TableDef = {
  name: 'rollup',
  columns: [
    { name: 'level', type: 'UInt32' },
    { name: 'sensor', type: 'UInt32' },
    { name: 't', type: 'Int64', codec: 'DoubleDelta, ZSTD(1)' },
    { name: 'count', type: 'UInt64', codec: 'T64, ZSTD(1)' },
    { name: 'sum', type: 'Float64', codec: 'ZSTD(1)' },
    { name: 'min', type: 'Float64', codec: 'ZSTD(1)' },
    { name: 'max', type: 'Float64', codec: 'ZSTD(1)' },
    { name: 'first', type: 'Float64', codec: 'ZSTD(1)' },
    { name: 'last', type: 'Float64', codec: 'ZSTD(1)' },
    { name: 'version', type: 'UInt64' },
    { name: 'uncertain', type: 'UInt64', codec: 'T64, ZSTD(1)', default: '0' },
    { name: 'bad', type: 'UInt64', codec: 'T64, ZSTD(1)', default: '0' },
    { name: 'sum_ng', type: 'Float64', codec: 'ZSTD(1)', default: '0' },
    { name: 'min_ng', type: 'Float64', codec: 'ZSTD(1)', default: 'inf' },
    { name: 'max_ng', type: 'Float64', codec: 'ZSTD(1)', default: '-inf' },
  ],
  engine: 'ReplacingMergeTree',
  version: 'version',
  orderBy: '(level, sensor, t)',
  partitionBy: 'intDiv(t, 2592000000)',
  shardBy: 'sensor',
  settings: { index_granularity: 1024 },
};

/**
 * Per (sensor, window), three versions: `pending` is written before an insert
 * into raw, `ingested` after it committed, `compacted` once rollups cover it.
 * A window is clean when compacted >= pending. Versions come from the ingest
 * workflow's clock and only grow; max() makes every write idempotent.
 */
export const WINDOW_LEDGER_TABLE: TableDef = {
  name: 'window_ledger',
  columns: [
    { name: 'sensor', type: 'UInt32' },
    { name: 'window', type: 'Int64' },
    { name: 'pending', type: 'AggregateFunction(max, UInt64)' },
    { name: 'ingested', type: 'AggregateFunction(max, UInt64)' },
    { name: 'compacted', type: 'AggregateFunction(max, UInt64)' },
    { name: 'touched', type: 'AggregateFunction(max, UInt32)' },
  ],
  engine: 'AggregatingMergeTree',
  orderBy: '(sensor, window)',
  shardBy: 'sensor',
};

/** The same per (sensor, day), so that a lens over clean days skips the window rows. */
export const DAY_LEDGER_TABLE: TableDef = {
  name: 'day_ledger',
  columns: [
    { name: 'sensor', type: 'UInt32' },
    { name: 'day', type: 'Int64' },
    { name: 'pending', type: 'AggregateFunction(max, UInt64)' },
    { name: 'ingested', type: 'AggregateFunction(max, UInt64)' },
    { name: 'compacted', type: 'AggregateFunction(max, UInt64)' },
  ],
  engine: 'AggregatingMergeTree',
  orderBy: '(sensor, day)',
  shardBy: 'sensor',
};

/**
 * Dirty marks of the window ledger: the compactor's to-do list, so that a
 * planning round reads what is dirty, not the history. Every write that
 * raises a unit's ingested version adds a mark (sign +1) at that version
 * after its ledger row; the compactor cancels a mark (sign -1) once the
 * ledger shows the unit compacted at or past it, or once a later mark of the
 * unit stands, and merges collapse the pairs: about one row per dirty unit
 * remains. The ledger stays the truth (lenses never read marks); a mark only
 * says where to look.
 */
export const WINDOW_MARK_TABLE: TableDef = {
  name: 'window_mark',
  columns: [
    { name: 'sensor', type: 'UInt32' },
    { name: 'window', type: 'Int64' },
    { name: 'version', type: 'UInt64' },
    { name: 'sign', type: 'Int8' },
    // Unix seconds of the write: the compactor's idle test.
    { name: 'touched', type: 'UInt32' },
  ],
  engine: 'CollapsingMergeTree',
  sign: 'sign',
  orderBy: '(sensor, window, version)',
  shardBy: 'sensor',
};

/** The same for the day ledger: days to settle. */
export const DAY_MARK_TABLE: TableDef = {
  name: 'day_mark',
  columns: [
    { name: 'sensor', type: 'UInt32' },
    { name: 'day', type: 'Int64' },
    { name: 'version', type: 'UInt64' },
    { name: 'sign', type: 'Int8' },
    // Unix seconds of the write: the compactor's idle test.
    { name: 'touched', type: 'UInt32' },
  ],
  engine: 'CollapsingMergeTree',
  sign: 'sign',
  orderBy: '(sensor, day, version)',
  shardBy: 'sensor',
};

/**
 * Write claims (lib/clickhouse/claims.ts): a writer of raw claims the
 * (sensor, window-aligned span) it is about to check and insert, and
 * releases it after its ledger rows. Claims serialize the duplicate check
 * and the insert of every writer of a sensor (live partitions, backfills),
 * in every process. A claim row (sign +1) and its release (sign -1)
 * collapse: the table holds about the claims in flight.
 */
export const WRITE_CLAIM_TABLE: TableDef = {
  name: 'write_claim',
  columns: [
    { name: 'sensor', type: 'UInt32' },
    { name: 'span_from', type: 'Int64' },
    { name: 'span_to', type: 'Int64' },
    // The write's name: its retries share it (and its claim).
    { name: 'claim', type: 'String' },
    // Older claims (lower) go first.
    { name: 'priority', type: 'UInt64' },
    // Server unix seconds after which the claim is void (a writer that died).
    { name: 'expires', type: 'UInt32' },
    { name: 'sign', type: 'Int8' },
  ],
  engine: 'CollapsingMergeTree',
  sign: 'sign',
  orderBy: '(sensor, claim, span_from, expires)',
  shardBy: 'sensor',
};

/**
 * The series catalog: one row per version of a named series' metadata,
 * never updated in place (a change appends a row with a higher version, so
 * no metadata is lost). `id` is the series' sensor id, derived from its name
 * (lib/model/series-name.ts); rows live on the shard of that id, beside the
 * series' data. `created` is the first claim's time: of two names that hash
 * to one id, the earlier claim owns it (lib/series/catalog.ts). Tags are a
 * JSON array of [key, value] pairs sorted by key.
 */
export const SERIES_TABLE: TableDef = {
  name: 'series',
  columns: [
    { name: 'name', type: 'String' },
    { name: 'id', type: 'UInt32' },
    { name: 'version', type: 'UInt64' },
    { name: 'created', type: 'Int64' },
    { name: 'unit', type: 'String' },
    { name: 'description', type: 'String' },
    { name: 'asset', type: 'String' },
    { name: 'tags', type: 'String' },
    { name: 'value_type', type: 'String' },
    { name: 'interpolation', type: 'String' },
    // What wrote the version: `write` (created by a first write) or `put`.
    { name: 'source', type: 'String' },
  ],
  engine: 'MergeTree',
  orderBy: '(id, name, version)',
  shardBy: 'id',
};

export const TABLES: TableDef[] = [
  RAW_TABLE,
  SENSOR_EXTENT_TABLE,
  ROLLUP_TABLE,
  WINDOW_LEDGER_TABLE,
  DAY_LEDGER_TABLE,
  WINDOW_MARK_TABLE,
  DAY_MARK_TABLE,
  WRITE_CLAIM_TABLE,
  SERIES_TABLE,
];
export const VIEWS: ViewDef[] = [SENSOR_EXTENT_VIEW];

export interface ServerFeatures {
  codecs: boolean;
  dedupToken: boolean;
  /** sumKahan: compensated sums, so that rollup and lens averages are the exact mean within 1e-12 relative. */
  kahan: boolean;
}

/** One ClickHouse (embedded chdb or one server), or a sharded, replicated cluster. */
export type Shape = { kind: 'single'; features: ServerFeatures } | { kind: 'cluster'; cluster: string; features: ServerFeatures };

/** chdb ships a current engine. */
export const EMBEDDED_FEATURES: ServerFeatures = { codecs: true, dedupToken: true, kahan: true };

export function featuresForVersion(version: string): ServerFeatures {
  const [major = 0, minor = 0] = version.split('.').map((p) => Number.parseInt(p, 10));
  const atLeast = (ma: number, mi: number) => major > ma || (major === ma && minor >= mi);
  return { codecs: atLeast(19, 11), dedupToken: atLeast(22, 2), kahan: atLeast(20, 5) };
}

/** A column's definition as CREATE TABLE and ALTER TABLE … ADD COLUMN write it. */
export function columnSql(c: Column, codecs: boolean): string {
  return `${c.name} ${c.type}${c.default ? ` DEFAULT ${c.default}` : ''}${codecs && c.codec ? ` CODEC(${c.codec})` : ''}`;
}

function columnsSql(t: TableDef, codecs: boolean): string {
  return t.columns.map((c) => `  ${columnSql(c, codecs)}`).join(',\n');
}

function engineSql(t: TableDef, replicated: { path: string } | null): string {
  const args: string[] = [];
  if (replicated) args.push(`'${replicated.path}'`, `'{replica}'`);
  if (t.version) args.push(t.version);
  if (t.sign) args.push(t.sign);
  const name = replicated ? `Replicated${t.engine}` : t.engine;
  return `${name}(${args.join(', ')})`;
}

function tableSql(t: TableDef, name: string, engine: string, codecs: boolean, onCluster: string, dedupWindow: boolean) {
  const lines = [`CREATE TABLE IF NOT EXISTS ${name}${onCluster} (`, columnsSql(t, codecs), `) ENGINE = ${engine}`];
  if (t.partitionBy) lines.push(`PARTITION BY ${t.partitionBy}`);
  lines.push(`ORDER BY ${t.orderBy}`);
  const settings = { ...t.settings, ...(dedupWindow && t.dedupWindow ? { non_replicated_deduplication_window: t.dedupWindow } : {}) };
  const entries = Object.entries(settings);
  if (entries.length > 0) lines.push(`SETTINGS ${entries.map(([k, v]) => `${k} = ${v}`).join(', ')}`);
  return lines.join('\n');
}

/** Name of the table that holds a table's rows on this server. */
export function localName(db: string, table: string, shape: Shape): string {
  return shape.kind === 'cluster' ? `${db}.${table}_local` : `${db}.${table}`;
}

/** Names of every table and view the schema creates in the database. */
export function schemaObjects(db: string, shape: Shape): string[] {
  const local = (t: string) => localName(db, t, shape).slice(db.length + 1);
  const tables = TABLES.flatMap((t) => (shape.kind === 'cluster' ? [local(t.name), t.name] : [t.name]));
  return [...tables, ...VIEWS.map((v) => v.name)];
}

/** DDL statements, in order, creating the database for a deployment shape. */
export function renderSchema(db: string, shape: Shape): string[] {
  if (shape.kind === 'single') {
    const { codecs, dedupToken } = shape.features;
    return [
      `CREATE DATABASE IF NOT EXISTS ${db}`,
      ...TABLES.map((t) => tableSql(t, `${db}.${t.name}`, engineSql(t, null), codecs, '', dedupToken)),
      ...VIEWS.map(
        (v) =>
          `CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.${v.name} TO ${db}.${v.to} AS ${v.select.replace('{source}', `${db}.${v.source}`)}`,
      ),
    ];
  }
  const on = ` ON CLUSTER ${shape.cluster}`;
  return [
    `CREATE DATABASE IF NOT EXISTS ${db}${on}`,
    ...TABLES.flatMap((t) => {
      const local = localName(db, t.name, shape);
      const path = `/clickhouse/tables/{shard}/${db}/${t.name}`;
      return [
        // Replicated tables deduplicate identical blocks by themselves; the
        // non-replicated dedup window setting does not apply to them.
        tableSql(t, local, engineSql(t, { path }), shape.features.codecs, on, false),
        `CREATE TABLE IF NOT EXISTS ${db}.${t.name}${on} AS ${local} ENGINE = Distributed(${shape.cluster}, ${db}, ${t.name}_local, ${t.shardBy})`,
      ];
    }),
    ...VIEWS.map(
      (v) =>
        `CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.${v.name}${on} TO ${localName(db, v.to, shape)} AS ${v.select.replace('{source}', localName(db, v.source, shape))}`,
    ),
  ];
}
