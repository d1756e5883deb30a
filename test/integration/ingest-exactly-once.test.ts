import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, test } from 'vitest';
import { Harness } from '../../harness/stack/harness';
import { outage } from '../../harness/scenario/faults';
import { expectExactRun, ingestThrough, tempStateDir, type FaultRun } from '../support/ingest-run';

/**
 * Exactly-once ingestion through an unreliable upstream, and through the
 * failure of each component for up to a minute while data flows.
 */
describe('exactly-once ingest', () => {
  let harness: Harness | null = null;
  let stateDir = '';

  afterEach(async () => {
    await harness?.stop();
    harness = null;
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  async function start(name: string): Promise<Harness> {
    stateDir = tempStateDir(name);
    harness = await Harness.start({ stateDir, freePorts: true });
    return harness;
  }

  function expectExact(run: FaultRun): void {
    expect(run.generated.manifest.totals.garbage).toBeGreaterThan(0);
    expectExactRun(run);
  }

  test('late, re-sent, reordered and garbage batches: every point once, garbage dead-lettered', async () => {
    const run = await ingestThrough(await start('upstream'), { sensors: 50, durationS: 60, seed: 11, realtime: false });
    expectExact(run);
    expect(run.report.generated_points).toBe(50 * 60 * 1000);
  });

  test('kill -9 of the process holding the worker and ClickHouse, twice, restarted', async () => {
    const run = await ingestThrough(await start('kill'), { sensors: 20, durationS: 45, seed: 12, realtime: true }, async (h) => {
      for (const at of [8_000, 11_000]) {
        await sleep(at);
        await outage(h, 'worker', 0);
      }
    });
    expectExact(run);
  });

  test('Kafka broker stopped for 30 s during ingest', async () => {
    const run = await ingestThrough(await start('kafka'), { sensors: 20, durationS: 50, seed: 13, realtime: true }, async (h) => {
      await sleep(8_000);
      await outage(h, 'kafka', 30_000);
    });
    expectExact(run);
  });

  test('Temporal dev server stopped for 30 s during ingest', async () => {
    const run = await ingestThrough(await start('temporal'), { sensors: 20, durationS: 50, seed: 14, realtime: true }, async (h) => {
      await sleep(8_000);
      await outage(h, 'temporal', 30_000);
    });
    expectExact(run);
  });
});
