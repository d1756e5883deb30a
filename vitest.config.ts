import { defineConfig } from 'vitest/config';

// Integration tests share one Kafka broker and one Temporal dev server on a
// 2-core machine, so files run one after another.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 300_000,
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
