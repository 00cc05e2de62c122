/**
 * Demo benchmark: runs `localist demo --json` as the README's first command
 * does and prints its wall-clock time, the training figures and the test
 * perplexities of the model at lambda 0 and of the interpolated bigram
 * baseline. The demo is meant to finish in under 10 minutes on a 2-core
 * machine with the model's perplexity below the bigram's.
 * Run with `npm run bench:demo`.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../bin/localist.mjs', import.meta.url));
const started = performance.now();
const child = spawnSync(process.execPath, [cli, 'demo', '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 * 2 ** 20 });
const seconds = (performance.now() - started) / 1000;
if (child.status !== 0) {
  console.error(`localist demo failed with exit code ${child.status}`);
  process.exit(1);
}
const result = JSON.parse(child.stdout) as {
  train: { backend: string; steps: number; tokensSeen: number; elapsedSeconds: number; stoppedBy: string };
  evaluation: { results: { perplexity: number }[]; bigram: { perplexity: number } | null };
  modelLowerThanBigram: boolean;
};
const model = result.evaluation.results[0]?.perplexity ?? Number.NaN;
const bigram = result.evaluation.bigram?.perplexity ?? Number.NaN;
console.log(`demo wall-clock time: ${seconds.toFixed(0)} s (${(seconds / 60).toFixed(1)} min)`);
console.log(
  `training: ${result.train.steps} steps, ${result.train.tokensSeen} tokens in ${result.train.elapsedSeconds.toFixed(0)} s on ${result.train.backend}, stopped by ${result.train.stoppedBy}`,
);
console.log(`test perplexity at lambda 0: model ${model.toFixed(1)}, bigram baseline ${bigram.toFixed(1)}`);
console.log(result.modelLowerThanBigram ? 'model beats the bigram baseline' : 'model does NOT beat the bigram baseline');
