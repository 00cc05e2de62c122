/**
 * States that the real server reaches slowly or only on failure: training
 * progress step by step, its cancel, and an error of `inspect`. The page is
 * the one `localist serve` serves, but `window.api` is replaced by the fake
 * in support/fake-workbench-api.ts before the page's scripts run, and the
 * page uses `window.api` when it exists, as under Electron.
 */
import { expect, test, type Page } from '@playwright/test';
import { installFakeWorkbenchApi, type FakeApiOptions } from './support/fake-workbench-api';
import { gotoWorkbench, saveScreenshot, waitForInspector } from './support/workbench-page';

async function openWithFake(page: Page, options: FakeApiOptions): Promise<void> {
  // Serialized by hand, because Playwright's typing of a script argument recurses too deep on ApiError's JSON details.
  await page.addInitScript({ content: `(${installFakeWorkbenchApi.toString()})(${JSON.stringify(options)});` });
  await gotoWorkbench(page);
  await page.getByRole('button', { name: 'Open Demo Project' }).click();
  await expect(page.getByTestId('project-view')).toBeVisible();
}

test('training progress and cancel', async ({ page }) => {
  await openWithFake(page, { hasModel: false, inspectError: null, trainingSteps: 400, stepIntervalMs: 50 });
  await page.getByRole('button', { name: 'Train the demo model' }).click();

  const progress = page.getByTestId('training-progress');
  await expect(progress).toBeVisible();
  await expect.poll(async () => Number(await progress.getAttribute('value'))).toBeGreaterThanOrEqual(5);
  await expect(page.getByTestId('training-facts')).toContainText(/step \d+ of 400, loss \d+\.\d{3} nats, about \d+ s left/);
  await expect(page.getByTestId('status-training')).toContainText('running');
  await saveScreenshot(page, 'training-progress-fake');

  await page.getByRole('button', { name: 'Cancel training' }).click();
  await expect(page.getByText('Training was cancelled before it saved a checkpoint')).toBeVisible();
  await expect(page.getByTestId('status-training')).toHaveText('Training: cancelled');
});

test('quick training opens inspector', async ({ page }) => {
  await openWithFake(page, { hasModel: false, inspectError: null, trainingSteps: 5, stepIntervalMs: 50 });
  await page.getByRole('button', { name: 'Quick training' }).click();
  await waitForInspector(page);
  await expect(page.getByTestId('training-panel')).toHaveCount(0);

  // A project with a model can still train again, from the collapsed panel under the inspector.
  await page.getByText('Train a new model').click();
  await page.getByRole('button', { name: 'Quick training again' }).click();
  await expect(page.getByTestId('training-panel')).toBeVisible();
  await expect(page.getByTestId('retrain-panel')).toHaveCount(0);
  await waitForInspector(page);
  await expect(page.getByTestId('retrain-panel')).toBeVisible();
});

test('inspect error is shown', async ({ page }) => {
  const error = { code: 'unavailable' as const, message: 'the engine worker stopped; restart the workbench', details: { worker: 'engine' } };
  await openWithFake(page, { hasModel: true, inspectError: error, trainingSteps: 5, stepIntervalMs: 50 });

  const alert = page.getByRole('alert');
  await expect(alert).toBeVisible();
  await expect(alert).toContainText('Service unavailable');
  await expect(alert).toContainText(error.message);
  await expect(alert).toContainText('worker');
  await expect(alert).toContainText('Error code: unavailable');
  await expect(page.getByTestId('pane-dialled')).toHaveCount(0);
});
