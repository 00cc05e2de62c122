import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{main,preload,common,renderer,bench,bin,tools}/**/*.test.ts'],
    // e2e/ contains Playwright tests, which run in a browser under Playwright's own runner.
    exclude: ['**/node_modules/**', 'out/**', 'e2e/**'],
    environment: 'node',
    // Training tests run real optimisation steps on the CPU, so each test may
    // take 2 minutes instead of Vitest's default of 5 seconds.
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // Child processes instead of worker threads, which is also Vitest 4's
    // default. Vitest's pool documentation advises `forks` for native modules
    // such as better-sqlite3.
    pool: 'forks',
  },
});
