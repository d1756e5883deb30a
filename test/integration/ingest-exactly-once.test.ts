import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, test } from 'vitest';
import { Harness } from '../../harness/stack/harness';
import { outage, type Component } from '../../harness/scenario/faults';
import { expectExactRun, expectLensesExact, ingestThrough, OUTAGE_MS, tempStateDir, type FaultRun } from '../support/ingest-run';

const START_MS = Date.UTC(2026, 0, 1);
const SENSORS = 20;
/** Seconds of realtime ingest around an outage: it starts 8 s in and ends 12 s before publishing does. */
const RUN_S = OUTAGE_MS / 1000 + 20;
/** The raw insert after which the fault hook kills the process: a few chunks in, with more data to come. */
const KILL_AFTER_INSERT = 5;
/** Time for each test, outage and catch-up included (vitest's default is 2 minutes). */
const TEST_MS = 600_000;

/**
 * Exactly-once ingestion through an unreliable upstream, through the failure
 * of each component for the promised minute while data flows, and through a
 * crash between a raw insert and its ledger write: every point once, garbage
 * dead-lettered, lenses exact.
 */
describe('exactly-once ingest', () => {
  let harness: Harness | null = null;
  let stateDir = '';

  afterEach(async () => {
    await harness?.stop();
    harness = null;
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  async function start(name: string, env: Record<string, string> = {}): Promise<Harness> {
    stateDir = tempStateDir(name);
    harness = await Harness.start({ stateDir, freePorts: true, env });
    return harness;
  }

  async function expectExact(run: FaultRun, shape: { sensors: number; durationS: number; seed: number }): Promise<void> {
    expect(run.generated.manifest.totals.garbage).toBeGreaterThan(0);
    expectExactRun(run);
    await expectLensesExact(run.harness, { ...shape, startMs: START_MS });
  }

  /** RUN_S of realtime ingest with `component` down for OUTAGE_MS from 8 s in; then every point once and lenses exact. */
  async function ingestThroughOutage(component: Component, seed: number): Promise<void> {
    const run = await ingestThrough(
      await start(component),
      { sensors: SENSORS, durationS: RUN_S, seed, realtime: true, startMs: START_MS },
      async (h) => {
        await sleep(8_000);
        await outage(h, component, OUTAGE_MS);
      },
    );
    await expectExact(run, { sensors: SENSORS, durationS: RUN_S, seed });
  }

  test(
    'late, re-sent, reordered and garbage batches: every point once, garbage dead-lettered',
    async () => {
      const run = await ingestThrough(await start('upstream'), {
        sensors: 50,
        durationS: 60,
        seed: 11,
        realtime: false,
        startMs: START_MS,
      });
      expect(run.report.generated_points).toBe(50 * 60 * 1000);
      await expectExact(run, { sensors: 50, durationS: 60, seed: 11 });
    },
    TEST_MS,
  );

  test(
    `kill -9 of the process holding the worker and ClickHouse, down ${OUTAGE_MS / 1000} s, restarted`,
    async () => {
      await ingestThroughOutage('worker', 12);
    },
    TEST_MS,
  );

  test(
    `Kafka broker stopped for ${OUTAGE_MS / 1000} s during ingest`,
    async () => {
      await ingestThroughOutage('kafka', 13);
    },
    TEST_MS,
  );

  test(
    `Temporal dev server stopped for ${OUTAGE_MS / 1000} s during ingest`,
    async () => {
      await ingestThroughOutage('temporal', 14);
    },
    TEST_MS,
  );

  test(
    'kill -9 between a raw insert and its ledger write (HERODOTUS_FAULT), restarted without the hook',
    async () => {
      const durationS = 30;
      // Nothing is published before the stack is up, so the hook cannot fire before the service is healthy.
      const h = await start('raw-insert-crash', { HERODOTUS_FAULT: `kill-after-raw-insert:${KILL_AFTER_INSERT}` });
      const run = await ingestThrough(h, { sensors: SENSORS, durationS, seed: 15, realtime: true, startMs: START_MS }, async () => {
        expect((await h.serviceExit()).signal).toBe('SIGKILL');
        await h.startService({ env: { HERODOTUS_FAULT: '' } });
      });
      // The process died at the hook, right after that insert, and only once: the restart ran without it.
      const log = fs.readFileSync(path.join(h.infra.logDir, 'herodotus.log'), 'utf8');
      expect(log.match(/HERODOTUS_FAULT kill-after-raw-insert: SIGKILL after raw insert \d+/g)).toEqual([
        `HERODOTUS_FAULT kill-after-raw-insert: SIGKILL after raw insert ${KILL_AFTER_INSERT}`,
      ]);
      await expectExact(run, { sensors: SENSORS, durationS, seed: 15 });
    },
    TEST_MS,
  );
});
