import type { SerializedError } from 'vitest';
import type { Reporter, TestModule } from 'vitest/node';

/**
 * Ends the run with one plain line that any CI log reader understands:
 * `tests: N passed, N failed, N skipped`, plus the files that failed outside any
 * test (a `beforeAll` that threw skips its tests, which must not read as a pass)
 * and errors no test caught.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<SerializedError>): void {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    const failedFiles: string[] = [];
    for (const m of testModules) {
      for (const t of m.children.allTests()) {
        const state = t.result().state;
        if (state === 'passed') counts.passed++;
        else if (state === 'failed') counts.failed++;
        else counts.skipped++;
      }
      if (m.errors().length > 0) failedFiles.push(m.relativeModuleId);
    }
    const extra = [
      failedFiles.length ? `, ${failedFiles.length} file(s) failed outside tests (${failedFiles.join(', ')})` : '',
      unhandledErrors.length ? `, ${unhandledErrors.length} unhandled error(s)` : '',
    ].join('');
    process.stdout.write(`\ntests: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped${extra}\n`);
  }
}
