import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../../lib/config/config';
import { migrate } from '../../lib/clickhouse/migrate';
import { rawPage } from '../../lib/clickhouse/raw';
import { rollupRows } from '../../lib/clickhouse/rollup';
import { EMBEDDED_FEATURES, renderSchema } from '../../lib/clickhouse/schema';
import { singleShard } from '../../lib/clickhouse/shards';
import type { Store } from '../../lib/clickhouse/store';
import { openStore } from '../../lib/clickhouse/store-open';
import { tempStateDir } from '../support/ingest-run';

const T0 = Date.UTC(2025, 0, 1);

/** The DDL of the schema before quality: no raw.quality, no rollup uncertain, bad and not-good aggregates. */
function preQualitySchema(db: string): string[] {
  return renderSchema(db, { kind: 'single', features: EMBEDDED_FEATURES }).map((sql) =>
    sql.replace(/,\n {2}(quality|uncertain|bad|sum_ng|min_ng|max_ng) [^\n]*?(?=,\n|\n\))/g, ''),
  );
}

/** The DDL of the schema before Float64 values (and quality): value, min, max, first and last were Float32. */
function float32Schema(db: string): string[] {
  return preQualitySchema(db).map((sql) => sql.replace(/ (value|min|max|first|last) Float64/g, ' $1 Float32'));
}

describe('upgrade of a state written before Float64 values', () => {
  let stateDir: string;
  let store: Store;

  beforeAll(async () => {
    stateDir = tempStateDir('upgrade');
    store = await openStore(loadConfig({ ...process.env, HERODOTUS_STATE_DIR: stateDir }), { name: 'upgrade' });
  });

  afterAll(async () => {
    await store?.close();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  test('Float32 columns are widened in place, exactly, and read back as the Float32 values they held', async () => {
    for (const sql of float32Schema(store.db)) await store.client.command({ query: sql });
    const values = [0.1, -20.9033203125, 123456.789, 1e-40, 3.4e38];
    await store.client.command({
      query: `INSERT INTO ${store.table('raw')} VALUES ${values.map((v, i) => `(1, ${T0 + i}, ${v})`).join(', ')}`,
    });
    await store.client.command({
      query: `INSERT INTO ${store.table('rollup')} VALUES (60000, 1, ${T0}, 5, 1.5, -20.9033203125, 0.1, 0.1, 3.4e38, 1)`,
    });
    await migrate(singleShard(store));

    const types = await store.rows<{ table: string; name: string; type: string }>(
      `SELECT table, name, type FROM system.columns WHERE database = '${store.db}' AND name IN ('value', 'min', 'max', 'first', 'last')
       AND table IN ('raw', 'rollup') ORDER BY table, name`,
    );
    expect(types.map((t) => `${t.table}.${t.name} ${t.type}`)).toEqual([
      'raw.value Float64',
      'rollup.first Float64',
      'rollup.last Float64',
      'rollup.max Float64',
      'rollup.min Float64',
    ]);
    const page = await rawPage(store, 1, T0, T0 + 10, 10);
    expect(page.points).toEqual(values.map((v, i) => [T0 + i, Math.fround(v)]));
    const [row] = await rollupRows(store, 60000, 1, T0, T0 + 60000);
    expect([row!.min, row!.max, row!.first, row!.last]).toEqual([
      Math.fround(-20.9033203125),
      Math.fround(0.1),
      Math.fround(0.1),
      Math.fround(3.4e38),
    ]);
    // New values keep all their bits; migrating again changes nothing.
    await store.client.command({ query: `INSERT INTO ${store.table('raw')} (sensor, ts, value) VALUES (1, ${T0 + 9}, 0.1)` });
    await migrate(singleShard(store));
    expect((await rawPage(store, 1, T0 + 9, T0 + 10, 10)).points).toEqual([[T0 + 9, 0.1]]);
  });
});

describe('upgrade of a state written before quality', () => {
  let stateDir: string;
  let store: Store;

  beforeAll(async () => {
    stateDir = tempStateDir('upgrade-quality');
    store = await openStore(loadConfig({ ...process.env, HERODOTUS_STATE_DIR: stateDir }), { name: 'upgrade-quality' });
  });

  afterAll(async () => {
    await store?.close();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  test('the quality columns are added; old points read as good and old rollups as all good', async () => {
    const ddl = preQualitySchema(store.db);
    expect(ddl.join('\n')).not.toMatch(/quality|uncertain|_ng/);
    for (const sql of ddl) await store.client.command({ query: sql });
    await store.client.command({ query: `INSERT INTO ${store.table('raw')} VALUES (1, ${T0}, 0.1), (1, ${T0 + 1}, -2.5)` });
    await store.client.command({
      query: `INSERT INTO ${store.table('rollup')} VALUES (60000, 1, ${T0}, 2, -2.4, -2.5, 0.1, 0.1, -2.5, 1)`,
    });
    await migrate(singleShard(store));

    const page = await rawPage(store, 1, T0, T0 + 10, 10);
    expect(page).toEqual({
      points: [
        [T0, 0.1],
        [T0 + 1, -2.5],
      ],
      quality: [0, 0],
      next: null,
    });
    const [row] = await rollupRows(store, 60000, 1, T0, T0 + 60000);
    expect(row).toMatchObject({
      count: 2,
      sum: -2.4,
      min: -2.5,
      max: 0.1,
      uncertain: 0,
      bad: 0,
      sum_ng: 0,
      min_ng: Infinity,
      max_ng: -Infinity,
    });
    // New points carry their quality; migrating again changes nothing.
    await store.client.command({ query: `INSERT INTO ${store.table('raw')} (sensor, ts, value, quality) VALUES (1, ${T0 + 2}, 7, 2)` });
    await migrate(singleShard(store));
    expect((await rawPage(store, 1, T0 + 2, T0 + 3, 10)).quality).toEqual([2]);
  });
});
