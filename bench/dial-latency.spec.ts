/**
 * Dial latency: the time from the slider's input event until all four
 * heatmaps are redrawn with the response to it, on a text that fills the
 * 64-token context. Run it with `npm run bench:dial` after `npm run build`.
 * It starts `localist serve` as the end-to-end tests do, and prints p50 and
 * p95 over 30 slider clicks, with the inspect request's share. Each click
 * waits until the dial rests and every response is drawn, so each one
 * records one latency from rest, never queued behind another request.
 */
import { expect, test } from '@playwright/test';
import { gotoWorkbench, openDemoProject, typeText, waitForDrawnResponse, waitForInspector } from '../e2e/support/workbench-page';

const MOVES = 30;
const CONTEXT_TOKENS = 64;

/** 80 words, so that the last 64-token window is full whatever the tokenizer does with punctuation. */
const LONG_TEXT = [
  'the jury said the county paid the money to the court after the trial and the judge asked the city to pay',
  'the family of the man who sold the house for cash said the bank would lend the money at a low rate while the',
  'lawyers for the state argued that the law gave the court the power to fine the company for the tax it had not',
  'paid in the year before the election of the new mayor',
].join(' ');

/** Returns the value at quantile `q` of sorted `values`, by the nearest-rank method. */
function quantile(sorted: number[], q: number): number {
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1];
}

test('dial latency over 30 moves', async ({ page }, testInfo) => {
  await gotoWorkbench(page);
  await openDemoProject(page);
  await waitForInspector(page);
  await typeText(page, LONG_TEXT);
  const tokens = await page.getByTestId('heatmap-token-dialled').evaluate(
    (element) => (element as unknown as { data: { z: number[][] }[] }).data[0].z.length,
  );
  expect(tokens, 'the text fills the context').toBe(CONTEXT_TOKENS);

  const slider = page.getByTestId('dial-slider');
  const box = (await slider.boundingBox())!;
  const readLatencies = () => page.evaluate(() => (globalThis as unknown as { __dialLatencies: number[] }).__dialLatencies.slice());
  // Resource timing of the HTTP transport's inspect calls, in milliseconds: the server's share of a latency.
  const readInspectDurations = () =>
    page.evaluate(() => {
      const timing = globalThis as unknown as { performance: { getEntriesByType: (type: string) => { name: string; duration: number }[] } };
      return timing.performance
        .getEntriesByType('resource')
        .filter((entry) => entry.name.endsWith('/api/inspect'))
        .map((entry) => entry.duration);
    });
  const before = (await readLatencies()).length;
  const requests: number[] = [];

  for (let move = 0; move < MOVES; move += 1) {
    const requestsBefore = (await readInspectDurations()).length;
    // Alternates between the left third (0.10 to 0.38) and the right third (0.62 to 0.90), so that every click changes the value.
    const share = move % 2 === 0 ? 0.1 + 0.01 * move : 0.9 - 0.01 * move;
    await page.mouse.click(box.x + box.width * share, box.y + box.height / 2);
    await expect.poll(async () => (await readLatencies()).length).toBe(before + move + 1);
    // The first request after the click is the moving dial's; the one with full continuations follows when the dial rests.
    requests.push((await readInspectDurations())[requestsBefore]);
    await waitForDrawnResponse(page);
  }

  const latencies = (await readLatencies()).slice(before);
  const sorted = [...latencies].sort((a, b) => a - b);
  const sortedRequests = [...requests].sort((a, b) => a - b);
  const summary = {
    moves: latencies.length,
    tokens,
    p50Milliseconds: Math.round(quantile(sorted, 0.5)),
    p95Milliseconds: Math.round(quantile(sorted, 0.95)),
    maxMilliseconds: Math.round(sorted[sorted.length - 1]),
    inspectRequestP50Milliseconds: Math.round(quantile(sortedRequests, 0.5)),
    backend: (await page.getByTestId('status-backend').textContent())?.replace('Backend: ', ''),
  };
  console.log(
    `dial latency over ${summary.moves} moves on ${tokens} tokens (${summary.backend}): ` +
      `p50 ${summary.p50Milliseconds} ms, p95 ${summary.p95Milliseconds} ms, max ${summary.maxMilliseconds} ms; ` +
      `of which the inspect request: p50 ${summary.inspectRequestP50Milliseconds} ms`,
  );
  await testInfo.attach('dial-latency.json', {
    body: JSON.stringify({ ...summary, latencies, inspectRequests: requests }, null, 2),
    contentType: 'application/json',
  });
});
