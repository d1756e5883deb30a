import type { Config } from '../config/config';
import { replicaChoices } from './replica-choice';
import { featuresForVersion, type Shape } from './schema';
import { shardsOf, singleShard, type Shards } from './shards';
import type { Store, StoreOptions } from './store';
import { openEmbeddedStore } from './store-embedded';
import { connectReplicas, ServerStore } from './store-server';

/** The store of an embedded (no CLICKHOUSE_URL) or single-server ClickHouse. */
export async function openStore(config: Config, opts: StoreOptions): Promise<Store> {
  if (config.clickhouse.shards) throw new Error('a cluster is opened with openShards');
  if (!config.clickhouse.url) return openEmbeddedStore(config, opts);
  const url = config.clickhouse.url;
  const { version, replicas } = await connectReplicas(config, opts, [url]);
  return new ServerStore(
    config.clickhouse.database,
    { kind: 'single', features: featuresForVersion(version) },
    replicas,
    `ClickHouse at ${url}`,
  );
}

/**
 * One store per shard of the cluster named by CLICKHOUSE_SHARDS (in shard
 * order), or the one store of an embedded or single-server ClickHouse.
 */
export async function openShards(config: Config, opts: StoreOptions): Promise<Shards> {
  const shards = config.clickhouse.shards;
  if (!shards) return singleShard(await openStore(config, opts));
  const urls = shards.flat();
  const { version, replicas } = await connectReplicas(config, opts, urls);
  const shape: Shape = { kind: 'cluster', cluster: config.clickhouse.cluster, features: featuresForVersion(version) };
  const choices = opts.replicaChoices ?? replicaChoices();
  let next = 0;
  const stores = shards.map((urlsOfShard, i) => {
    const own = replicas.slice(next, next + urlsOfShard.length);
    next += urlsOfShard.length;
    return new ServerStore(
      config.clickhouse.database,
      shape,
      own,
      `ClickHouse shard ${i + 1} (${urlsOfShard.join(', ')})`,
      opts.log?.child({ role: opts.name }),
      choices.of(i + 1, urlsOfShard),
    );
  });
  return shardsOf(stores);
}
