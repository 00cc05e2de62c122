/** Steps that the end-to-end tests share: opening the page and the demo project, waiting for responses, reading heatmaps. */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect, type Page } from '@playwright/test';
import { ARTIFACTS_DIR, GUIDE_IMAGES_DIR, SERVER_URL_VARIABLE } from '../paths';

/** Test ids of the four heatmaps that every response redraws. */
export const HEATMAP_IDS = ['heatmap-token-dialled', 'heatmap-block-dialled', 'heatmap-token-distributed', 'heatmap-block-distributed'];

/** Milliseconds to wait for the quick model that the server trains at start. */
export const MODEL_TIMEOUT_MS = 200_000;

/** Returns the address of the server under test, token included. */
export function serverUrl(): string {
  const url = process.env[SERVER_URL_VARIABLE];
  if (!url) throw new Error(`${SERVER_URL_VARIABLE} is not set; run the tests with "npm run test:e2e", whose global setup starts the server`);
  return url;
}

/** Opens the workbench page of the server under test. */
export async function gotoWorkbench(page: Page): Promise<void> {
  await page.goto(serverUrl());
  await expect(page.getByRole('heading', { name: 'Localist Workbench' })).toBeVisible();
}

/** Shows the start view, from the project view if a project is open. */
export async function showStartView(page: Page): Promise<void> {
  const openDemo = page.getByRole('button', { name: 'Open Demo Project' });
  const projects = page.getByRole('button', { name: 'Projects' });
  await expect(openDemo.or(projects)).toBeVisible();
  if (await projects.isVisible()) await projects.click();
  await expect(openDemo).toBeVisible();
}

/** Opens the demo project from the start view and waits for the project view. */
export async function openDemoProject(page: Page): Promise<void> {
  await showStartView(page);
  await page.getByRole('button', { name: 'Open Demo Project' }).click();
  await expect(page.getByTestId('project-view')).toBeVisible();
}

/** Waits until the inspector's newest response is drawn in all four heatmaps. */
export async function waitForDrawnResponse(page: Page): Promise<void> {
  const inspector = page.getByTestId('inspector');
  await expect(inspector).toHaveAttribute('data-busy', 'false');
  const revision = await inspector.getAttribute('data-revision');
  expect(revision, 'the inspector has a response').not.toBeNull();
  for (const id of HEATMAP_IDS) {
    await expect(page.getByTestId(id)).toHaveAttribute('data-drawn-revision', revision!);
  }
}

/** Waits for the inspector of a trained model, then for its first drawn response. */
export async function waitForInspector(page: Page): Promise<void> {
  await expect(page.getByTestId('inspector')).toBeVisible({ timeout: MODEL_TIMEOUT_MS });
  await expect(page.getByTestId('inspector')).toHaveAttribute('data-revision', /\d+/);
  await waitForDrawnResponse(page);
}

/** Replaces the inspector's text and waits for the response to it to be drawn. */
export async function typeText(page: Page, text: string): Promise<void> {
  await page.getByTestId('inspect-text').fill(text);
  await waitForDrawnResponse(page);
}

/** Sets the dial through its numeric entry and waits for the response at that setting to be drawn. */
export async function setDial(page: Page, lambda: string): Promise<void> {
  await page.getByTestId('dial-number').fill(lambda);
  await expect(page.getByTestId('inspector')).toHaveAttribute('data-response-lambda', lambda);
  await waitForDrawnResponse(page);
}

/** Returns the values that Plotly plotted in a heatmap, [row][column]. */
export async function heatmapValues(page: Page, testId: string): Promise<number[][]> {
  return page.getByTestId(testId).evaluate((element) => {
    const plotted = (element as unknown as { data?: { z: number[][] }[] }).data;
    if (!plotted || plotted.length === 0) throw new Error('the element holds no Plotly data');
    return plotted[0].z;
  });
}

/** Returns the largest absolute difference between two matrices of equal shape. */
export function maximumDifference(first: number[][], second: number[][]): number {
  expect(second.length).toBe(first.length);
  let maximum = 0;
  first.forEach((row, rowIndex) => {
    expect(second[rowIndex].length).toBe(row.length);
    row.forEach((value, column) => {
      maximum = Math.max(maximum, Math.abs(value - second[rowIndex][column]));
    });
  });
  return maximum;
}

/**
 * Saves a full-page screenshot in e2e/artifacts. A screenshot that the user
 * guide shows is also copied to docs/images when UPDATE_GUIDE_IMAGES=1.
 */
export async function saveScreenshot(page: Page, name: string, options: { guide?: boolean } = {}): Promise<void> {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const path = join(ARTIFACTS_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  if (options.guide && process.env.UPDATE_GUIDE_IMAGES === '1') {
    mkdirSync(GUIDE_IMAGES_DIR, { recursive: true });
    copyFileSync(path, join(GUIDE_IMAGES_DIR, `${name}.png`));
  }
}

/**
 * Records every Content-Security-Policy violation of the page in
 * `window.__cspViolations`, from before the page's own scripts run.
 */
export async function recordCspViolations(page: Page): Promise<void> {
  await page.addInitScript(() => {
    // tsconfig.node.json, which checks e2e/, has no DOM library, so the page's globals are typed here.
    interface Violation {
      violatedDirective: string;
      sourceFile: string;
      lineNumber: number;
      columnNumber: number;
    }
    const page = globalThis as unknown as {
      __cspViolations: string[];
      document: { addEventListener: (type: 'securitypolicyviolation', listener: (event: Violation) => void) => void };
    };
    page.__cspViolations = [];
    page.document.addEventListener('securitypolicyviolation', (event) => {
      page.__cspViolations.push(`${event.violatedDirective} from ${event.sourceFile}:${event.lineNumber}:${event.columnNumber}`);
    });
  });
}

/** Returns the violations that `recordCspViolations` collected. */
export async function cspViolations(page: Page): Promise<string[]> {
  return page.evaluate(() => (globalThis as unknown as { __cspViolations: string[] }).__cspViolations);
}
