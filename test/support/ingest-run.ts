import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import type { FaultRun } from '../../harness/scenario/faults';
import type { Harness } from '../../harness/stack/harness';
import { checkRandomLenses } from '../../harness/verify/lens-check';

export { ingestThrough, OUTAGE_MS, type FaultRun } from '../../harness/scenario/faults';

export function tempStateDir(name: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `herodotus-${name}-`));
}

/** A fault run stored every generated point once (late and re-sent ones included) and dead-lettered exactly the garbage. */
export function expectExactRun(run: FaultRun): void {
  const { report, generated } = run;
  const t = generated.manifest.totals;
  expect(t.late).toBeGreaterThan(0);
  expect(t.resent).toBeGreaterThan(0);
  expect(report.mismatched_sensors).toEqual([]);
  expect(report.lost_points).toBe(0);
  expect(report.duplicate_points).toBe(0);
  expect(report.unexpected_points).toBe(0);
  expect(report.stored_points).toBe(t.generated_points);
  expect(report.dlq_records).toBe(t.garbage);
}

/** 40 random lenses over sensors 1..`sensors` and the run's span, each equal to the same buckets aggregated from raw. */
export async function expectLensesExact(
  h: Harness,
  run: { sensors: number; startMs: number; durationS: number; seed: number },
): Promise<void> {
  const report = await checkRandomLenses(h.api.baseUrl, {
    sensors: Array.from({ length: run.sensors }, (_, i) => i + 1),
    dataFrom: run.startMs,
    dataTo: run.startMs + run.durationS * 1000,
    count: 40,
    seed: run.seed,
  });
  expect(report.examples).toEqual([]);
  expect(report.lens_mismatches).toBe(0);
}
