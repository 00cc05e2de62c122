import { defineConfig } from '@playwright/test';
import { CHROMIUM_FLAGS, CHROMIUM_PATH } from './e2e/chromium';

/**
 * End-to-end tests of the workbench page served by `localist serve`
 * (project "chromium"), the same tests in Electron where its binary exists
 * (project "electron"), and the dial-latency benchmark (project "bench",
 * run by `npm run bench:dial`). The global setup starts one server for all
 * of them; see e2e/global-setup.ts.
 */
export default defineConfig({
  globalSetup: './e2e/global-setup.ts',
  outputDir: './e2e/test-results',
  // The tests share one server and its open project, so they run one at a time.
  workers: 1,
  fullyParallel: false,
  // A test may wait for the quick model that the server trains at start.
  timeout: 240_000,
  expect: { timeout: 30_000 },
  reporter: [['list'], ['./e2e/skip-reasons-reporter.ts']],
  use: {
    headless: true,
    viewport: { width: 1400, height: 1000 },
    launchOptions: { executablePath: CHROMIUM_PATH, args: CHROMIUM_FLAGS },
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
  projects: [
    { name: 'chromium', testDir: './e2e', testIgnore: ['electron/**'] },
    { name: 'electron', testDir: './e2e/electron' },
    { name: 'bench', testDir: './bench', testMatch: 'dial-latency.spec.ts' },
  ],
});
