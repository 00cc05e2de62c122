/**
 * Training benchmark: tokens per second and peak resident memory of the
 * default model (2 layers, 4 heads, width 128, context 64, 8,000 words) on
 * the Brown corpus with the demo blocks and rules, for 1 and 2 data-parallel
 * replicas. Run with `npm run bench:train`; prints the figures and the
 * backend. Options: `--steps N` (default 40), `--replicas 1,2`,
 * `--batch-size N` (sequences per step over all replicas, default 32).
 */
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEMO_BLOCKS_PATH, DEMO_RULES_PATH, readJsonFile } from '../main/engine/data';
import type { BlocksFileInput } from '../main/engine/blocks';
import { runJob } from '../main/engine/host';
import type { TrainResult } from '../main/engine/jobs';
import type { RulesFileInput } from '../main/engine/rules';
import { defaultTrainConfig } from '../main/engine/trainer';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '40' },
    replicas: { type: 'string', default: '1,2' },
    'batch-size': { type: 'string', default: '32' },
  },
});
const steps = Number(values.steps);
const batchSize = Number(values['batch-size']);
const blocks = (await readJsonFile(DEMO_BLOCKS_PATH, 'demo blocks')) as BlocksFileInput;
const rules = (await readJsonFile(DEMO_RULES_PATH, 'demo rules')) as RulesFileInput;

for (const replicas of values.replicas.split(',').map(Number)) {
  const checkpointPath = join(tmpdir(), `localist-bench-${process.pid}-${replicas}.localist`);
  let peakRss = 0;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 100);
  let rate = 0;
  const result = (await runJob(
    {
      kind: 'train',
      start: { config: defaultTrainConfig({ steps, batchSize, checkpointEvery: steps }), blocks, rules },
      checkpointPath,
      replicas,
    },
    {
      onMessage: (message) => {
        // The rate over the last 20 steps, so kernel warm-up is left out.
        if (message.type === 'progress') rate = message.tokensPerSecond;
      },
    },
  )) as TrainResult;
  clearInterval(sampler);
  rmSync(checkpointPath, { force: true });
  console.log(
    `replicas ${replicas}, batch ${batchSize}: ${rate.toFixed(0)} tokens/s over the last 20 of ${steps} steps, ` +
      `peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB, backend ${result.backend}, ${result.parameterCount} parameters`,
  );
  for (const reason of result.backendSkipped) console.log(`  skipped: ${reason}`);
}
