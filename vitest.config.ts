import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Real servers and child processes: generous but bounded.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: files run in parallel on forks, tests inside a file run in order.
    pool: 'forks',
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
