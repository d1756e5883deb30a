import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import type { FaultRun } from '../../harness/scenario/faults';

export { ingestThrough, type FaultRun } from '../../harness/scenario/faults';

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
