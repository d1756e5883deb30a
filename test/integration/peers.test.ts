/**
 * bench:peers's adapters on real servers at a tiny size: each peer (Herodotus's
 * storage path alone, ClickHouse alone, QuestDB, InfluxDB, VictoriaMetrics) is started on loopback with its
 * own directory, fed 2 sensors × 20 s × 100 Hz through its native ingest path
 * less a held-back second, which is written once it has settled; every lens
 * over that second must then turn exact, and three lenses over all the data
 * are compared bucket by bucket with the generated points, and the MIT-BIH
 * ECG (108,000 points at 360 Hz in mV) written as a third sensor is asked at
 * three presets and compared with the recording; then stopped by PID.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config/config';
import { loadTools } from '../../harness/stack/tools';
import { ClickHousePeer } from '../../bench/peers-clickhouse';
import { compareBuckets, expectedBuckets, isExact } from '../../bench/peers-exact';
import { InfluxPeer } from '../../bench/peers-influx';
import type { Peer } from '../../bench/peers-peer';
import { HerodotusStoragePeer } from '../../bench/peers-storage';
import { QuestDbPeer } from '../../bench/peers-questdb';
import { VictoriaPeer } from '../../bench/peers-victoria';
import { measureLate, onTimeChunks } from '../../bench/peers-late';
import { ecgBatches, ecgBuckets, ecgLenses, ecgSeries } from '../../bench/peers-ecg';
import { makeWorkload, pool, type Lens, type PeerData, type PeerRun } from '../../bench/peers-workload';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'peers-test-'));
const tools = loadTools(loadConfig().toolsDir);
const to = Date.UTC(2026, 0, 1);
const data: PeerData = { sensors: 2, from: to - 20_000, to, rate: 100 };
const POINTS = 2 * 20 * 100;
const ecg = ecgSeries(loadConfig().toolsDir, 3, data.from);
const run: PeerRun = {
  data,
  points: POINTS,
  workload: makeWorkload({ '1s': 1000, '10s': 10_000, '1min': 60_000 }, data, 1, 2500, 2),
  ecg,
  cellDeadlineMs: 10_000,
  requestTimeoutMs: 30_000,
  writers: 2,
  log: () => {},
};
const floorTo = (t: number, step: number) => Math.floor(t / step) * step;
const lenses: Lens[] = [
  // One bucket a second: 100 points each.
  { sensors: [1, 2], from: data.from, to: data.to, step: 1000 },
  // 30 ms buckets over 10 ms points: 3 points each, the window inside the data (on whole buckets, as bench:peers asks).
  { sensors: [1, 2], from: floorTo(data.from + 5010, 30), to: floorTo(data.to - 990, 30), step: 30 },
  // One sensor, an hour bucket holding all its points.
  { sensors: [2], from: floorTo(data.from, 3_600_000), to: floorTo(data.from, 3_600_000) + 3_600_000, step: 3_600_000 },
];

const peers: [string, () => Peer][] = [
  ["Herodotus's storage path alone (chdb)", () => new HerodotusStoragePeer(path.join(dir, 'herodotus-storage'))],
  ['ClickHouse alone (chdb)', () => new ClickHousePeer(path.join(dir, 'clickhouse'))],
  ['QuestDB', () => new QuestDbPeer(tools.questdbJar ?? '', path.join(dir, 'questdb'))],
  ['InfluxDB', () => new InfluxPeer(tools.influxd ?? '/usr/bin/influxd', path.join(dir, 'influxdb'))],
  ['VictoriaMetrics', () => new VictoriaPeer(tools.victoriaMetrics ?? '/usr/bin/victoria-metrics', path.join(dir, 'victoriametrics'))],
];

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('bench:peers adapters answer lenses exactly on the generated points', () => {
  for (const [label, make] of peers) {
    it(label, async () => {
      const peer = make();
      try {
        expect(await peer.start()).not.toBe('');
        await pool(onTimeChunks(data), 2, (b) => peer.write(b));
        await peer.flush();
        await peer.settle();
        expect(peer.pids().every((pid) => fs.existsSync(`/proc/${pid}`))).toBe(true);
        // The held-back 1 % (here one second of both sensors) written late: every lens over it becomes exact.
        const late = await measureLate(peer, run, 30_000);
        expect(late.points).toBe(200);
        for (const [name, p] of Object.entries(late.presets))
          expect([name, p.exact_after_ms === null ? p.last.examples : 'exact']).toEqual([name, 'exact']);
        let points = 0;
        for (const lens of lenses) {
          const want = expectedBuckets(data, lens);
          const e = compareBuckets(want, await peer.query(lens));
          expect(e.examples).toEqual([]);
          expect(isExact(e)).toBe(true);
          expect(e.avg_max_rel_err).toBeLessThan(1e-12);
          if (lens === lenses[0]) points = want.reduce((n, w) => n + w.count, 0);
        }
        expect(points).toBe(POINTS);
        expect(expectedBuckets(data, lenses[1]!).every((w) => w.count === 3)).toBe(true);
        // The recording, irregular whole-ms times and decimal mV values: exact at 1 s, 10 s and 1 min.
        await peer.write(ecgBatches(ecg));
        await peer.flush();
        for (const { name, lens } of ecgLenses(ecg, run.workload)) {
          const want = ecgBuckets(ecg, lens);
          const e = compareBuckets(want, await peer.query(lens));
          expect([name, e.examples]).toEqual([name, []]);
          expect(e.avg_max_rel_err).toBeLessThan(1e-12);
          expect(want.reduce((n, w) => n + w.count, 0)).toBe(ecg.times.filter((t) => t >= lens.from && t < lens.to).length);
          expect(want.length).toBeGreaterThan(0);
        }
        expect(peer.bytes()).toBeGreaterThan(0);
      } finally {
        const pids = peer.pids();
        await peer.stop();
        expect(pids.filter((pid) => fs.existsSync(`/proc/${pid}`))).toEqual([]);
      }
    });
  }
});
