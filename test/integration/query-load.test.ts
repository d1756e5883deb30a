import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PROJECT_ROOT } from '../../lib/config/config';
import { runUserLoad } from '../../harness/load/users';
import { waitFor } from '../../harness/stack/child';
import { Harness } from '../../harness/stack/harness';
import { tempStateDir } from '../support/ingest-run';

const FROM = Date.UTC(2025, 8, 1, 22, 0, 0);
const TO = FROM + 3 * 3_600_000; // crosses midnight

/** Virtual users zooming and panning over back-filled data: no errors, every checked lens exact. */
describe('query load', () => {
  let harness: Harness;
  let stateDir: string;

  beforeAll(async () => {
    stateDir = tempStateDir('query-load');
    harness = await Harness.start({ stateDir, freePorts: true });
    const base = harness.api.baseUrl;
    const res = await fetch(`${base}/v1/backfill`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'generate', sensors: [1, 2, 3], from: FROM, to: TO, rate_hz: 100, seed: 5 }),
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    await waitFor(async () => ((await (await fetch(`${base}/v1/backfill/${id}`)).json()) as { state: string }).state === 'completed', {
      timeoutMs: 240_000,
      intervalMs: 500,
      what: 'the backfill',
    });
  });

  afterAll(async () => {
    await harness?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  test('users explore for 10 s with every answer checked against raw', async () => {
    const report = await runUserLoad({ baseUrl: harness.api.baseUrl, users: 20, durationS: 10, thinkMs: 200, verifyFraction: 1, seed: 3 });
    expect(report.sensors_available).toBe(3);
    expect(report.requests).toBeGreaterThan(0);
    expect(report.errors, JSON.stringify(report.error_examples)).toBe(0);
    expect(report.verified).toBe(report.requests);
    expect(report.verify_unsettled).toBe(0);
    expect(report.mismatches, JSON.stringify(report.mismatch_examples)).toBe(0);
    expect(report.by_action.open).toBeGreaterThan(0);
    expect((report.by_action.zoom_in ?? 0) + (report.by_action.pan ?? 0) + (report.by_action.zoom_out ?? 0)).toBeGreaterThan(0);
    expect(report.latency_ms.p50).toBeGreaterThan(0);
    expect(report.latency_ms.max).toBeGreaterThanOrEqual(report.latency_ms.p99);
  });

  test('the CLI ends stdout with the JSON report and counts HTTP errors by status', async () => {
    const run = (args: string[]) =>
      promisify(execFile)(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'herodotus.mjs'), 'query-load', ...args], {
        cwd: PROJECT_ROOT,
        timeout: 60_000,
      }).catch((err: { stdout: string; code: number }) => ({ stdout: err.stdout, code: err.code }));
    const ok = await run([
      '--users',
      '3',
      '--duration',
      '2',
      '--think',
      '100',
      '--verify-fraction',
      '0.5',
      '--api',
      harness.api.baseUrl,
      '--json',
    ]);
    const report = JSON.parse(ok.stdout.trim().split('\n').at(-1)!);
    expect(report.requests).toBeGreaterThan(0);
    expect(report.errors).toBe(0);
    expect(report.mismatches).toBe(0);
    // A wrong API path answers 404 for /v1/sensors: the command fails and says why.
    const bad = await run(['--users', '1', '--duration', '1', '--api', `${harness.api.baseUrl}/nope`, '--json']);
    expect((bad as { code?: number }).code).not.toBe(0);
  });
});
