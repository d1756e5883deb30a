// Herodotus on the local 2 shards × 2 replicas ClickHouse cluster (Debian's
// 18.16 + ZooKeeper, installed by the project's own code when missing): ingest
// through an unreliable upstream, compaction and exact lenses across shards,
// and each fault of the cluster during ingest — a shard's preferred replica
// killed (failover, then fail-back once it is back and caught up), a whole
// shard stopped, ZooKeeper stopped, each for OUTAGE_MS (the promised minute) — ending with every point
// stored once. Then two API instances behind HAProxy restarted one after the
// other while lenses run: no request fails.
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ClickHouseClient, createClient, ClickHouseLogLevel } from '@clickhouse/client';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { configEnv, PROJECT_ROOT } from '../../lib/config/config';
import type { LensResult } from '../../lib/lens/query';
import { ManagedProcess, waitFor } from '../../harness/stack/child';
import { clusterDown, clusterUp, stopClusterMember, type ClusterUpResult } from '../../harness/stack/cluster';
import { serverUrl } from '../../harness/stack/cluster-state';
import { replicaLag } from '../../lib/clickhouse/replica-lag';
import { ensureClusterPackages } from '../../harness/stack/cluster-packages';
import { Harness } from '../../harness/stack/harness';
import { startHaproxy } from '../../harness/stack/haproxy';
import { freePort } from '../../harness/stack/ports';
import { lensDifferences } from '../../harness/verify/lens-check';
import { expectExactRun, expectLensesExact, ingestThrough, OUTAGE_MS, tempStateDir } from '../support/ingest-run';

/** Seconds of realtime ingest around an outage: it starts 8 s in and ends 12 s before publishing does. */
const RUN_S = OUTAGE_MS / 1000 + 20;
const SENSORS = 8;
/** Sensor ids 1..8: even ones live on shard 1, odd ones on shard 2 (sensor % 2). */
const SHARD1_SENSORS = [2, 4, 6, 8];
const SHARD2_SENSORS = [1, 3, 5, 7];
const START_MS = Date.UTC(2026, 0, 1);

let stateDir = '';
let cluster: ClusterUpResult;
let harness: Harness | null = null;
let harnessDir = '';

const say = (line: string) => process.stderr.write(`cluster faults: ${line}\n`);

async function stopMember(name: string, how: 'kill' | 'stop'): Promise<void> {
  const pid = await stopClusterMember(stateDir, name, how);
  say(`${how === 'kill' ? 'killed (-9)' : 'stopped'} ${name} (pid ${pid})`);
}

/** `herodotus cluster up` again: starts what is not running and waits until the cluster answers. */
async function restoreCluster(): Promise<void> {
  const up = await clusterUp({ stateDir, ports: 'free', database: null, progress: say });
  say(`restarted ${up.started.join(', ') || 'nothing'}`);
}

/** RUN_S of realtime ingest during which a cluster member is down for OUTAGE_MS; then every point once and lenses exact. */
async function ingestThroughOutage(name: string, seed: number, member: string, how: 'kill' | 'stop'): Promise<void> {
  const run = await ingestThrough(
    await start(name),
    { sensors: SENSORS, durationS: RUN_S, seed, realtime: true, startMs: START_MS },
    async () => {
      await sleep(8_000);
      await stopMember(member, how);
      await sleep(OUTAGE_MS);
      await restoreCluster();
    },
  );
  expectExactRun(run);
  await expectLensesExact(run.harness, { sensors: SENSORS, startMs: START_MS, durationS: RUN_S, seed });
}

/** `call` with a client of one server of the cluster, closed afterwards. */
async function onServer<T>(serverName: string, call: (client: ClickHouseClient) => Promise<T>): Promise<T> {
  const server = cluster.state.servers.find((s) => s.name === serverName)!;
  const client = createClient({ url: serverUrl(server), log: { level: ClickHouseLogLevel.OFF } });
  try {
    return await call(client);
  } finally {
    await client.close();
  }
}

/** Inserted parts the replica has still to fetch from a peer (`inserts_in_queue` over the test's database). */
const partsToFetch = (serverName: string, database: string) =>
  onServer(serverName, async (client) => {
    const [row] = await (
      await client.query({
        query: `SELECT sum(inserts_in_queue) AS n FROM system.replicas WHERE database = '${database}'`,
        format: 'JSONEachRow',
      })
    ).json<{ n: string }>();
    return Number(row?.n ?? 0);
  });

/** Why the replica may not serve reads that must see every acknowledged write (lib/clickhouse/replica-lag.ts), or null. */
const peerLag = (serverName: string, database: string) => onServer(serverName, (client) => replicaLag(client, database));

/**
 * kill -9 of `victim` during ingest at a moment its peer holds every part the
 * victim acknowledged, so that the peer may take over. A part acknowledged by
 * the victim just before it died and not yet fetched by the peer exists on the
 * victim alone: then the peer must not serve (its reads would miss acknowledged
 * points) and no failover can be shown. The peer's queue is read again once it
 * has pulled the log (2 s after the kill); if that race was lost the victim is
 * restarted and killed again, up to 5 times.
 */
async function killWithPeerCaughtUp(victim: string, peer: string, database: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    await waitFor(async () => (await partsToFetch(peer, database)) === 0, {
      what: `${peer} to hold every part of ${victim}`,
      timeoutMs: 30_000,
      intervalMs: 20,
    });
    await stopMember(victim, 'kill');
    await sleep(2_000);
    const missing = await partsToFetch(peer, database);
    if (missing === 0) return;
    if (attempt === 5) throw new Error(`${peer} missed ${missing} part(s) of ${victim} on each of 5 kills`);
    say(`${peer} has ${missing} part(s) only ${victim} held when it died: restarting it, killing it again`);
    await restoreCluster();
    await sleep(5_000);
  }
}

/** From /metrics: the replica in use per shard, and the replica switches per `shard:reason`. */
async function replicaMetrics(h: Harness): Promise<{ inUse: Map<string, string>; switches: Map<string, number> }> {
  const text = await (await fetch(`${h.api.baseUrl}/metrics`)).text();
  const inUse = new Map<string, string>();
  const switches = new Map<string, number>();
  for (const m of text.matchAll(/^herodotus_clickhouse_replica_in_use\{shard="(\d+)",replica="([^"]+)"\} 1$/gm)) inUse.set(m[1]!, m[2]!);
  for (const m of text.matchAll(/^herodotus_clickhouse_replica_switches_total\{shard="(\d+)",reason="(\w+)"\} (\d+)$/gm))
    switches.set(`${m[1]}:${m[2]}`, Number(m[3]));
  return { inUse, switches };
}

/**
 * Kafka, Temporal and Herodotus of their own for each test, on a database of
 * its own in the cluster (created ON CLUSTER by the service), so that each
 * test's manifest is the whole truth about its database.
 */
async function start(name: string): Promise<Harness> {
  harnessDir = tempStateDir(`cluster-${name}`);
  harness = await Harness.start({
    stateDir: harnessDir,
    freePorts: true,
    env: { CLICKHOUSE_SHARDS: cluster.shards, CLICKHOUSE_CLUSTER: cluster.state.cluster, CLICKHOUSE_DATABASE: `herodotus_${name}` },
  });
  return harness;
}

async function lens(
  base: string,
  sensors: number[],
  from: number,
  to: number,
  source?: 'raw',
): Promise<{ status: number; body: LensResult & { error?: { code: string; message: string } } }> {
  const res = await fetch(
    `${base}/v1/lens?sensors=${sensors.join(',')}&from=${from}&to=${to}&points=500${source ? `&source=${source}` : ''}`,
  );
  return { status: res.status, body: (await res.json()) as LensResult & { error?: { code: string; message: string } } };
}

/** Another `herodotus serve` with the harness's settings on its own port, once healthy. */
async function startSecondInstance(h: Harness, port: number): Promise<ManagedProcess> {
  const proc = await ManagedProcess.start({
    name: 'herodotus-2',
    command: process.execPath,
    args: [path.join(PROJECT_ROOT, 'bin', 'herodotus.mjs'), 'serve'],
    env: { ...configEnv(h.config), HERODOTUS_PORT: String(port) },
    cwd: PROJECT_ROOT,
    logFile: path.join(harnessDir, 'herodotus-2.log'),
  });
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/v1/health`).catch(() => null))?.status === 200, {
    what: 'the second API instance to be healthy',
    timeoutMs: 120_000,
    intervalMs: 250,
    process: proc,
  });
  return proc;
}

beforeAll(async () => {
  await ensureClusterPackages(say);
  stateDir = tempStateDir('cluster-faults');
  cluster = await clusterUp({ stateDir, ports: 'free', database: null, progress: say });
}, 1_200_000);

afterEach(async () => {
  await harness?.stop();
  harness = null;
  if (harnessDir) fs.rmSync(harnessDir, { recursive: true, force: true });
}, 180_000);

afterAll(async () => {
  if (stateDir) {
    await clusterDown(stateDir);
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}, 180_000);

describe('cluster mode (2 shards × 2 replicas, ClickHouse 18.16)', () => {
  test('ingest stores each sensor on its own shard, on both replicas, exactly once; lenses are exact', async () => {
    const h = await start('spread');
    const run = await ingestThrough(h, { sensors: SENSORS, durationS: 30, seed: 41, realtime: false, startMs: START_MS });
    expectExactRun(run);
    await expectLensesExact(h, { sensors: SENSORS, startMs: START_MS, durationS: 30, seed: 41 });
    // Each server's local raw table holds exactly its shard's sensors, the same rows on both replicas.
    for (const server of cluster.state.servers) {
      const client = createClient({ url: serverUrl(server), log: { level: ClickHouseLogLevel.OFF } });
      try {
        await client.command({ query: 'SYSTEM SYNC REPLICA herodotus_spread.raw_local' });
        const rows = await (
          await client.query({
            query: 'SELECT sensor, count() AS n FROM herodotus_spread.raw_local GROUP BY sensor ORDER BY sensor',
            format: 'JSONEachRow',
          })
        ).json<{ sensor: number; n: string }>();
        expect(rows.map((r) => r.sensor)).toEqual(server.shard === 1 ? SHARD1_SENSORS : SHARD2_SENSORS);
        for (const r of rows) expect(Number(r.n)).toBe(run.generated.manifest.totals.generated_points / SENSORS);
      } finally {
        await client.close();
      }
    }
  }, 600_000);

  test(`(a) kill -9 of shard 1's preferred replica during ingest and compaction, restarted after ${OUTAGE_MS / 1000} s: failover, fail-back, nothing lost or doubled`, async () => {
    const [preferred, peer] = cluster.shards.split(';')[0]!.split(',') as [string, string];
    const seen: { duringOutage?: string; peerLag?: string | null } = {};
    const run = await ingestThrough(
      await start('replica'),
      { sensors: SENSORS, durationS: RUN_S, seed: 42, realtime: true, startMs: START_MS },
      async (h) => {
        await sleep(8_000);
        await killWithPeerCaughtUp('clickhouse-s1-r1', 'clickhouse-s1-r2', 'herodotus_replica');
        await sleep(OUTAGE_MS);
        seen.duringOutage = (await replicaMetrics(h)).inUse.get('1');
        seen.peerLag = await peerLag('clickhouse-s1-r2', 'herodotus_replica');
        await restoreCluster();
        const restoredAt = Date.now();
        // Fail-back while ingest goes on: every role of the process moves back to the preferred replica.
        await waitFor(async () => (await replicaMetrics(h)).inUse.get('1') === preferred, {
          what: 'shard 1 to fail back to its preferred replica',
          timeoutMs: 120_000,
          intervalMs: 500,
        });
        say(`shard 1 failed back to its preferred replica ${((Date.now() - restoredAt) / 1000).toFixed(1)} s after it was restarted`);
      },
    );
    // The audit and the lenses below run on the preferred replica again: it holds every acknowledged write.
    expectExactRun(run);
    await expectLensesExact(run.harness, { sensors: SENSORS, startMs: START_MS, durationS: RUN_S, seed: 42 });
    const after = await replicaMetrics(run.harness);
    expect(seen.duringOutage, `peer during the outage: ${seen.peerLag ?? 'caught up'}`).toBe(peer);
    expect(after.inUse.get('1')).toBe(preferred);
    expect(after.inUse.get('2')).toBe(cluster.shards.split(';')[1]!.split(',')[0]);
    expect(after.switches.get('1:failover')).toBeGreaterThanOrEqual(1);
    expect(after.switches.get('1:failback')).toBeGreaterThanOrEqual(1);
    expect(after.switches.get('2:failover') ?? 0).toBe(0);
  }, 900_000);

  test(`(b) both replicas of shard 2 stopped for ${OUTAGE_MS / 1000} s: its lenses answer 503, shard 1 answers exactly; afterwards nothing lost`, async () => {
    const from = START_MS;
    const during: {
      shard1: number[];
      shard2: number[];
      mixed: number[];
      messages: string[];
      shard1Wrong: string[];
      shard1Compared: number;
    } = {
      shard1: [],
      shard2: [],
      mixed: [],
      messages: [],
      shard1Wrong: [],
      shard1Compared: 0,
    };
    const run = await ingestThrough(
      await start('shard'),
      { sensors: SENSORS, durationS: RUN_S, seed: 43, realtime: true, startMs: from },
      async (h) => {
        await sleep(8_000);
        await Promise.all(['clickhouse-s2-r1', 'clickhouse-s2-r2'].map((n) => stopMember(n, 'stop')));
        const until = Date.now() + OUTAGE_MS;
        while (Date.now() < until - 5_000) {
          const a = await lens(h.api.baseUrl, SHARD1_SENSORS, from, from + 60_000);
          during.shard1.push(a.status);
          if (a.status === 200) {
            // Ingest (late batches included) goes on, so a lens is compared only with raw
            // aggregates that did not move around it: raw, lens, raw, and the sample counts
            // when both raw answers agree (the lens then had one instant to reflect).
            const before = await lens(h.api.baseUrl, SHARD1_SENSORS, from, from + 60_000, 'raw');
            const mid = await lens(h.api.baseUrl, SHARD1_SENSORS, from, from + 60_000);
            const after = await lens(h.api.baseUrl, SHARD1_SENSORS, from, from + 60_000, 'raw');
            if (before.status !== 200 || after.status !== 200)
              during.shard1Wrong.push(`source=raw answered ${before.status}, ${after.status}`);
            else if (mid.status === 200 && lensDifferences(before.body, after.body).length === 0) {
              during.shard1Compared += 1;
              // What differs, not a bare boolean: a failure names the bucket.
              during.shard1Wrong.push(...lensDifferences(mid.body, before.body));
            }
          }
          const b = await lens(h.api.baseUrl, [SHARD2_SENSORS[0]!], from, from + 60_000);
          during.shard2.push(b.status);
          if (b.body.error) during.messages.push(b.body.error.message);
          during.mixed.push((await lens(h.api.baseUrl, [2, 3], from, from + 60_000)).status);
          await sleep(2_000);
        }
        await sleep(Math.max(0, until - Date.now()));
        await restoreCluster();
      },
    );
    expect(during.shard1.length).toBeGreaterThan(5);
    expect(new Set(during.shard1)).toEqual(new Set([200]));
    expect(during.shard1Wrong).toEqual([]);
    expect(during.shard1Compared).toBeGreaterThan(0);
    expect(new Set(during.shard2)).toEqual(new Set([503]));
    expect(new Set(during.mixed)).toEqual(new Set([503]));
    expect(during.messages[0]).toMatch(/shard 2 .* which holds sensor 1, is unavailable/);
    expectExactRun(run);
    await expectLensesExact(run.harness, { sensors: SENSORS, startMs: START_MS, durationS: RUN_S, seed: 43 });
  }, 900_000);

  test(`(c) ZooKeeper stopped for ${OUTAGE_MS / 1000} s during ingest: nothing lost or doubled`, async () => {
    await ingestThroughOutage('zookeeper', 44, 'zookeeper', 'stop');
  }, 900_000);

  test('(d) two API instances behind HAProxy, restarted one after the other during lens load: no failed request', async () => {
    const h = await start('balanced');
    expectExactRun(await ingestThrough(h, { sensors: SENSORS, durationS: 60, seed: 45, realtime: false, startMs: START_MS }));
    const port2 = await freePort();
    const second = await startSecondInstance(h, port2);
    const lbPort = await freePort();
    const lb = await startHaproxy({
      dir: path.join(stateDir, 'haproxy'),
      port: lbPort,
      backends: [`127.0.0.1:${h.config.http.port}`, `127.0.0.1:${port2}`],
    });
    const base = `http://127.0.0.1:${lbPort}`;
    let restarted: ManagedProcess | null = null;
    try {
      await waitFor(async () => (await fetch(`${base}/v1/health`).catch(() => null))?.status === 200, {
        what: 'HAProxy to route',
        timeoutMs: 30_000,
        intervalMs: 200,
      });
      const failures: string[] = [];
      let ok = 0;
      let running = true;
      const client = async (k: number) => {
        for (let i = 0; running; i++) {
          const sensors = [SHARD1_SENSORS[(k + i) % 4]!, SHARD2_SENSORS[(k + 2 * i) % 4]!];
          const from = START_MS + ((k * 7 + i) % 60) * 1000;
          try {
            const r = await lens(base, sensors, from, from + 20_000);
            if (r.status === 200 && r.body.sensors.length === 2) ok++;
            else failures.push(`${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
          } catch (err) {
            failures.push(String(err));
          }
        }
      };
      const load = Promise.all(Array.from({ length: 4 }, (_, k) => client(k)));
      await sleep(3_000);
      say('restarting API instance 1');
      await h.stopService();
      await h.startService();
      await sleep(3_000);
      say('restarting API instance 2');
      await second.stop({ timeoutMs: 30_000 });
      restarted = await startSecondInstance(h, port2);
      await sleep(3_000);
      running = false;
      await load;
      say(`${ok} lenses through HAProxy, ${failures.length} failed`);
      expect(failures).toEqual([]);
      expect(ok).toBeGreaterThan(50);
    } finally {
      await lb.stop();
      await (restarted ?? second).stop({ timeoutMs: 30_000 });
    }
  }, 900_000);
});
