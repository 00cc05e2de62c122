/**
 * Inspector latency benchmark: the time `EngineSession.inspect` takes to
 * return as the locality dial moves through 30 values from 0 to 1 on a
 * 64-token text, as a user dragging the dial in the workbench would cause.
 * Prints the p50 and p95 milliseconds, measured at the caller (round trip
 * through the worker) and inside the engine, and the backend. The first
 * request, which starts the worker and loads the model, is timed on its own
 * and left out of the percentiles.
 *
 * Run with `npx tsx bench/inspect-latency.ts [CHECKPOINT]` (default
 * runs/demo.localist, which `npm run demo` writes). Options:
 * `--continuation N` tokens per continuation (default 16), `--values N`
 * dial values (default 30).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { InspectRequest } from '../common/api';
import { EngineSession } from '../main/engine/engine-session';
import { splitWords } from '../main/engine/tokenizer';
import type { InspectEngine } from '../main/services/types';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    continuation: { type: 'string', default: '16' },
    values: { type: 'string', default: '30' },
  },
});
const checkpoint = resolve(positionals[0] ?? 'runs/demo.localist');
if (!existsSync(checkpoint)) {
  console.error(`checkpoint "${checkpoint}" not found; run "npm run demo" first, or pass a checkpoint path`);
  process.exit(2);
}
const continuationTokens = Number(values.continuation);
const dialValues = Number(values.values);
if (!Number.isInteger(dialValues) || dialValues < 2) {
  console.error(`--values ${values.values} is invalid; use an integer of at least 2`);
  process.exit(2);
}

// Written for this benchmark: it touches the demo's money, law, family and
// time blocks and triggers its payment and legal-proceedings rules.
const PASSAGE =
  'On Monday the jury said that the father had paid two hundred dollars to the court , and his mother told the judge ' +
  'that the family spent the money on the house . The judge ruled that the case would go to appeal , and the lawyer ' +
  'said the price of the house was more than the bank would pay for it in the city that year .';
const TEXT_TOKENS = 64;
const words = PASSAGE.split(' ');
let end = words.length;
while (splitWords(words.slice(0, end).join(' ')).length > TEXT_TOKENS) end--;
const text = words.slice(0, end).join(' ');
if (splitWords(text).length !== TEXT_TOKENS) throw new Error(`benchmark text has ${splitWords(text).length} tokens instead of ${TEXT_TOKENS}`);

function percentile(sorted: number[], share: number): number {
  // Nearest-rank percentile.
  return sorted[Math.max(0, Math.ceil(share * sorted.length) - 1)];
}

const session = new EngineSession();
// Typed as the services' interface, so that a change to it that the session does not follow fails the typecheck.
const engine: InspectEngine = session;
const request = (lambda: number): InspectRequest => ({
  text,
  lambda,
  selection: { layer: 'mean', head: 'mean' },
  seed: 1,
  continuationTokens,
});

try {
  const backend = await engine.backend();
  let started = performance.now();
  await engine.inspect(checkpoint, request(0.5));
  const firstMs = performance.now() - started;

  const roundTrips: number[] = [];
  const engineTimes: number[] = [];
  for (let index = 0; index < dialValues; index++) {
    const lambda = index / (dialValues - 1);
    started = performance.now();
    const response = await engine.inspect(checkpoint, request(lambda));
    roundTrips.push(performance.now() - started);
    engineTimes.push(response.elapsedMs);
  }
  roundTrips.sort((a, b) => a - b);
  engineTimes.sort((a, b) => a - b);

  console.log(`checkpoint ${checkpoint}`);
  console.log(`backend ${backend.name}`);
  for (const reason of backend.skipped) console.log(`  skipped: ${reason}`);
  console.log(`text of ${TEXT_TOKENS} tokens, ${continuationTokens} tokens per continuation, ${dialValues} dial values from 0 to 1, selection mean over layers and heads`);
  console.log(`first request (starts the worker, loads the model): ${firstMs.toFixed(0)} ms`);
  console.log(`round trip: p50 ${percentile(roundTrips, 0.5).toFixed(1)} ms, p95 ${percentile(roundTrips, 0.95).toFixed(1)} ms`);
  console.log(`engine:     p50 ${percentile(engineTimes, 0.5).toFixed(1)} ms, p95 ${percentile(engineTimes, 0.95).toFixed(1)} ms`);
} finally {
  await engine.dispose();
}
