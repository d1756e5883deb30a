import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { afterEach, describe, expect, test } from 'vitest';
import { runGenerator } from '../../generator/run';
import { mergeExpected } from '../../harness/scenario/common';
import { waitFor } from '../../harness/stack/child';
import { Harness } from '../../harness/stack/harness';
import { checkRandomLenses } from '../../harness/verify/lens-check';
import { checkStorage } from '../../harness/verify/manifest-check';
import { temporalAddress } from '../../lib/config/config';
import { HOLD_FILES } from '../../lib/ingest/fault-hook';
import { connectClient } from '../../workers/ingest-control';
import { tempStateDir } from '../support/ingest-run';
import { expectExact, fetchRaw, type LensBody } from '../support/lens-reference';

const START = Date.UTC(2026, 0, 1);
const SEED = 21;
const SENSORS = [1, 2, 3, 4, 5, 6, 7, 8];
/** Seconds of live data before and after the topic gains partitions. */
const PHASE_S = 20;
const TEST_MS = 600_000;

/**
 * Several writers of one sensor: retried and overlapping backfills, live
 * ingest of the same sensors and a topic that gains partitions while it is
 * ingested (keys move to other partitions), and a chunk that lands in a
 * window compacted at a later version than its own. Every point once, every
 * lens exact.
 */
describe('several writers of one sensor', () => {
  let harness: Harness | null = null;
  let client: Client | null = null;
  let stateDir = '';

  afterEach(async () => {
    await client?.connection.close().catch(() => undefined);
    await harness?.stop();
    client = null;
    harness = null;
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  async function start(name: string, env: Record<string, string> = {}): Promise<Harness> {
    stateDir = tempStateDir(name);
    harness = await Harness.start({ stateDir, freePorts: true, env });
    client = await connectClient(temporalAddress(harness.config), harness.config.temporal.namespace);
    return harness;
  }

  const json = async (h: Harness, p: string, init?: RequestInit) => {
    const res = await fetch(`${h.api.baseUrl}${p}`, init);
    return { status: res.status, body: (await res.json()) as any };
  };
  const backfill = (h: Harness, key: string, body: unknown) =>
    json(h, '/v1/backfill', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify(body),
    });
  const finished = async (h: Harness, id: string) => {
    let last: any;
    await waitFor(async () => (last = (await json(h, `/v1/backfill/${id}`)).body).state !== 'running', {
      timeoutMs: 300_000,
      intervalMs: 500,
      what: `backfill ${id}`,
    });
    return last;
  };
  const drained = (h: Harness) =>
    waitFor(async () => (await json(h, '/v1/compaction/status')).body.backlog_windows === 0, {
      timeoutMs: 180_000,
      intervalMs: 500,
      what: 'compaction backlog to drain',
    });
  const runsOf = async (workflowId: string) => {
    let n = 0;
    for await (const _ of client!.workflow.list({ query: `WorkflowId = '${workflowId}'` })) n++;
    return n;
  };

  test(
    'retried and overlapping backfills, live ingest and a partition increase at runtime: every point once, lenses exact',
    async () => {
      const h = await start('writers');
      const { topic } = h.config.kafka;
      const live = { sensors: SENSORS.length, rateHz: 1000, seed: SEED, realtime: false, topic };
      const upstream = { lateFraction: 0.05, maxLateMs: 15_000, dupFraction: 0.05, reorder: true, corruptFraction: 0 };
      const whole = { kind: 'generate', sensors: SENSORS, from: START, to: START + 2 * PHASE_S * 1000, rate_hz: 1000, seed: SEED };
      const middle = { ...whole, sensors: [5, 6, 7, 8], from: START + 10_000, to: START + 30_000 };
      const reversed = { ...whole, sensors: [...SENSORS].reverse() };

      // Phase 1 while three backfills of the same points start; the first is posted twice (a retried request).
      const [phase1, a, again, b, c] = await Promise.all([
        runGenerator(h.kafka, { ...live, ...upstream, durationS: PHASE_S, startMs: START }),
        backfill(h, 'whole', whole),
        backfill(h, 'whole', whole),
        backfill(h, 'middle', middle),
        backfill(h, 'reversed', reversed),
      ]);
      for (const r of [a, again, b, c]) expect(r.status, JSON.stringify(r.body)).toBe(202);
      expect(again.body.id).toBe(a.body.id);
      expect(new Set([a.body.id, b.body.id, c.body.id]).size).toBe(3);

      // The topic gains partitions while phase 1 is ingested; phase 2 (a new producer) sees them, so keys move.
      const admin = h.kafka.admin();
      await admin.connect();
      await admin.createPartitions({ topicPartitions: [{ topic, count: 4 }] });
      await admin.disconnect();
      const phase2 = await runGenerator(h.kafka, { ...live, ...upstream, durationS: PHASE_S, startMs: START + PHASE_S * 1000 });

      for (const r of [a, b, c]) expect((await finished(h, r.body.id)).state).toBe('completed');
      // A retry after the backfill ended: the same backfill, nothing run again; another body under the key: 409.
      const late = await backfill(h, 'whole', whole);
      expect(late.status).toBe(202);
      expect(late.body.id).toBe(a.body.id);
      expect(await runsOf(`backfill:${a.body.id}`)).toBe(1);
      const reused = await backfill(h, 'whole', middle);
      expect(reused.status).toBe(409);
      expect(reused.body.error.code).toBe('idempotency_key_reused');

      await h.waitCaughtUp(300_000);
      const status = (await json(h, '/v1/ingest/status')).body;
      // The partition count is the topic's: the new partitions have ingest workflows, and they ingested records.
      expect(status.partitions.map((p: { partition: number }) => p.partition).sort()).toEqual([0, 1, 2, 3]);
      const moved = status.partitions.filter((p: any) => p.partition >= 2).reduce((n: number, p: any) => n + p.totals.records, 0);
      expect(moved).toBeGreaterThan(0);

      const expected = mergeExpected(phase1.manifest, phase2.manifest);
      expect([...expected.values()].every((e) => e.points === 2 * PHASE_S * 1000)).toBe(true);
      const audit = (await h.api.audit()).filter((s) => SENSORS.includes(s.sensor));
      const storage = checkStorage(expected, audit);
      expect(storage.mismatched_sensors).toEqual([]);
      expect(storage.duplicate_points).toBe(0);
      expect(storage.lost_points).toBe(0);
      // The sensor extents count every row ever inserted: nothing was inserted twice and removed by a merge.
      const extents = (await h.api.sensors()).filter((s) => SENSORS.includes(s.sensor));
      expect(extents.map((e) => e.points)).toEqual(SENSORS.map(() => 2 * PHASE_S * 1000));

      await drained(h);
      const lenses = await checkRandomLenses(h.api.baseUrl, {
        sensors: SENSORS,
        dataFrom: START,
        dataTo: START + 2 * PHASE_S * 1000,
        count: 40,
        seed: SEED,
      });
      expect(lenses.examples).toEqual([]);
      expect(lenses.lens_mismatches).toBe(0);
    },
    TEST_MS,
  );

  test(
    'a chunk held back until its window was compacted at a later version, then released: lenses exact once it settles',
    async () => {
      const h = await start('held-chunk', { HERODOTUS_FAULT: 'hold-first-chunk' });
      const sensor = 3;
      const window = Date.UTC(2025, 6, 1, 12, 0);
      // 100 points at odd 5 ms marks; the backfill below writes the 10 ms marks of the same window.
      const batch = { v: 1, sensor, start: window + 5, period_ms: 10, values: Array.from({ length: 100 }, (_, i) => i + 0.5) };
      const posted = await fetch(`${h.api.baseUrl}/v1/ingest`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(batch),
      });
      expect(posted.status).toBe(202);
      await waitFor(async () => fs.existsSync(path.join(stateDir, HOLD_FILES.held)), {
        timeoutMs: 60_000,
        intervalMs: 200,
        what: 'the chunk to be held',
      });

      // Meanwhile another writer fills the window (a later version) and compaction covers it.
      const bf = await backfill(h, 'held', {
        kind: 'generate',
        sensors: [sensor],
        from: window,
        to: window + 60_000,
        rate_hz: 100,
        seed: 4,
      });
      expect((await finished(h, bf.body.id)).state).toBe('completed');
      await drained(h);
      const lens = async () => {
        const r = await json(h, `/v1/lens?sensors=${sensor}&from=${window}&to=${window + 60_000}&step=1000`);
        expect(r.status, JSON.stringify(r.body)).toBe(200);
        return r.body as LensBody;
      };
      const before = await lens();
      expect(before.plan.raw_windows).toBe(0);
      expectExact(before, new Map([[sensor, await fetchRaw(h.api.baseUrl, sensor, window, window + 60_000)]]));

      // Released: the chunk is stored with its planned version below the window's compacted one.
      fs.writeFileSync(path.join(stateDir, HOLD_FILES.release), '');
      await h.waitCaughtUp(120_000);
      await drained(h);
      const raw = await fetchRaw(h.api.baseUrl, sensor, window, window + 60_000);
      expect(raw.length).toBe(6000 + 100);
      const after = await lens();
      // Settled: read from the rollups, and they hold the held chunk's points.
      expect(after.plan.raw_windows).toBe(0);
      expectExact(after, new Map([[sensor, raw]]));
      const log = fs.readFileSync(path.join(h.infra.logDir, 'herodotus.log'), 'utf8');
      expect(log).toContain('HERODOTUS_FAULT hold-first-chunk: holding a chunk of 100 points');
    },
    TEST_MS,
  );
});
