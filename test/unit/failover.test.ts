// Replica choice of a cluster shard, on stand-in clients (pure logic): one
// choice shared by every store of the process, failover only to a replica
// that holds every acknowledged part (by its replication log pointer and
// queue), fail-back to the preferred replica once it caught up, and calls that
// must see every acknowledged write waiting for their replica.
import type { ClickHouseClient } from '@clickhouse/client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { StoreUnavailableError } from '../../lib/clickhouse/errors';
import { failover, type Replica } from '../../lib/clickhouse/failover';
import { FAILBACK_CHECK_MS, ReplicaChoice, replicaChoices, type ReplicaSwitch } from '../../lib/clickhouse/replica-choice';
import type { Shape } from '../../lib/clickhouse/schema';

interface ServerState {
  down: boolean;
  /** Next log entry the replica will pull, and the last entry in ZooKeeper's log. */
  logPointer: number;
  logMax: number;
  /** Inserted parts in its queue, still to fetch. */
  queued: number;
  /** Calls that reached it (not counting the lag checks). */
  calls: number;
}

const shape: Shape = { kind: 'cluster', cluster: 'herodotus', features: { codecs: false, dedupToken: false, kahan: false } };

function server(url: string): { replica: Replica; state: ServerState } {
  const state: ServerState = { down: false, logPointer: 5, logMax: 4, queued: 0, calls: 0 };
  const refused = () => Object.assign(new Error(`connect ECONNREFUSED ${url}`), { code: 'ECONNREFUSED' });
  const client = {
    query: async ({ query }: { query: string }) => {
      if (state.down) throw refused();
      let rows: unknown[];
      if (query.includes('log_pointer')) {
        rows = [
          {
            table: 'raw_local',
            zookeeper_path: '/clickhouse/tables/1/db/raw',
            is_session_expired: 0,
            log_pointer: String(state.logPointer),
            log_max_index: String(state.logMax),
          },
        ];
      } else if (query.includes('inserts_in_queue')) rows = [{ n: String(state.queued) }];
      else rows = [{ n: '1' }];
      return { json: async () => rows };
    },
    close: async () => undefined,
  } as unknown as ClickHouseClient;
  return { replica: { url, client }, state };
}

function shard() {
  const a = server('http://a');
  const b = server('http://b');
  const changes: ReplicaSwitch[] = [];
  const choice = replicaChoices((c) => changes.push(c)).of(1, ['http://a', 'http://b']);
  const store = () => failover({ db: 'db', shape, replicas: [a.replica, b.replica], what: 'shard 1', choice });
  /** A call that lands on whichever server its client belongs to. */
  const call = async (client: ClickHouseClient) => {
    const s = client === a.replica.client ? a.state : b.state;
    if (s.down) throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    s.calls++;
    return client === a.replica.client ? 'a' : 'b';
  };
  return { a: a.state, b: b.state, choice, changes, store, call };
}

/** Lets a fail-back check running in the background finish (timers are real; only Date is faked). */
const settle = () => new Promise((r) => setTimeout(r, 20));

afterEach(() => {
  vi.useRealTimers();
});

describe('replica choice of a shard', () => {
  it('is shared by every store of the shard: one failover moves them all', async () => {
    const s = shard();
    const ingest = s.store();
    const lenses = s.store();
    expect(await lenses.run(s.call)).toBe('a');
    s.a.down = true;
    expect(await ingest.run(s.call)).toBe('b');
    expect(s.choice.current).toBe(1);
    const before = s.a.calls;
    expect(await lenses.run(s.call)).toBe('b');
    expect(s.a.calls).toBe(before);
    expect(s.changes.map((c) => [c.reason, c.to])).toEqual([
      ['start', 0],
      ['failover', 1],
    ]);
  });

  it('fails over only to a replica holding every acknowledged part', async () => {
    const s = shard();
    const store = s.store();
    s.a.down = true;
    // Committed in the log but not pulled yet: inserts_in_queue alone would say 0.
    s.b.logPointer = 4;
    await expect(store.run(s.call)).rejects.toBeInstanceOf(StoreUnavailableError);
    s.b.logPointer = 5;
    s.b.queued = 2;
    await expect(store.run(s.call)).rejects.toThrow(/2 inserted part\(s\) still to fetch/);
    expect(s.b.calls).toBe(0);
    s.b.queued = 0;
    expect(await store.run(s.call)).toBe('b');
  });

  it('fails back to the preferred replica once it is up and caught up, checked at most every FAILBACK_CHECK_MS', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const s = shard();
    const store = s.store();
    s.a.down = true;
    expect(await store.run(s.call)).toBe('b');
    s.a.down = false;
    s.a.logPointer = 3; // restarted, still pulling the log
    vi.advanceTimersByTime(FAILBACK_CHECK_MS);
    expect(await store.run(s.call)).toBe('b');
    await settle(); // the check in the background found it behind
    expect(s.choice.current).toBe(1);
    s.a.logPointer = 5;
    // Too soon after the last check: no new one yet.
    expect(await store.run(s.call)).toBe('b');
    await settle();
    expect(s.choice.current).toBe(1);
    vi.advanceTimersByTime(FAILBACK_CHECK_MS);
    expect(await store.run(s.call)).toBe('b');
    await vi.waitFor(() => expect(s.choice.current).toBe(0));
    expect(await store.run(s.call)).toBe('a');
    expect(s.changes.map((c) => c.reason)).toEqual(['start', 'failover', 'failback']);
  });

  it('runs a call that must see every acknowledged write once its replica caught up', async () => {
    const s = shard();
    const store = s.store();
    s.a.queued = 1;
    const pending = store.run(s.call, { caughtUp: true });
    await new Promise((r) => setTimeout(r, 250));
    expect(s.a.calls).toBe(0);
    s.a.queued = 0;
    expect(await pending).toBe('a');
    expect(s.choice.current).toBe(0);
  });

  it('a choice moves only from where it stands: a store that saw an older replica does not undo a newer move', () => {
    const choice = new ReplicaChoice(1, ['http://a', 'http://b', 'http://c']);
    expect(choice.moveTo(0, 1, 'failover')).toBe(true);
    expect(choice.moveTo(0, 2, 'failover')).toBe(false);
    expect(choice.current).toBe(1);
  });
});
