import { CHECKSUM_SQL } from '../model/checksum';
import type { SensorInterval } from '../model/interval';
import { RAW_TABLE, SENSOR_EXTENT_TABLE } from './schema';
import { setTimeout as sleep } from 'node:timers/promises';
import { int } from './sql';
import type { Store } from './store';

/** A stored point's value and quality code. */
export interface StoredPoint {
  value: number;
  quality: number;
}

export interface SensorExtent {
  sensor: number;
  first: number;
  last: number;
  points: number;
}

/** First and last stored timestamp and point count of the given sensors (all when omitted). */
export async function sensorExtents(store: Store, sensors?: number[]): Promise<Map<number, SensorExtent>> {
  if (sensors && sensors.length === 0) return new Map();
  const where = sensors ? `WHERE sensor IN (${sensors.map(int).join(',')})` : '';
  const result = await store.rows<{ sensor: number; first: string; last: string; points: string }>(
    `SELECT sensor, minMerge(first_ts) AS first, maxMerge(last_ts) AS last, countMerge(points) AS points
     FROM ${store.table(SENSOR_EXTENT_TABLE.name)} ${where} GROUP BY sensor ORDER BY sensor`,
  );
  return new Map(
    result.map((r) => [r.sensor, { sensor: r.sensor, first: Number(r.first), last: Number(r.last), points: Number(r.points) }]),
  );
}

/**
 * Stored points inside the given intervals: value and quality by timestamp,
 * per sensor. Values travel as JSON numbers, which ClickHouse prints with the
 * digits that read back as the same double: a newcomer is compared bit for bit.
 */
export async function storedValues(store: Store, intervals: SensorInterval[]): Promise<Map<number, Map<number, StoredPoint>>> {
  const found = new Map<number, Map<number, StoredPoint>>();
  // A few thousand ranges per statement stay under the server's query size limit.
  for (let i = 0; i < intervals.length; i += 2000) await addStored(store, intervals.slice(i, i + 2000), found);
  return found;
}

async function addStored(store: Store, intervals: SensorInterval[], found: Map<number, Map<number, StoredPoint>>): Promise<void> {
  const where = intervals.map((i) => `(sensor = ${int(i.sensor)} AND ts >= ${int(i.from)} AND ts <= ${int(i.to)})`).join(' OR ');
  const result = await store.rows<{ sensor: number; ts: string; value: number; quality: number }>(
    `SELECT sensor, ts, value, quality FROM ${store.table(RAW_TABLE.name)} WHERE ${where}`,
  );
  for (const r of result) {
    let map = found.get(r.sensor);
    if (!map) found.set(r.sensor, (map = new Map()));
    map.set(Number(r.ts), { value: r.value, quality: r.quality });
  }
}

/** Points one ALTER … DELETE names: its WHERE stays well under the server's query size limit (256 KiB). */
const DELETE_POINTS_PER_STATEMENT = 10_000;
const MUTATION_POLL_MS = 50;
const MUTATION_TIMEOUT_MS = 300_000;

/**
 * Deletes the stored rows at these (sensor, ts), as a correction does before
 * it inserts the new values, and returns once no replica holds them.
 *
 * Why a delete and not a version column: raw stays a plain MergeTree with
 * one row per (sensor, ts), so every read of raw (lenses over dirty windows,
 * compaction, /v1/raw, the duplicate look-up) stays exact without FINAL or
 * argMax; a ReplacingMergeTree would make each of them pay for the rare
 * correction. An ALTER … DELETE mutation is the one delete that ClickHouse
 * 18.16 and current engines (chdb) share (lightweight DELETE is 23.x, and
 * measured no cheaper on chdb). It rewrites the parts holding the rows, so it
 * is for corrections, never the hot path: on chdb a correction of 3 points
 * of a 8.64M-point raw took 4.8 s against 0.28 s for a plain write of 3 points
 * (bench-replace-cost, loaded machine); 0.7 s on an 18.16 shard of 2 replicas
 * holding little. It is asynchronous everywhere
 * (18.16 has no mutations_sync), and each replica applies it on its own: the
 * statement carries `name` as a marker, and the call waits until every
 * replica's system.mutations shows each marked statement done (a replica that
 * has not loaded it yet shows none, which is not done). Repeating it deletes
 * nothing more.
 */
export async function deleteStoredPoints(store: Store, points: readonly { sensor: number; ts: number }[], name: string): Promise<void> {
  const table = store.table(RAW_TABLE.name);
  const marker = `${name}-${Date.now()}`.replace(/[^\w.-]/g, '_');
  let statements = 0;
  for (let i = 0; i < points.length; i += DELETE_POINTS_PER_STATEMENT) {
    const bySensor = new Map<number, number[]>();
    for (const p of points.slice(i, i + DELETE_POINTS_PER_STATEMENT)) {
      let list = bySensor.get(p.sensor);
      if (!list) bySensor.set(p.sensor, (list = []));
      list.push(p.ts);
    }
    const where = [...bySensor.entries()].map(([sensor, ts]) => `(sensor = ${int(sensor)} AND ts IN (${ts.map(int).join(',')}))`);
    await store.client.command({ query: `ALTER TABLE ${table} DELETE WHERE '${marker}' != '' AND (${where.join(' OR ')})` });
    statements++;
  }
  if (statements > 0) await mutationsDone(store, table, marker, statements);
}

async function mutationsDone(store: Store, table: string, marker: string, statements: number): Promise<void> {
  const [database, name] = table.split('.') as [string, string];
  const sql = `SELECT count() AS n, sum(is_done) AS done FROM system.mutations
               WHERE database = '${database}' AND table = '${name}' AND position(command, '${marker}') > 0`;
  const deadline = Date.now() + MUTATION_TIMEOUT_MS;
  for (;;) {
    const states = await store.onEveryReplica(async (client) => {
      const [r] = await (await client.query({ query: sql, format: 'JSONEachRow' })).json<{ n: string; done: string }>();
      return Number(r?.n ?? 0) === statements && Number(r?.done ?? 0) === statements;
    });
    if (states.every(Boolean)) return;
    if (Date.now() > deadline) throw new Error(`the delete of replaced points in ${table} is not done after ${MUTATION_TIMEOUT_MS} ms`);
    await sleep(MUTATION_POLL_MS);
  }
}

export interface SensorAudit {
  sensor: number;
  points: number;
  distinct_points: number;
  checksum: number;
}

/** The sensors one page of an audit covers, [from, to], and where the next page starts. */
export type AuditPage = { ok: true; from: number; to: number; next: number | null } | { ok: false; sensor: number; points: number } | null;

/**
 * Cuts an audit of raw into pages of whole sensors, in sensor order from
 * `cursor`, each holding at most `maxRows` raw rows by the sensor extents
 * (which count every row written). A sensor holding more than that alone
 * cannot be audited in one page: `ok: false` names it. Null: no sensor left.
 */
export function planAuditPage(extents: { sensor: number; points: number }[], cursor: number, maxRows: number): AuditPage {
  const left = extents.filter((e) => e.sensor >= cursor).sort((a, b) => a.sensor - b.sensor);
  const [first] = left;
  if (!first) return null;
  if (first.points > maxRows) return { ok: false, sensor: first.sensor, points: first.points };
  let rows = 0;
  let i = 0;
  while (i < left.length && rows + left[i]!.points <= maxRows) rows += left[i++]!.points;
  return { ok: true, from: first.sensor, to: left[i - 1]!.sensor, next: i < left.length ? left[i]!.sensor : null };
}

/**
 * Scan of raw for sensors from..to: per sensor, rows, distinct (sensor, ts)
 * and the checksum of the distinct points, to compare with a generator's
 * manifest. For verification, not for serving.
 */
export async function auditRaw(store: Store, sensors: { from: number; to: number }): Promise<SensorAudit[]> {
  const result = await store.rows<{ sensor: number; points: string; distinct_points: string; checksum: string }>(
    `SELECT sensor, sum(n) AS points, count() AS distinct_points, ${CHECKSUM_SQL} AS checksum
     FROM (SELECT sensor, ts, any(value) AS value, count() AS n FROM ${store.table(RAW_TABLE.name)}
           WHERE sensor >= ${int(sensors.from)} AND sensor <= ${int(sensors.to)} GROUP BY sensor, ts)
     GROUP BY sensor ORDER BY sensor`,
  );
  return result.map((r) => ({
    sensor: r.sensor,
    points: Number(r.points),
    distinct_points: Number(r.distinct_points),
    checksum: Number(r.checksum),
  }));
}

/** One page of a sensor's points in [from, to), in time order, with their quality codes; `next` is where the following page starts. */
export async function rawPage(
  store: Store,
  sensor: number,
  from: number,
  to: number,
  limit: number,
): Promise<{ points: [number, number][]; quality: number[]; next: number | null }> {
  const rows = await store.rows<{ ts: string; value: number; quality: number }>(
    `SELECT ts, value, quality FROM ${store.table(RAW_TABLE.name)}
            WHERE sensor = ${int(sensor)} AND ts >= ${int(from)} AND ts < ${int(to)} ORDER BY ts LIMIT ${int(limit + 1)}`,
  );
  const page = rows.slice(0, limit);
  const points = page.map((r) => [Number(r.ts), r.value] as [number, number]);
  return { points, quality: page.map((r) => r.quality), next: rows.length > limit ? Number(rows[limit]!.ts) : null };
}
