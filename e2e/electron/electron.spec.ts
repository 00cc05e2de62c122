/**
 * The workbench in Electron: the window, the preload's `window.api` and the
 * IPC handlers, driven by Playwright's Electron launcher. Where the Electron
 * binary was not downloaded, as on this project's CI machines, every test
 * is skipped with the reason.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { _electron as electron, expect, test, type ElectronApplication, type Page } from '@playwright/test';
import { saveScreenshot } from '../support/workbench-page';
import { findElectronBinary } from './electron-binary';

const binary = findElectronBinary();
const MAIN_SCRIPT = resolve(import.meta.dirname, '../../out/main/index.js');
/** Environment variable of the folder with the recent-projects database and the demo project, as in main/services/project-store.ts. */
const DATA_DIR_VARIABLE = 'LOCALIST_DATA_DIR';

test.skip('missing' in binary, 'missing' in binary ? `no Electron binary, so the Electron tests are skipped: ${binary.missing}` : '');

let application: ElectronApplication;
let window: Page;
let dataDir: string;

test.beforeAll(async () => {
  if (!('path' in binary)) return;
  dataDir = mkdtempSync(join(tmpdir(), 'localist-electron-e2e-'));
  application = await electron.launch({
    executablePath: binary.path,
    args: [MAIN_SCRIPT],
    env: { ...process.env, [DATA_DIR_VARIABLE]: dataDir },
  });
  window = await application.firstWindow();
});

test.afterAll(async () => {
  await application?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

test('window exposes api bridge', async () => {
  const operations = await window.evaluate(() => Object.keys((globalThis as unknown as { api: object }).api));
  expect(operations).toContain('inspect');
  expect(operations).toContain('subscribe');
});

test('demo project opens in window', async () => {
  await expect(window.getByRole('heading', { name: 'Localist Workbench' })).toBeVisible();
  const projects = window.getByRole('button', { name: 'Projects' });
  if (await projects.isVisible()) await projects.click();
  await window.getByRole('button', { name: 'Open Demo Project' }).click();
  await expect(window.getByTestId('project-view')).toBeVisible();
  await expect(window.getByTestId('training-panel').or(window.getByTestId('inspector'))).toBeVisible();
  await saveScreenshot(window, 'electron-project');
});
