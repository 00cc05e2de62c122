import { defineConfig } from 'vitest/config';

/**
 * Unit tests of the renderer's pure modules, which run in Node without a
 * DOM: `npx vitest run --config renderer/vitest.config.ts`. The views
 * themselves are tested in a browser by the Playwright tests in e2e/.
 */
export default defineConfig({
  root: import.meta.dirname,
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
