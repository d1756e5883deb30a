import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { auditRaw, sensorExtents } from '../../lib/clickhouse/raw';
import { migrate } from '../../lib/clickhouse/migrate';
import { singleShard } from '../../lib/clickhouse/shards';
import type { Store } from '../../lib/clickhouse/store';
import { openEmbeddedStore } from '../../lib/clickhouse/store-embedded';
import { loadConfig } from '../../lib/config/config';
import { storePoints } from '../../lib/ingest/store-points';
import { WINDOW_MS } from '../../lib/model/ladder';
import { allocatePoints, type PointColumns } from '../../lib/model/points';
import { tempStateDir } from '../support/ingest-run';

const T0 = Date.UTC(2026, 1, 1);

/** Points of one sensor every `step` ms over [from, to), value = ts mod 1000 (the same point always has the same value). */
function points(sensor: number, from: number, to: number, step: number): PointColumns {
  const p = allocatePoints(Math.ceil((to - from) / step));
  for (let ts = from; ts < to; ts += step) {
    const i = p.length++;
    p.sensor[i] = sensor;
    p.ts[i] = ts;
    p.value[i] = ts % 1000;
  }
  return p;
}

/**
 * Writers of one sensor on separate connections of the embedded engine, as
 * two processes would be on a server: each round starts them at once with
 * overlapping points under different names (a backfill, live ingest, a key
 * that moved partitions). The check for stored points and the insert must
 * act as one step per sensor: every point once.
 */
describe('concurrent writers of one sensor', () => {
  let stateDir = '';
  let stores: Store[] = [];

  beforeAll(async () => {
    stateDir = tempStateDir('claims');
    const config = loadConfig({ HERODOTUS_STATE_DIR: stateDir });
    stores = await Promise.all(['a', 'b', 'c'].map((name) => openEmbeddedStore(config, { name })));
    await migrate(singleShard(stores[0]!));
  });

  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  test('overlapping writes started together store every point once', async () => {
    const sensor = 42;
    let expected = 0;
    for (let round = 0; round < 8; round++) {
      const from = T0 + round * 3 * WINDOW_MS;
      // The whole stretch, its middle at another rate (shared points and new ones), and the whole again.
      const writes = [
        points(sensor, from, from + 2 * WINDOW_MS, 10),
        points(sensor, from + 30_000, from + 90_000, 5),
        points(sensor, from, from + 2 * WINDOW_MS, 10),
      ];
      const results = await Promise.all(
        writes.map((p, i) =>
          storePoints(stores[i]!, { points: p, version: (round + 1) * 10 + i, windowMs: WINDOW_MS, name: `w${round}-${i}` }),
        ),
      );
      // 12000 points at 10 ms; the middle adds its 5 ms marks (6000) to them.
      expected += 12_000 + 6_000;
      expect(results.reduce((n, r) => n + r.inserted, 0)).toBe(18_000);
    }
    const [audit] = await auditRaw(stores[0]!, { from: sensor, to: sensor });
    expect(audit!.distinct_points).toBe(expected);
    expect(audit!.points).toBe(expected);
    expect((await sensorExtents(stores[0]!, [sensor])).get(sensor)!.points).toBe(expected);
  });
});
