/**
 * Model recruitment benchmark: runs `localist recruit --level model` with
 * its default settings on the demo checkpoint (Brown, 15 genres as domains)
 * and prints the wall-clock time, each genre's gain, cost and decision, and
 * the genres that earned a specialist. The run is meant to finish in under
 * 30 minutes on a 2-core machine.
 * Run with `npm run bench:recruit -- [CHECKPOINT]` (default runs/demo.localist,
 * which `npm run demo` writes).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ModelRecruitResult } from '../main/engine/jobs';

const checkpoint = resolve(process.argv[2] ?? 'runs/demo.localist');
if (!existsSync(checkpoint)) {
  console.error(`checkpoint "${checkpoint}" not found; run "npm run demo" first, or pass a checkpoint trained on the Brown corpus`);
  process.exit(2);
}
const cli = fileURLToPath(new URL('../bin/localist.mjs', import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'localist-bench-recruit-'));
const started = performance.now();
const child = spawnSync(process.execPath, [cli, 'recruit', checkpoint, '--level', 'model', '--out', out, '--json'], {
  encoding: 'utf8',
  stdio: ['ignore', 'pipe', 'inherit'],
  maxBuffer: 64 * 2 ** 20,
});
const seconds = (performance.now() - started) / 1000;
rmSync(out, { recursive: true, force: true });
if (child.status !== 0) {
  console.error(`localist recruit --level model failed with exit code ${child.status}`);
  process.exit(1);
}
const result = JSON.parse(child.stdout) as ModelRecruitResult;
console.log(`model recruitment wall-clock time: ${seconds.toFixed(0)} s (${(seconds / 60).toFixed(1)} min) on ${result.backend}, ${result.workers} worker(s)`);
console.log(`P_spec ${result.parameters} parameters`);
for (const record of result.records) {
  const perToken = (record.baselineSampleNll - record.specialistSampleNll).toFixed(4);
  console.log(
    `${record.domain.padEnd(16)} N_d ${String(record.trainingTokens).padStart(7)}  NLL gain ${perToken} nats/token  gain ${record.gain.toFixed(0).padStart(6)}  cost ${record.cost.toFixed(0).padStart(6)}  ${record.decision}`,
  );
}
const earned = result.specialists.map((file) => file.domain);
console.log(earned.length > 0 ? `earned a specialist: ${earned.join(', ')}` : 'no genre earned a specialist');
