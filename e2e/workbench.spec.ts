/**
 * The workbench page against a real `localist serve` with the demo project
 * and a quick model. Every test also fails on a Content-Security-Policy
 * violation, because the page must run under its strict policy.
 */
import { expect, test } from '@playwright/test';
import {
  cspViolations,
  gotoWorkbench,
  heatmapValues,
  maximumDifference,
  openDemoProject,
  recordCspViolations,
  saveScreenshot,
  setDial,
  showStartView,
  typeText,
  waitForDrawnResponse,
  waitForInspector,
} from './support/workbench-page';

/**
 * A text on which two demo rules are active: "paid" after money words
 * (payment-to-money) and "evidence" after law words (proceedings-to-law).
 */
const SAMPLE_TEXT = 'the court heard that the county owed money for taxes and paid the bill before the jury saw the evidence';

test.beforeEach(async ({ page }) => {
  await recordCspViolations(page);
});

test.afterEach(async ({ page }) => {
  expect(await cspViolations(page), 'Content-Security-Policy violations').toEqual([]);
});

test('start view opens demo project', async ({ page }) => {
  await gotoWorkbench(page);
  await showStartView(page);
  await expect(page.getByRole('heading', { name: 'Recent projects' })).toBeVisible();
  await saveScreenshot(page, 'start-view', { guide: true });

  await page.getByRole('button', { name: 'Open Demo Project' }).click();
  await expect(page.getByTestId('project-view')).toBeVisible();
  await expect(page.getByTestId('status-project')).not.toHaveText('Project: none open');
  await expect(page.getByTestId('status-backend')).toContainText('Backend:');
});

test('inspector shows typed text', async ({ page }) => {
  await gotoWorkbench(page);
  await openDemoProject(page);
  await waitForInspector(page);

  await typeText(page, SAMPLE_TEXT);

  for (const paneId of ['dialled', 'distributed']) {
    await expect(page.getByTestId(`pane-${paneId}`)).toBeVisible();
    await expect(page.getByTestId(`predictions-${paneId}`).locator('tbody tr')).not.toHaveCount(0);
    await expect(page.getByTestId(`summary-${paneId}-entropy`)).toContainText('bits');
  }
  const tokens = await page.getByTestId('heatmap-token-dialled').evaluate(
    (element) => (element as unknown as { layout: { xaxis: { ticktext: string[] } } }).layout.xaxis.ticktext,
  );
  // The engine may put a document separator before the text's own tokens.
  const words = SAMPLE_TEXT.split(' ');
  expect(tokens.slice(-words.length)).toEqual(words);
  const values = await heatmapValues(page, 'heatmap-token-dialled');
  expect(values.length).toBe(tokens.length);
  await saveScreenshot(page, 'inspector', { guide: true });
});

test('dial changes dialled pane only', async ({ page }) => {
  await gotoWorkbench(page);
  await openDemoProject(page);
  await waitForInspector(page);
  await typeText(page, SAMPLE_TEXT);

  await setDial(page, '1.00');
  await expect(page.getByTestId('pane-dialled').getByRole('heading', { level: 3 })).toHaveText('Dialled, λ = 1.00');
  const tokenAtOne = await heatmapValues(page, 'heatmap-token-dialled');
  const blockAtOne = await heatmapValues(page, 'heatmap-block-dialled');
  const distributedAtOne = await heatmapValues(page, 'heatmap-token-distributed');
  const fidelityAtOne = Number(await page.getByTestId('summary-dialled-fidelity').textContent());
  const fidelityAtZero = Number(await page.getByTestId('summary-distributed-fidelity').textContent());
  expect(fidelityAtOne, 'the dial pulls attention onto rule targets').toBeGreaterThan(fidelityAtZero);
  for (const id of ['heatmap-token-dialled', 'heatmap-token-distributed', 'heatmap-block-dialled']) {
    const shapes = await page.getByTestId(id).evaluate((element) => (element as unknown as { layout: { shapes: unknown[] } }).layout.shapes);
    expect(shapes.length, `rule targets are outlined in ${id}`).toBe(2);
  }

  await setDial(page, '0.00');
  const tokenAtZero = await heatmapValues(page, 'heatmap-token-dialled');
  const blockAtZero = await heatmapValues(page, 'heatmap-block-dialled');
  const distributedAtZero = await heatmapValues(page, 'heatmap-token-distributed');

  expect(maximumDifference(tokenAtOne, tokenAtZero), 'dialled token attention moves with the dial').toBeGreaterThan(0.01);
  expect(maximumDifference(blockAtOne, blockAtZero), 'dialled block mass moves with the dial').toBeGreaterThan(0.01);
  expect(maximumDifference(distributedAtOne, distributedAtZero), 'the lambda 0 pane ignores the dial').toBeLessThan(1e-6);
  expect(maximumDifference(tokenAtZero, distributedAtZero), 'at lambda 0 both panes agree').toBeLessThan(1e-4);
});

test('empty text marks panes stale', async ({ page }) => {
  await gotoWorkbench(page);
  await openDemoProject(page);
  await waitForInspector(page);
  await expect(page.getByTestId('stale-note')).toHaveCount(0);

  await page.getByTestId('inspect-text').fill('');
  await expect(page.getByText('Type a text to run the model on it.')).toBeVisible();
  await expect(page.getByTestId('stale-note')).toBeVisible();

  await typeText(page, SAMPLE_TEXT);
  await waitForInspector(page);
  await expect(page.getByTestId('stale-note')).toHaveCount(0);
});

test('panes share colour range', async ({ page }) => {
  await gotoWorkbench(page);
  await openDemoProject(page);
  await waitForInspector(page);
  await setDial(page, '0.90');

  for (const kind of ['token', 'block']) {
    const ranges = await Promise.all(
      ['dialled', 'distributed'].map((paneId) =>
        page.getByTestId(`heatmap-${kind}-${paneId}`).evaluate((element) => {
          const trace = (element as unknown as { data: { zmin: number; zmax: number; colorscale: unknown }[] }).data[0];
          return { zmin: trace.zmin, zmax: trace.zmax, colorscale: trace.colorscale };
        }),
      ),
    );
    expect(ranges[0], `${kind} heatmaps share one scale`).toEqual(ranges[1]);
    expect(ranges[0].colorscale).toBe('Viridis');
    // The token scale leaves out the first query row, which can attend only to itself.
    const rows = async (paneId: string) => {
      const matrix = await heatmapValues(page, `heatmap-${kind}-${paneId}`);
      return kind === 'token' ? matrix.slice(1) : matrix;
    };
    const plotted = [...(await rows('dialled')), ...(await rows('distributed'))].flat();
    expect(ranges[0].zmax).toBeCloseTo(Math.max(...plotted), 9);
  }
});

test('slider keyboard steps', async ({ page }) => {
  await gotoWorkbench(page);
  await openDemoProject(page);
  await waitForInspector(page);
  await setDial(page, '0.50');
  const latenciesBefore = await page.evaluate(() => (globalThis as unknown as { __dialLatencies: number[] }).__dialLatencies.length);

  const slider = page.getByTestId('dial-slider');
  const number = page.getByTestId('dial-number');
  await slider.focus();
  const steps: [key: string, expected: string][] = [
    ['ArrowRight', '0.51'],
    ['ArrowLeft', '0.50'],
    ['ArrowDown', '0.49'],
    ['ArrowUp', '0.50'],
    ['PageUp', '0.60'],
    ['PageDown', '0.50'],
    ['Home', '0.00'],
    ['End', '1.00'],
  ];
  for (const [key, expected] of steps) {
    await page.keyboard.press(key);
    await expect(slider, `after ${key}`).toHaveAttribute('aria-valuetext', `lambda ${expected}`);
    await expect(number, `after ${key}`).toHaveValue(expected);
  }

  await expect(page.getByTestId('inspector')).toHaveAttribute('data-response-lambda', '1.00');
  await waitForDrawnResponse(page);
  const latencies = await page.evaluate(() => (globalThis as unknown as { __dialLatencies: number[] }).__dialLatencies);
  expect(latencies.length, 'a dial latency was recorded').toBeGreaterThan(latenciesBefore);
  expect(latencies.every((latency) => latency > 0)).toBe(true);
});

test('dial drag redraws while moving', async ({ page }) => {
  await gotoWorkbench(page);
  await openDemoProject(page);
  await waitForInspector(page);
  await setDial(page, '0.00');
  const readLatencies = () => page.evaluate(() => (globalThis as unknown as { __dialLatencies: number[] }).__dialLatencies.length);
  const before = await readLatencies();

  // About 1.5 s of dragging from the left end to the right end, one step every 25 ms.
  const box = (await page.getByTestId('dial-slider').boundingBox())!;
  const y = box.y + box.height / 2;
  await page.mouse.move(box.x + 2, y);
  await page.mouse.down();
  for (let step = 1; step <= 60; step += 1) {
    await page.mouse.move(box.x + 2 + ((box.width - 4) * step) / 60, y);
    await page.waitForTimeout(25);
  }
  const redrawsWhileDragging = (await readLatencies()) - before;
  await page.mouse.up();

  expect(redrawsWhileDragging, 'the panes follow the dial during the drag').toBeGreaterThanOrEqual(1);
  await expect(page.getByTestId('dial-number')).toHaveValue('1.00');
  await expect(page.getByTestId('inspector')).toHaveAttribute('data-response-lambda', '1.00');
  await waitForDrawnResponse(page);
});

test('keyboard reaches dial with visible focus', async ({ page }) => {
  await gotoWorkbench(page);
  await openDemoProject(page);
  await waitForInspector(page);

  let reached = false;
  for (let press = 0; press < 30 && !reached; press += 1) {
    await page.keyboard.press('Tab');
    reached = await page.getByTestId('dial-slider').evaluate((element) => element === element.ownerDocument.activeElement);
  }
  expect(reached, 'Tab reaches the dial slider').toBe(true);
  const outline = await page.getByTestId('dial-slider').evaluate((element) => {
    const style = element.ownerDocument.defaultView!.getComputedStyle(element);
    return { style: style.outlineStyle, width: style.outlineWidth };
  });
  expect(outline.style).not.toBe('none');
  expect(outline.width).not.toBe('0px');
});

test('pinned example survives reload', async ({ page }) => {
  const text = `the court paid the jury on day ${Date.now() % 100000}`;
  await gotoWorkbench(page);
  await openDemoProject(page);
  await waitForInspector(page);

  await page.getByTestId('inspect-text').fill(text);
  await page.getByRole('button', { name: 'Pin this text' }).click();
  const pinned = page.getByTestId('reference-examples').getByText(text, { exact: true });
  await expect(pinned).toBeVisible();
  await expect(page.getByRole('button', { name: 'Pinned', exact: true })).toBeDisabled();

  await page.reload();
  await waitForInspector(page);
  await expect(pinned).toBeVisible();
  await page.getByRole('button', { name: `Inspect pinned text: ${text}` }).click();
  await expect(page.getByTestId('inspect-text')).toHaveValue(text);

  await page.getByRole('button', { name: `Unpin: ${text}` }).click();
  await expect(pinned).toHaveCount(0);
});

test('theme toggle is remembered', async ({ page }) => {
  await gotoWorkbench(page);
  const root = page.locator('html');
  await expect(root).toHaveAttribute('data-theme', 'light');

  const toggle = page.getByTestId('theme-toggle');
  await toggle.click();
  await expect(root).toHaveAttribute('data-theme', 'dark');
  await expect(toggle).toHaveAttribute('aria-pressed', 'true');

  await page.reload();
  await expect(root).toHaveAttribute('data-theme', 'dark');
  await openDemoProject(page);
  await waitForInspector(page);
  await saveScreenshot(page, 'inspector-dark', { guide: true });

  await page.getByTestId('theme-toggle').click();
  await expect(root).toHaveAttribute('data-theme', 'light');
});

test.describe('with a dark system theme', () => {
  test.use({ colorScheme: 'dark' });

  test('first start follows system theme', async ({ page }) => {
    await gotoWorkbench(page);
    await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  });
});

test('missing project folder shows error', async ({ page }) => {
  await gotoWorkbench(page);
  await showStartView(page);
  const form = page.getByRole('form', { name: 'Open a project' });
  await form.getByLabel('Project folder').fill('/nonexistent/localist-e2e-project');
  await form.getByRole('button', { name: 'Open project' }).click();

  const alert = page.getByRole('alert');
  await expect(alert).toBeVisible();
  await expect(alert).toContainText('/nonexistent/localist-e2e-project');
  await expect(alert).toContainText('Error code: not-found');
});

test('new project trains and cancels', async ({ page }, testInfo) => {
  const folder = testInfo.outputPath('empty-project');
  await gotoWorkbench(page);
  await showStartView(page);
  const form = page.getByRole('form', { name: 'Create a project' });
  await form.getByLabel('Name').fill('Empty e2e project');
  await form.getByLabel('Folder').fill(folder);
  await form.getByRole('button', { name: 'Create project' }).click();

  await expect(page.getByTestId('training-panel')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Train the demo model' })).toBeVisible();
  await expect(page.getByTestId('status-model')).toHaveText('Model: none');
  await saveScreenshot(page, 'no-model', { guide: true });

  await page.getByRole('button', { name: 'Quick training' }).click();
  const progress = page.getByTestId('training-progress');
  await expect(progress).toBeVisible();
  await expect(page.getByTestId('training-facts')).toContainText(/step \d+ of \d+, loss \d+\.\d{3} nats/, { timeout: 120_000 });
  await expect(page.getByTestId('status-training')).toContainText('running');
  await saveScreenshot(page, 'training-progress', { guide: true });

  await page.getByRole('button', { name: 'Cancel training' }).click();
  await expect(page.getByTestId('status-training')).toHaveText('Training: cancelled', { timeout: 60_000 });
  // A checkpoint saved at the last finished step becomes the model. Without one, the panel shows a message.
  await expect(page.getByTestId('inspector').or(page.getByText('Training was cancelled before it saved a checkpoint'))).toBeVisible();

  // The demo project is among the recent projects; reopening it leaves the server as the other tests expect.
  await showStartView(page);
  await expect(page.getByRole('list', { name: 'Recent projects' }).getByText('Empty e2e project')).toBeVisible();
  await page.getByRole('button', { name: 'Open Demo Project' }).click();
  await expect(page.getByTestId('inspector')).toBeVisible();
});
