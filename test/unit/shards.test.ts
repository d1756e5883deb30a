import { describe, expect, it } from 'vitest';
import { holdingSensors, isUnreachable, StoreUnavailableError } from '../../lib/clickhouse/errors';
import { schemaObjects, TABLES, VIEWS } from '../../lib/clickhouse/schema';
import { bySensorShard, onEveryPart, onReachableShards, shardIndex, shardsOf } from '../../lib/clickhouse/shards';
import type { Store } from '../../lib/clickhouse/store';
import { shardOf, TOPOLOGY } from '../../lib/clickhouse/topology';
import { ConfigError, configEnv, loadConfig } from '../../lib/config/config';
import { haproxyConfig } from '../../harness/stack/haproxy';

/** Stand-ins that only carry a name: routing never calls a store. */
const fakeStores = (n: number) => Array.from({ length: n }, (_, i) => ({ db: `shard${i + 1}` }) as unknown as Store);

describe('CLICKHOUSE_SHARDS', () => {
  const shards = 'http://a:8123,http://b:8123;http://c:8123,http://d:8123';

  it("lists each shard's replicas in order and survives configEnv", () => {
    const config = loadConfig({ CLICKHOUSE_SHARDS: shards });
    expect(config.clickhouse.shards).toEqual([
      ['http://a:8123', 'http://b:8123'],
      ['http://c:8123', 'http://d:8123'],
    ]);
    expect(config.clickhouse.cluster).toBe('herodotus');
    expect(loadConfig(configEnv(config)).clickhouse.shards).toEqual(config.clickhouse.shards);
  });

  it('refuses a bad URL, an empty shard, and CLICKHOUSE_URL alongside', () => {
    expect(() => loadConfig({ CLICKHOUSE_SHARDS: 'http://a:8123;ftp://b' })).toThrow(/'ftp:\/\/b' is not an http\(s\) URL/);
    expect(() => loadConfig({ CLICKHOUSE_SHARDS: 'http://a:8123;;http://b:8123' })).toThrow(/an empty shard/);
    expect(() => loadConfig({ CLICKHOUSE_SHARDS: shards, CLICKHOUSE_URL: 'http://a:8123' })).toThrow(ConfigError);
  });
});

describe('sensor → shard', () => {
  it('is the remainder by the shard count, as TOPOLOGY and the Distributed tables say', () => {
    for (let sensor = 0; sensor < 50; sensor++) {
      expect(shardIndex(sensor, TOPOLOGY.shards.length) + 1).toBe(shardOf(TOPOLOGY, sensor));
      expect(shardIndex(sensor, 1)).toBe(0);
    }
    const shards = shardsOf(fakeStores(2));
    expect(shards.of(7)).toBe(shards.stores[1]);
    expect(shards.of(8)).toBe(shards.stores[0]);
  });

  it('groups items by shard in shard order and leaves out shards without items', () => {
    const shards = shardsOf(fakeStores(3));
    const parts = bySensorShard(shards, [5, 3, 9, 4, 6], (s) => s);
    expect(parts.map((p) => [p.store, p.items])).toEqual([
      [shards.stores[0], [3, 9, 6]],
      [shards.stores[1], [4]],
      [shards.stores[2], [5]],
    ]);
    expect(bySensorShard(shards, [3, 6], (s) => s).map((p) => p.store)).toEqual([shards.stores[0]]);
  });
});

describe('work over shards', () => {
  const down = (i: number) =>
    new StoreUnavailableError(`ClickHouse shard ${i}`, Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));

  it('onReachableShards leaves out shards that are down, but not other errors, and not all shards', async () => {
    const shards = shardsOf(fakeStores(2));
    const name = (s: Store) => s.db;
    expect(await onReachableShards(shards, async (s) => name(s))).toEqual(['shard1', 'shard2']);
    expect(await onReachableShards(shards, async (s) => (s === shards.stores[1] ? Promise.reject(down(2)) : name(s)))).toEqual(['shard1']);
    await expect(onReachableShards(shards, async () => Promise.reject(down(1)))).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(
      onReachableShards(shards, async (s) => (s === shards.stores[1] ? Promise.reject(new Error('syntax')) : name(s))),
    ).rejects.toThrow('syntax');
  });

  it('onEveryPart finishes every part before it throws the first error', async () => {
    const done: number[] = [];
    const run = onEveryPart([1, 2, 3], async (n) => {
      await new Promise((r) => setTimeout(r, n * 5));
      if (n === 1) throw new Error('part 1 failed');
      done.push(n);
      return n;
    });
    await expect(run).rejects.toThrow('part 1 failed');
    expect(done).toEqual([2, 3]);
    expect(await onEveryPart([1, 2], async (n) => n * 2)).toEqual([2, 4]);
  });

  it('names the shard and the sensors that need it', () => {
    const err = holdingSensors(down(2), [1, 3]) as StoreUnavailableError;
    expect(err.message).toBe('ClickHouse shard 2, which holds sensors 1, 3, is unavailable: connect ECONNREFUSED');
    const other = new Error('other');
    expect(holdingSensors(other, [1])).toBe(other);
  });

  it('tells a server that cannot be reached from one that answered with an error', () => {
    expect(isUnreachable(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isUnreachable(new Error('socket hang up'))).toBe(true);
    expect(isUnreachable(Object.assign(new Error('fetch failed'), { cause: { code: 'UND_ERR_SOCKET' } }))).toBe(true);
    expect(isUnreachable(Object.assign(new Error('Table is in readonly mode'), { code: '242' }))).toBe(false);
    expect(isUnreachable(null)).toBe(false);
  });
});

describe('cluster schema objects', () => {
  it("are each table's local and Distributed table plus the views", () => {
    const names = schemaObjects('db', { kind: 'cluster', cluster: 'c', features: { codecs: false, dedupToken: false, kahan: false } });
    expect(names).toEqual([...TABLES.flatMap((t) => [`${t.name}_local`, t.name]), ...VIEWS.map((v) => v.name)]);
    expect(schemaObjects('db', { kind: 'single', features: { codecs: true, dedupToken: true, kahan: true } })).toEqual([
      ...TABLES.map((t) => t.name),
      ...VIEWS.map((v) => v.name),
    ]);
  });
});

describe('HAProxy config', () => {
  it('balances over every instance with health checks and retries on dropped connections', () => {
    const cfg = haproxyConfig({ port: 9999, backends: ['127.0.0.1:1', '127.0.0.1:2'] });
    expect(cfg).toContain('bind 127.0.0.1:9999');
    expect(cfg).toContain('server api1 127.0.0.1:1 check');
    expect(cfg).toContain('server api2 127.0.0.1:2 check');
    expect(cfg).toMatch(/option httpchk GET \/v1\/health/);
    expect(cfg).toMatch(/retry-on conn-failure empty-response/);
    expect(cfg).toMatch(/option redispatch/);
  });
});
