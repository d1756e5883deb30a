// The local 2 shards × 2 replicas ClickHouse cluster (Debian clickhouse-server
// 18.16 + ZooKeeper 3.8, installed by the test itself when missing), driven
// through the real CLI: `cluster up` on free ports in a temporary state dir, the
// schema ON CLUSTER, inserts into each shard's local raw table on one replica,
// replication to the other, Distributed reads, the sensor_extent view, block
// deduplication, `cluster status`, and `cluster down` leaving no process behind.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pointsToRowBinary } from '../../lib/clickhouse/rowbinary';
import type { ClusterServer } from '../../harness/stack/clickhouse-config';
import { shardOf, TOPOLOGY } from '../../lib/clickhouse/topology';
import { allocatePoints, type PointColumns } from '../../lib/model/points';
import { waitFor } from '../../harness/stack/child';
import { clusterDown, type ClusterStatus } from '../../harness/stack/cluster';
import { applySchemaOnCluster } from '../../harness/stack/cluster-schema';
import { readClusterState, type ClusterState } from '../../harness/stack/cluster-state';
import { pidAlive } from '../../harness/stack/pid-file';
import { ensureClusterPackages } from '../../harness/stack/cluster-packages';
import { isPortOpen } from '../../harness/stack/ports';
import { loadConfig, PROJECT_ROOT } from '../../lib/config/config';
import { recordStage } from '../../lib/clickhouse/ledger';
import { latestMarks } from '../../lib/clickhouse/marks';
import { bySensorShard } from '../../lib/clickhouse/shards';
import { storeOnShards } from '../../lib/ingest/store-points';
import { openShards } from '../../lib/clickhouse/store-open';
import { makeLadder, MS } from '../../lib/model/ladder';
import { compactGroup, compactionBacklog, planCompaction, settleDays, sweepLedger } from '../../lib/rollup/compactor';

const run = promisify(execFile);
const DB = 'herodotus';
const T0 = 1_700_000_000_000;
const SENSORS = [1, 2, 3, 4, 5, 6, 7, 8];
/** Rows per sensor differ, so a count that lands on the wrong sensor shows. */
const rowsOf = (sensor: number) => 200 + sensor * 10;
/** Quarters are exact in Float32 and their sums exact in Float64. */
const valueAt = (sensor: number, k: number) => sensor + (k % 100) * 0.25;

let stateDir: string;
let state: ClusterState;
let shardsEnv: string;
const clients = new Map<string, ClickHouseClient>();
const expected = new Map<number, { n: number; sum: number; first: number; last: number }>();
/** The block inserted per shard, kept to re-send it. */
const blocks = new Map<number, PointColumns>();

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'herodotus.mjs'), 'cluster', ...args], {
      env: { ...process.env, HERODOTUS_STATE_DIR: stateDir, CLICKHOUSE_DATABASE: DB, LOG_LEVEL: 'warn' },
      encoding: 'utf8',
      timeout: 600_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as Error & { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

const server = (shard: number, replica: number): ClusterServer => state.servers.find((s) => s.shard === shard && s.replica === replica)!;
const client = (s: ClusterServer) => clients.get(s.name)!;

async function rows<T>(c: ClickHouseClient, query: string): Promise<T[]> {
  const rs = await c.query({ query, format: 'JSONEachRow' });
  return rs.json<T>();
}

async function count(s: ClusterServer, table: string): Promise<number> {
  const [r] = await rows<{ n: string }>(client(s), `SELECT count() AS n FROM ${DB}.${table}`);
  return Number(r!.n);
}

/** RowBinary straight into a server's local raw table (what shard-aware ingest will do). */
async function insertRaw(s: ClusterServer, points: PointColumns): Promise<void> {
  const result = await client(s).exec({
    query: `INSERT INTO ${DB}.raw_local FORMAT RowBinary`,
    values: Readable.from([pointsToRowBinary(points)]),
  });
  result.stream.resume();
}

function reversed(p: PointColumns): PointColumns {
  const out = allocatePoints(p.length);
  out.length = p.length;
  for (let i = 0; i < p.length; i++) {
    const j = p.length - 1 - i;
    out.sensor[i] = p.sensor[j]!;
    out.ts[i] = p.ts[j]!;
    out.value[i] = p.value[j]!;
  }
  return out;
}

const totalOfShard = (shard: number) => SENSORS.filter((s) => shardOf(TOPOLOGY, s) === shard).reduce((a, s) => a + rowsOf(s), 0);

/** Every replica of every shard holds its shard's rows in raw_local and sensor_extent_local, and nothing is queued. */
async function waitReplicated(what: string): Promise<void> {
  await waitFor(
    async () => {
      for (const s of state.servers) {
        if ((await count(s, 'raw_local')) !== totalOfShard(s.shard)) return false;
        const [ext] = await rows<{ n: string }>(
          client(s),
          `SELECT sum(n) AS n FROM (SELECT countMerge(points) AS n FROM ${DB}.sensor_extent_local GROUP BY sensor)`,
        );
        if (Number(ext!.n) !== totalOfShard(s.shard)) return false;
        const [q] = await rows<{ q: string }>(client(s), `SELECT sum(queue_size) AS q FROM system.replicas WHERE database = '${DB}'`);
        if (Number(q!.q) !== 0) return false;
      }
      return true;
    },
    { what, timeoutMs: 180_000, intervalMs: 500 },
  );
}

beforeAll(async () => {
  // A fresh machine gets Debian's clickhouse-server and zookeeper here (apt-get).
  await ensureClusterPackages((line) => process.stderr.write(`cluster test: ${line}\n`));
  stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'herodotus-cluster-'));
  const up = await cli('up', '--free-ports');
  if (up.code !== 0) throw new Error(`cluster up failed (${up.code}):\n${up.stderr}`);
  process.stderr.write(up.stderr);
  shardsEnv = /^export CLICKHOUSE_SHARDS='(\S+)'$/m.exec(up.stdout)?.[1] ?? '';
  state = readClusterState(stateDir)!;
  for (const s of state.servers) {
    clients.set(
      s.name,
      createClient({ url: `http://127.0.0.1:${s.ports.http}`, request_timeout: 120_000, log: { level: ClickHouseLogLevel.ERROR } }),
    );
  }
}, 1_200_000);

afterAll(async () => {
  await Promise.all([...clients.values()].map((c) => c.close()));
  // Whatever happened above: stop what `up` started, by its recorded PIDs.
  if (stateDir) {
    await clusterDown(stateDir);
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}, 120_000);

describe('local ClickHouse cluster (2 shards × 2 replicas, 18.16)', () => {
  it("starts on free ports and prints CLICKHOUSE_SHARDS: each shard's replicas in order", () => {
    expect(state.cluster).toBe(TOPOLOGY.cluster);
    expect(state.servers.map((s) => s.name)).toEqual(TOPOLOGY.shards.flatMap((sh) => sh.replicas.map((r) => r.name)));
    const http = (shard: number, replica: number) => `http://127.0.0.1:${server(shard, replica).ports.http}`;
    expect(shardsEnv).toBe(`${http(1, 1)},${http(1, 2)};${http(2, 1)},${http(2, 2)}`);
  });

  it('has the schema on every server (applied ON CLUSTER; applying again is harmless)', async () => {
    const again = await applySchemaOnCluster({
      url: `http://127.0.0.1:${server(1, 1).ports.http}`,
      database: DB,
      cluster: TOPOLOGY.cluster,
    });
    expect(again.version).toMatch(/^18\.16\./);
    for (const s of state.servers) {
      const tables = await rows<{ name: string; engine: string }>(
        client(s),
        `SELECT name, engine FROM system.tables WHERE database = '${DB}' ORDER BY name`,
      );
      const engines = Object.fromEntries(tables.map((t) => [t.name, t.engine]));
      expect(engines).toMatchObject({
        raw_local: 'ReplicatedMergeTree',
        raw: 'Distributed',
        sensor_extent_local: 'ReplicatedAggregatingMergeTree',
        sensor_extent: 'Distributed',
        sensor_extent_mv: 'MaterializedView',
        rollup_local: 'ReplicatedReplacingMergeTree',
        rollup: 'Distributed',
        window_ledger_local: 'ReplicatedAggregatingMergeTree',
        day_ledger_local: 'ReplicatedAggregatingMergeTree',
        window_mark_local: 'ReplicatedCollapsingMergeTree',
        window_mark: 'Distributed',
        day_mark_local: 'ReplicatedCollapsingMergeTree',
        day_mark: 'Distributed',
      });
      // The {shard} and {replica} macros as the replicated table expanded them (18.16 has no getMacro()).
      const [replica] = await rows<{ replica_name: string; zookeeper_path: string; total_replicas: number; active_replicas: number }>(
        client(s),
        `SELECT replica_name, zookeeper_path, total_replicas, active_replicas FROM system.replicas WHERE database = '${DB}' AND table = 'raw_local'`,
      );
      expect(replica).toEqual({
        replica_name: s.name,
        zookeeper_path: `/clickhouse/tables/${s.shard}/${DB}/raw`,
        total_replicas: 2,
        active_replicas: 2,
      });
    }
  });

  it('replicates rows inserted into one replica of each shard to the other', async () => {
    for (const shard of TOPOLOGY.shards) {
      const sensors = SENSORS.filter((s) => shardOf(TOPOLOGY, s) === shard.index);
      const points = allocatePoints(sensors.reduce((a, s) => a + rowsOf(s), 0));
      for (const sensor of sensors) {
        let sum = 0;
        for (let k = 0; k < rowsOf(sensor); k++) {
          const i = points.length++;
          points.sensor[i] = sensor;
          points.ts[i] = T0 + k;
          points.value[i] = valueAt(sensor, k);
          sum += valueAt(sensor, k);
        }
        expected.set(sensor, { n: rowsOf(sensor), sum, first: T0, last: T0 + rowsOf(sensor) - 1 });
      }
      blocks.set(shard.index, points);
      await insertRaw(server(shard.index, 1), points);
    }
    await waitReplicated('rows on the second replica of each shard');
    for (const shard of TOPOLOGY.shards) {
      const got = await rows<{ sensor: number; n: string; s: number }>(
        client(server(shard.index, 2)),
        `SELECT sensor, count() AS n, sum(value) AS s FROM ${DB}.raw_local GROUP BY sensor ORDER BY sensor`,
      );
      const want = SENSORS.filter((s) => shardOf(TOPOLOGY, s) === shard.index);
      expect(got.map((r) => [r.sensor, Number(r.n), r.s])).toEqual(want.map((s) => [s, expected.get(s)!.n, expected.get(s)!.sum]));
    }
  });

  it('reads every row once through the Distributed table, from any server', async () => {
    for (const s of state.servers) {
      const got = await rows<{ sensor: number; n: string; s: number }>(
        client(s),
        `SELECT sensor, count() AS n, sum(value) AS s FROM ${DB}.raw GROUP BY sensor ORDER BY sensor`,
      );
      expect(got.map((r) => [r.sensor, Number(r.n), r.s])).toEqual(SENSORS.map((x) => [x, expected.get(x)!.n, expected.get(x)!.sum]));
    }
  });

  it('keeps per-sensor extents through the view on each server', async () => {
    const got = await rows<{ sensor: number; n: string; first: string; last: string }>(
      client(server(2, 2)),
      `SELECT sensor, countMerge(points) AS n, minMerge(first_ts) AS first, maxMerge(last_ts) AS last FROM ${DB}.sensor_extent GROUP BY sensor ORDER BY sensor`,
    );
    expect(got.map((r) => [r.sensor, Number(r.n), Number(r.first), Number(r.last)])).toEqual(
      SENSORS.map((x) => [x, expected.get(x)!.n, expected.get(x)!.first, expected.get(x)!.last]),
    );
  });

  it('drops a re-sent identical block, on either replica and in any row order', async () => {
    for (const shard of TOPOLOGY.shards) {
      const block = blocks.get(shard.index)!;
      await insertRaw(server(shard.index, 1), block);
      await insertRaw(server(shard.index, 2), block);
      await insertRaw(server(shard.index, 2), reversed(block));
    }
    await waitReplicated('replicas settled after the re-sent blocks');
    for (const s of state.servers) expect(await count(s, 'raw_local')).toBe(totalOfShard(s.shard));
    const [total] = await rows<{ n: string }>(client(server(1, 2)), `SELECT count() AS n FROM ${DB}.raw`);
    expect(Number(total!.n)).toBe(SENSORS.reduce((a, x) => a + rowsOf(x), 0));
    const ext = await rows<{ sensor: number; n: string }>(
      client(server(1, 1)),
      `SELECT sensor, countMerge(points) AS n FROM ${DB}.sensor_extent GROUP BY sensor ORDER BY sensor`,
    );
    expect(ext.map((r) => [r.sensor, Number(r.n)])).toEqual(SENSORS.map((x) => [x, expected.get(x)!.n]));
  });

  it('routes a Distributed insert to the shard that shardOf names', async () => {
    const sensors = [101, 102, 103, 104];
    const body = sensors.map((sensor) => JSON.stringify({ sensor, ts: T0, value: 1 })).join('\n');
    await client(server(2, 1))
      .exec({
        query: `INSERT INTO ${DB}.raw FORMAT JSONEachRow`,
        values: Readable.from([Buffer.from(`${body}\n`)]),
        clickhouse_settings: { insert_distributed_sync: 1 },
      })
      .then((r) => r.stream.resume());
    // The Distributed table wrote each row to one replica of its shard; replication copies it to the other.
    const onServer = async (s: ClusterServer) =>
      (await rows<{ sensor: number }>(client(s), `SELECT sensor FROM ${DB}.raw_local WHERE sensor > 100 ORDER BY sensor`)).map(
        (r) => r.sensor,
      );
    const want = (shard: number) => sensors.filter((x) => shardOf(TOPOLOGY, x) === shard);
    await waitFor(
      async () => (await Promise.all(state.servers.map(async (s) => (await onServer(s)).length === want(s.shard).length))).every(Boolean),
      {
        what: 'the Distributed insert on both replicas of each shard',
        timeoutMs: 120_000,
        intervalMs: 250,
      },
    );
    for (const s of state.servers) expect(await onServer(s)).toEqual(want(s.shard));
  });

  it('plans compaction from the dirty marks: ledger writes mark their units, compaction cancels them on both replicas', async () => {
    const shards = await openShards(
      loadConfig({ ...process.env, HERODOTUS_STATE_DIR: stateDir, CLICKHOUSE_SHARDS: shardsEnv, CLICKHOUSE_DATABASE: DB }),
      { name: 'cluster-test' },
    );
    try {
      const policy = { ladder: makeLadder(), graceMs: 2000, idleMs: 10_000 };
      const day = Math.floor(T0 / MS.day) * MS.day;
      const sensors = [201, 202, 203, 204];
      const windows = sensors.flatMap((sensor) => [0, 1, 2].map((k) => ({ sensor, start: day + k * MS.minute, version: 10 })));
      const days = sensors.map((sensor) => ({ sensor, start: day, version: 10 }));
      for (const part of bySensorShard(shards, windows, (w) => w.sensor)) {
        const own = days.filter((d) => shards.of(d.sensor) === part.store);
        await recordStage(part.store, 'pending', part.items, own, 'cluster-test-p');
        await recordStage(part.store, 'ingested', part.items, own, 'cluster-test-i');
        const marked = await latestMarks(part.store, 'window');
        expect(marked.map((m) => [m.sensor, m.start, m.version])).toEqual(part.items.map((w) => [w.sensor, w.start, 10]));
      }
      expect(await compactionBacklog(shards)).toBe(windows.length);
      const groups = await planCompaction(shards, policy, Date.now() + 60_000, 10);
      expect(groups).toEqual([{ from: day, to: day + MS.hour, sensors }]);
      expect(await compactGroup(shards, policy, groups[0]!, Date.now() + 60_000)).toEqual({ windows: windows.length, sensors: 4 });
      expect(await settleDays(shards)).toBe(4);
      expect(await sweepLedger(shards)).toEqual({ backlog: 0, repaired: { windows: 0, days: 0 } });
      // Every replica, once it has fetched and applied the whole replication log, holds the marks and their cancels.
      await waitFor(
        async () => {
          for (const s of state.servers) {
            const [r] = await rows<{ behind: string; w: string; d: string }>(
              client(s),
              `SELECT (SELECT sum(queue_size + if(log_max_index = 0 AND log_pointer = 0, 0, log_max_index + 1 - log_pointer)) FROM system.replicas
                       WHERE database = '${DB}' AND table IN ('window_mark_local', 'day_mark_local')) AS behind,
                      (SELECT sum(sign) FROM ${DB}.window_mark_local) AS w, (SELECT sum(sign) FROM ${DB}.day_mark_local) AS d`,
            );
            if (Number(r!.behind) !== 0) return false;
            expect([Number(r!.w), Number(r!.d)]).toEqual([0, 0]);
          }
          return true;
        },
        { what: 'every replica caught up on the marks', timeoutMs: 120_000, intervalMs: 250 },
      );
    } finally {
      await shards.close();
    }
  });

  it('two writers (as two processes) storing overlapping points at once store each point once, on either shard', async () => {
    const config = loadConfig({ ...process.env, HERODOTUS_STATE_DIR: stateDir, CLICKHOUSE_SHARDS: shardsEnv, CLICKHOUSE_DATABASE: DB });
    const writers = await Promise.all(['writer-a', 'writer-b'].map((name) => openShards(config, { name })));
    try {
      const from = T0 + 7 * MS.day;
      const write = (k: number) => {
        const p = allocatePoints(2 * 2 * 6000);
        for (const sensor of [301, 302]) {
          for (let ts = from; ts < from + 2 * MS.minute; ts += 10) {
            const i = p.length++;
            [p.sensor[i], p.ts[i], p.value[i]] = [sensor, ts, ts % 977];
          }
        }
        return storeOnShards(writers[k]!, { points: p, version: 100 + k, windowMs: MS.minute, name: `cluster-writer-${k}` });
      };
      const results = await Promise.all([write(0), write(1)]);
      expect(results.reduce((n, r) => n + r.inserted, 0)).toBe(2 * 12_000);
      for (const sensor of [301, 302]) {
        const [r] = await rows<{ n: string; d: string }>(
          client(server(sensor % 2 === 0 ? 1 : 2, 1)),
          `SELECT count() AS n, uniqExact(ts) AS d FROM ${DB}.raw_local WHERE sensor = ${sensor}`,
        );
        expect([Number(r!.n), Number(r!.d)]).toEqual([12_000, 12_000]);
      }
      // Released: no claim stands.
      for (const shard of [1, 2]) {
        const [c] = await rows<{ live: string }>(client(server(shard, 1)), `SELECT sum(sign) AS live FROM ${DB}.write_claim_local`);
        expect(Number(c!.live)).toBe(0);
      }
    } finally {
      await Promise.all(writers.map((w) => w.close()));
    }
  });

  it('a correction (onConflict replace) replaces stored values on both replicas of the shard, once', async () => {
    const config = loadConfig({ ...process.env, HERODOTUS_STATE_DIR: stateDir, CLICKHOUSE_SHARDS: shardsEnv, CLICKHOUSE_DATABASE: DB });
    const shards = await openShards(config, { name: 'corrector' });
    try {
      const from = T0 + 9 * MS.day;
      const sensor = 311;
      const write = (value: (i: number) => number, n: number, name: string, onConflict?: 'replace') => {
        const p = allocatePoints(n);
        for (let i = 0; i < n; i++) [p.sensor[p.length], p.ts[p.length], p.value[p.length++]] = [sensor, from + i * 1000, value(i)];
        return storeOnShards(shards, { points: p, version: 500, windowMs: MS.minute, name, ...(onConflict ? { onConflict } : {}) });
      };
      await write((i) => i * 0.1, 600, 'cluster-original');
      const fixed = (i: number) => (i % 100 === 7 ? -i : i * 0.1);
      const kept = await write(fixed, 600, 'cluster-kept');
      expect([kept.inserted, kept.conflicting, kept.replaced]).toEqual([0, 6, 0]);
      const t = performance.now();
      const replaced = await write(fixed, 601, 'cluster-corrected', 'replace');
      const ms = Math.round(performance.now() - t);
      expect([replaced.inserted, replaced.alreadyStored, replaced.replaced, replaced.conflicting]).toEqual([7, 594, 6, 0]);
      const shard = sensor % 2 === 0 ? 1 : 2;
      for (const replica of [1, 2]) {
        await waitFor(
          async () => {
            const [r] = await rows<{ n: string }>(
              client(server(shard, replica)),
              `SELECT count() AS n FROM ${DB}.raw_local WHERE sensor = ${sensor}`,
            );
            return Number(r!.n) === 601;
          },
          { timeoutMs: 30_000, intervalMs: 200, what: `replica ${replica} to hold the corrected points` },
        );
        const stored = await rows<{ ts: string; value: number }>(
          client(server(shard, replica)),
          `SELECT ts, value FROM ${DB}.raw_local WHERE sensor = ${sensor} ORDER BY ts`,
        );
        expect(stored.map((r) => [Number(r.ts), r.value])).toEqual(Array.from({ length: 601 }, (_, i) => [from + i * 1000, fixed(i)]));
      }
      process.stdout.write(`correction of 6 points on 18.16 (2 replicas): ${ms} ms\n`);
    } finally {
      await shards.close();
    }
  });

  it('status names every server, alive with its version, and the cluster as ClickHouse sees it', async () => {
    const text = await cli('status');
    expect(text.code).toBe(0);
    for (const s of state.servers) {
      expect(text.stdout).toMatch(new RegExp(`^  ${s.name} .*http ${s.ports.http} .*alive .*version 18\\.16`, 'm'));
      expect(text.stdout).toMatch(new RegExp(`shard ${s.shard} replica ${s.replica}  127\\.0\\.0\\.1:${s.ports.tcp}  ${s.name}$`, 'm'));
    }
    expect(text.stdout).toMatch(/^ {2}zookeeper .*alive .*version 3\.8/m);
    const json = JSON.parse((await cli('status', '--json')).stdout) as ClusterStatus;
    expect(json.members.map((m) => [m.name, m.alive, m.responding])).toEqual([
      ['zookeeper', true, true],
      ...state.servers.map((s) => [s.name, true, true]),
    ]);
    expect(json.topology?.rows).toHaveLength(4);
  });

  it('down stops every process it started and leaves nothing running', async () => {
    const before = JSON.parse((await cli('status', '--json')).stdout) as ClusterStatus;
    const pids = before.members.map((m) => m.pid!);
    expect(pids.every((p) => p > 0)).toBe(true);
    const down = await cli('down');
    expect(down.code).toBe(0);
    for (const m of before.members) expect(down.stderr).toContain(`stopped ${m.name} (pid ${m.pid}`);
    for (const pid of pids) expect(pidAlive(pid)).toBe(false);
    for (const s of state.servers) expect(await isPortOpen('127.0.0.1', s.ports.http)).toBe(false);
    expect(await isPortOpen('127.0.0.1', state.zookeeper.port)).toBe(false);
    const after = await cli('status');
    expect(after.code).toBe(1);
    expect(after.stdout).not.toMatch(/\balive\b/);
  });
});
