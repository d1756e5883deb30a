import { shardIndex } from './shards';

/**
 * The ClickHouse cluster shape: 2 shards × 2 replicas. The local cluster
 * (`herodotus cluster up`) and the Kubernetes manifests are both made from
 * this, and a test checks that they agree.
 */
export interface Replica {
  /** Host name in Kubernetes (StatefulSet pod DNS) and the replica macro. */
  name: string;
}

export interface Shard {
  /** 1-based, the {shard} macro. */
  index: number;
  replicas: Replica[];
}

export interface Topology {
  /** Name in remote_servers, used by ON CLUSTER and Distributed tables. */
  cluster: string;
  shards: Shard[];
}

export const TOPOLOGY: Topology = {
  cluster: 'herodotus',
  shards: [1, 2].map((index) => ({
    index,
    replicas: [1, 2].map((r) => ({ name: `clickhouse-s${index}-r${r}` })),
  })),
};

/** Shard of a sensor (1-based): a stable function of the id, as the Distributed tables' sharding key `sensor`. */
export function shardOf(topology: Topology, sensor: number): number {
  return shardIndex(sensor, topology.shards.length) + 1;
}
