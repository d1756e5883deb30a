import { describe, expect, it } from 'vitest';
import { allPorts, DEFAULT_PORT_BASES, serverConfigXml, serversWithPorts, usersXml, zooCfg } from '../../harness/stack/clickhouse-config';
import { TOPOLOGY } from '../../lib/clickhouse/topology';

describe('local cluster configs from TOPOLOGY', () => {
  const servers = serversWithPorts(TOPOLOGY, DEFAULT_PORT_BASES);

  it('gives every replica its own ports, none shared', () => {
    expect(servers.map((s) => [s.name, s.shard, s.replica])).toEqual([
      ['clickhouse-s1-r1', 1, 1],
      ['clickhouse-s1-r2', 1, 2],
      ['clickhouse-s2-r1', 2, 1],
      ['clickhouse-s2-r2', 2, 2],
    ]);
    const ports = allPorts(DEFAULT_PORT_BASES.zookeeper, servers);
    expect(new Set(ports).size).toBe(ports.length);
  });

  it('renders macros, remote_servers and ZooKeeper per server', () => {
    for (const server of servers) {
      const xml = serverConfigXml({ topology: TOPOLOGY, server, servers, zookeeperPort: 2181, dataDir: '/d', logDir: '/l' });
      expect(xml).toContain(`<shard>${server.shard}</shard>`);
      expect(xml).toContain(`<replica>${server.name}</replica>`);
      expect(xml).toContain(`<tcp_port>${server.ports.tcp}</tcp_port>`);
      expect(xml).toContain('<listen_host>127.0.0.1</listen_host>');
      expect(xml).toContain('<distributed_ddl>');
      expect(xml).toContain('<mark_cache_size>');
      expect(xml).toContain('<port>2181</port>');
      // remote_servers: both shards, each with its two replicas' TCP ports, in TOPOLOGY order
      const remote = /<remote_servers>([\s\S]*)<\/remote_servers>/.exec(xml)![1]!;
      const shards = [...remote.matchAll(/<shard>([\s\S]*?)<\/shard>/g)].map((m) =>
        [...m[1]!.matchAll(/<port>(\d+)<\/port>/g)].map((p) => Number(p[1])),
      );
      expect(shards).toEqual(TOPOLOGY.shards.map((sh) => servers.filter((s) => s.shard === sh.index).map((s) => s.ports.tcp)));
    }
  });

  it('keeps ZooKeeper on loopback without its admin server', () => {
    const cfg = zooCfg({ dataDir: '/z', port: 2181 });
    expect(cfg).toMatch(/^clientPortAddress=127\.0\.0\.1$/m);
    expect(cfg).toMatch(/^admin\.enableServer=false$/m);
  });

  it('has profiles, users and quotas (18.16 refuses to start without them)', () => {
    const users = usersXml();
    for (const section of ['profiles', 'users', 'quotas']) expect(users).toContain(`<${section}>`);
  });
});
