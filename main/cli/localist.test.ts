/**
 * The `localist` command line, run as a child process (`node bin/localist.mjs`)
 * on a tiny generated corpus and a tiny model, plus unit tests of the text
 * formatting.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvaluateResult, GuaranteesResult, InspectResult, TrainResult } from '../engine/jobs';
import { inspectHint } from './commands/demo';
import { renderEvaluationHeader } from './commands/eval';
import { renderGuarantees } from './commands/guarantees';
import { renderInspection } from './commands/inspect';
import { renderSweep, sweepFromEvaluation } from './commands/sweep';
import { renderTrainSummary, resumeCommand } from './commands/train';
import {
  formatDuration,
  formatFixed,
  formatPercent,
  ProgressReporter,
  renderProgressLine,
  renderTable,
  wrapWords,
} from './format';

const BIN = fileURLToPath(new URL('../../bin/localist.mjs', import.meta.url));
const CHILD_TIMEOUT_MS = 60_000;

interface CliOutput {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

interface CliOptions {
  cwd?: string;
  /** Kill the child after this many milliseconds (default CHILD_TIMEOUT_MS). */
  timeoutMs?: number;
  /** Called with each chunk of stderr, with the child to signal. */
  onStderr?: (text: string, child: ReturnType<typeof spawn>) => void;
}

function runCli(args: string[], options: CliOptions = {}): Promise<CliOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd,
      env: { ...process.env, LOCALIST_DEBUG: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const timeoutMs = options.timeoutMs ?? CHILD_TIMEOUT_MS;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`localist ${args.join(' ')} timed out after ${timeoutMs} ms; stderr:\n${stderr}`));
    }, timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      options.onStderr?.(stderr, child);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Deterministic text: sentences drawn from a small vocabulary with a linear congruential generator. */
function generateDocument(seed: number, words: number): string {
  const vocabulary = [
    'the', 'a', 'jury', 'court', 'judge', 'said', 'he', 'she', 'paid', 'bought', 'money', 'dollars', 'price',
    'cash', 'mother', 'father', 'family', 'day', 'week', 'was', 'is', 'of', 'to', 'and', 'in', 'that', 'for',
    'on', 'with', 'at', 'from', 'law', 'tax', 'bank', 'house', 'city', 'new', 'old', 'good', 'time',
  ];
  let state = seed >>> 0;
  const next = () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
  const out: string[] = [];
  for (let i = 0; i < words; i++) {
    out.push(vocabulary[Math.floor(next() * vocabulary.length)]);
    if (i % 11 === 10) out.push('.');
  }
  return out.join(' ');
}

const TINY_MODEL = ['--context', '16', '--layers', '1', '--heads', '2', '--width', '16', '--max-vocab', '200', '--batch-size', '4', '--replicas', '1'];

let dir: string;
let corpus: string;
let blocksPath: string;
let rulesPath: string;
let checkpoint: string;
let trainOutput: CliOutput;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'localist-cli-'));
  corpus = join(dir, 'corpus');
  for (const [domainIndex, domain] of ['news', 'fiction'].entries()) {
    await mkdir(join(corpus, domain), { recursive: true });
    for (let document = 0; document < 5; document++) {
      await writeFile(join(corpus, domain, `doc${document}.txt`), generateDocument(domainIndex * 100 + document + 1, 320));
    }
  }
  blocksPath = join(dir, 'blocks.json');
  await writeFile(
    blocksPath,
    JSON.stringify({ version: 1, blocks: [{ id: 'money', name: 'Money', tokens: ['money', 'dollars', 'price', 'cash', 'tax', 'bank'] }] }),
  );
  rulesPath = join(dir, 'rules.json');
  await writeFile(
    rulesPath,
    JSON.stringify({ version: 1, rules: [{ id: 'paid-to-money', name: 'Paying looks at money', trigger: { tokens: ['paid', 'bought'] }, target: 'money' }] }),
  );
  checkpoint = join(dir, 'tiny.localist');
  trainOutput = await runCli([
    'train', '--corpus', corpus, '--blocks', blocksPath, '--rules', rulesPath, ...TINY_MODEL,
    '--steps', '4', '--checkpoint-every', '2', '--out', checkpoint, '--json',
  ]);
}, 120_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('localist train', () => {
  it('prints only the result as JSON', () => {
    expect(trainOutput.stderr).not.toMatch(/localist: /);
    expect(trainOutput.code).toBe(0);
    const result = JSON.parse(trainOutput.stdout);
    expect(result.kind).toBe('train');
    expect(result.steps).toBe(4);
    expect(result.tokensSeen).toBe(4 * 4 * 16);
    expect(result.cancelled).toBe(false);
    expect(result.checkpoint).toBe(checkpoint);
    expect(result.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(typeof result.backend).toBe('string');
    expect(Array.isArray(result.backendSkipped)).toBe(true);
    expect(result.finalLoss).toBeGreaterThan(0);
    expect(existsSync(checkpoint)).toBe(true);
  });

  it('reports progress on stderr', () => {
    expect(trainOutput.stderr).toContain('4/4 steps');
    expect(trainOutput.stderr).toContain('nats');
    expect(trainOutput.stderr).toContain('checkpoint saved at step 2');
  });

  it('resume continues from the saved step', async () => {
    const out = join(dir, 'resumed.localist');
    const output = await runCli(['train', '--resume', checkpoint, '--steps', '6', '--out', out, '--json']);
    expect(output.code, output.stderr).toBe(0);
    const result = JSON.parse(output.stdout);
    expect(result.steps).toBe(6);
    expect(result.tokensSeen).toBe(6 * 4 * 16);
    expect(result.checkpoint).toBe(out);
    expect(output.stderr).toContain('resumed at step 4');
  });

  it('resume rejects a total at or below the saved step', async () => {
    const output = await runCli(['train', '--resume', checkpoint, '--steps', '4']);
    expect(output.code).toBe(2);
    expect(output.stderr).toContain('already at step 4');
  });

  it('resume rejects options of a new run', async () => {
    const output = await runCli(['train', '--resume', checkpoint, '--layers', '3']);
    expect(output.code).toBe(2);
    expect(output.stderr).toContain('--layers cannot be combined with --resume');
  });

  it('prints a text summary with two replicas', async () => {
    const out = join(dir, 'two-replicas.localist');
    const output = await runCli([
      'train', '--corpus', corpus, '--blocks', 'none', '--rules', 'none', ...TINY_MODEL, '--replicas', '2',
      '--steps', '2', '--out', out,
    ]);
    expect(output.code, output.stderr).toBe(0);
    expect(output.stdout).toContain('Training finished: 2 steps.');
    expect(output.stdout).toContain('backend');
    expect(output.stdout).toContain('sha256');
    expect(output.stderr).toContain('2 replica(s)');
  });

  it('writes to runs/ by default', async () => {
    const work = join(dir, 'default-out');
    await mkdir(work);
    const output = await runCli(
      ['train', '--corpus', corpus, '--blocks', 'none', '--rules', 'none', ...TINY_MODEL, '--steps', '1', '--json'],
      { cwd: work },
    );
    expect(output.code, output.stderr).toBe(0);
    const result = JSON.parse(output.stdout);
    expect(result.checkpoint).toMatch(/[/\\]runs[/\\]corpus-\d{8}T\d{6}Z\.localist$/);
    expect(existsSync(result.checkpoint)).toBe(true);
  });

  it('time budget ends the run early', async () => {
    const out = join(dir, 'budget.localist');
    const output = await runCli([
      'train', '--corpus', corpus, '--blocks', 'none', '--rules', 'none', ...TINY_MODEL, '--steps', '100000',
      '--time-budget', '1', '--out', out, '--json',
    ]);
    expect(output.code, output.stderr).toBe(0);
    const result = JSON.parse(output.stdout);
    expect(result.stoppedBy).toBe('time-budget');
    expect(result.steps).toBeLessThan(100_000);
    expect(result.elapsedSeconds).toBeGreaterThanOrEqual(1);
  });

  it('first Ctrl-C saves a checkpoint and exits 130', async () => {
    const out = join(dir, 'interrupted.localist');
    let sent = false;
    const output = await runCli(
      [
        'train', '--corpus', corpus, '--blocks', 'none', '--rules', 'none', ...TINY_MODEL, '--steps', '100000',
        '--checkpoint-every', '1', '--out', out,
      ],
      {
        // A run cancelled before its first step saves nothing, so the signal waits for step 1.
        onStderr: (text, child) => {
          if (!sent && text.includes('checkpoint saved at step 1')) {
            sent = true;
            child.kill('SIGINT');
          }
        },
      },
    );
    expect(sent).toBe(true);
    expect(output.code, output.stderr).toBe(130);
    expect(output.stderr).toContain('stopping after the current step');
    expect(output.stderr).toContain(`npm run localist -- train --resume ${out}`);
    expect(output.stdout).toContain('Training stopped at step');
    expect(existsSync(out)).toBe(true);
  });

  it('demo rules that miss a layer exit 2 at once', async () => {
    const out = join(dir, 'one-layer-brown.localist');
    const output = await runCli(['train', '--layers', '1', '--steps', '2', '--out', out]);
    expect(output.code).toBe(2);
    expect(output.stderr).toContain(join('resources', 'demo', 'brown-rules.json'));
    expect(output.stderr).toContain('used because no --rules was given');
    expect(output.stderr).toContain('rule "religion-to-anchors" layer 1 is out of range; the model has 1 layer, numbered 0 to 0');
    expect(output.stderr).toContain('Pass --rules none');
    expect(output.stderr).not.toContain('training on');
    expect(existsSync(out)).toBe(false);
  });

  it('rules file errors name the file', async () => {
    const wideRules = join(dir, 'wide-rules.json');
    await writeFile(
      wideRules,
      JSON.stringify({ version: 1, rules: [{ id: 'paid-to-money', name: 'Paying', trigger: { tokens: ['paid'] }, target: 'money', layers: [3], strength: 1e39 }] }),
    );
    const output = await runCli(['train', '--corpus', corpus, '--blocks', blocksPath, '--rules', wideRules, ...TINY_MODEL, '--steps', '1']);
    expect(output.code).toBe(2);
    expect(output.stderr).toContain(`rules file "${wideRules}" is invalid (2 problems):`);
    expect(output.stderr).toContain('layer 3 is out of range');
    expect(output.stderr).toContain('got 1e+39');
    expect(output.stderr).not.toContain('training on');
  });

  it('rules file with a byte order mark is read', async () => {
    const bomRules = join(dir, 'bom-rules.json');
    await writeFile(
      bomRules,
      `\uFEFF${JSON.stringify({ version: 1, rules: [{ id: 'paid-to-money', name: 'Paying', trigger: { tokens: ['paid'] }, target: 'money', layers: [3] }] })}`,
    );
    const output = await runCli(['train', '--corpus', corpus, '--blocks', blocksPath, '--rules', bomRules, ...TINY_MODEL, '--steps', '1']);
    expect(output.stderr).not.toContain('not valid JSON');
    expect(output.stderr).toContain('layer 3 is out of range');
  });

  it('blocks file errors from the engine name the file', async () => {
    const oddBlocks = join(dir, 'odd-blocks.json');
    await writeFile(oddBlocks, JSON.stringify({ version: 1, blocks: [{ id: 'odd', name: 'Odd', tokens: ['zyzzyva'] }] }));
    const output = await runCli([
      'train', '--corpus', corpus, '--blocks', oddBlocks, '--rules', 'none', ...TINY_MODEL, '--steps', '1',
      '--out', join(dir, 'never-odd.localist'),
    ]);
    expect(output.code).toBe(2);
    expect(output.stderr).toContain(`blocks file "${oddBlocks}" is invalid (1 problem):`);
    expect(output.stderr).toContain('"zyzzyva"');
  });

  it('--out under a file exits 2 before training', async () => {
    const file = join(dir, 'plain-file');
    await writeFile(file, 'not a folder\n');
    const out = join(file, 'x.localist');
    const output = await runCli(['train', '--corpus', corpus, '--blocks', 'none', '--rules', 'none', ...TINY_MODEL, '--steps', '1', '--out', out]);
    expect(output.code).toBe(2);
    expect(output.stderr).toContain(`--out "${out}" cannot be written`);
    expect(output.stderr).toContain('is a file, not a folder');
    expect(output.stderr).not.toContain('training on');
  });

  it.runIf(process.platform === 'linux')('--out in /proc exits 2 before training', async () => {
    const output = await runCli([
      'train', '--corpus', corpus, '--blocks', 'none', '--rules', 'none', ...TINY_MODEL, '--steps', '1', '--out', '/proc/nope.localist',
    ]);
    expect(output.code).toBe(2);
    expect(output.stderr).toContain('--out "/proc/nope.localist" cannot be written');
    expect(output.stderr).not.toContain('training on');
  });

  it('--out that is a folder exits 2', async () => {
    const output = await runCli(['train', '--corpus', corpus, '--blocks', 'none', '--rules', 'none', ...TINY_MODEL, '--steps', '1', '--out', dir]);
    expect(output.code).toBe(2);
    expect(output.stderr).toContain(`--out "${dir}" is a folder, not a file`);
  });

  it('resume hint runs after npm install', () => {
    expect(resumeCommand('/data/my run.localist')).toBe("npm run localist -- train --resume '/data/my run.localist'");
  });
});

describe('localist guarantees', () => {
  it('reports every rule with a verdict as JSON', async () => {
    const output = await runCli(['guarantees', checkpoint, '--lambda', '0.7', '--rows', '--json']);
    expect(output.code, output.stderr).toBe(0);
    const result = JSON.parse(output.stdout);
    expect(result.kind).toBe('guarantees');
    expect(result.report.lambda).toBe(0.7);
    const [rule] = result.report.rules;
    expect(rule.id).toBe('paid-to-money');
    expect(rule.activeRows).toBeGreaterThan(0);
    expect(rule.activeRows).toBe(result.report.rows.length);
    expect(['PASS', 'FAIL']).toContain(rule.verdict);
    expect(rule.verdict === 'PASS').toBe(rule.fidelity.minimum >= rule.requiredFidelity);
    expect(result.report.largestFormulaError).toBeLessThan(1e-4);
    expect(result.report.entropyBoundViolations).toBe(0);
  });

  it('lambda star applied reaches the required fidelity', async () => {
    const split = 'validation';
    const guarantees = await runCli(['guarantees', checkpoint, '--split', split, '--max-tokens', '4096', '--no-stationary', '--json']);
    expect(guarantees.code, guarantees.stderr).toBe(0);
    const [rule] = JSON.parse(guarantees.stdout).report.rules;
    expect(rule.activeRows).toBeGreaterThan(0);
    expect(rule.reachable).toBe(true);
    const evaluation = await runCli(['eval', checkpoint, '--split', split, '--max-tokens', '4096', '--lambda', String(rule.lambdaStar), '--no-bigram', '--json']);
    expect(evaluation.code, evaluation.stderr).toBe(0);
    const measured = JSON.parse(evaluation.stdout).results[0].rules[0];
    expect(measured.activeRows).toBe(rule.activeRows);
    expect(measured.minimumFidelity).toBeGreaterThanOrEqual(rule.requiredFidelity - 1e-6);
  });

  it('prints the rule table and the stationary check', async () => {
    const output = await runCli(['guarantees', checkpoint, '--lambda', '1']);
    expect(output.code, output.stderr).toBe(0);
    expect(output.stdout).toContain('lambda*');
    expect(output.stdout).toContain('p_min');
    expect(output.stdout).toMatch(/paid-to-money .*(PASS|FAIL)/);
    expect(output.stdout).toContain('Stationary-point check');
    expect(output.stdout).toContain('backend');
  });

  it('rejects a lambda outside the dial', async () => {
    const output = await runCli(['guarantees', checkpoint, '--lambda', '2']);
    expect(output.code).toBe(2);
    expect(output.stderr).toContain('--lambda "2"');
  });
});

describe('localist recruit', () => {
  it('records every candidate and writes a checkpoint', async () => {
    const out = join(dir, 'recruited.localist');
    const records = join(dir, 'recruited.jsonl');
    const output = await runCli(['recruit', checkpoint, '--steps', '2', '--clusters', '2', '--min-count', '2', '--rounds', '1', '--out', out, '--records', records, '--json']);
    expect(output.code, output.stderr).toBe(0);
    const result = JSON.parse(output.stdout);
    expect(result.kind).toBe('recruit');
    expect(result.records.length).toBeGreaterThan(0);
    for (const record of result.records) {
      expect(['accepted', 'rejected: cost', 'rejected: held-out', 'rejected: not best']).toContain(record.decision);
      expect(record.tokens.length).toBeGreaterThan(0);
      expect(record.config.stepsPerCandidate).toBe(2);
    }
    const lines = (await readFile(records, 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(result.records.length);
    expect(JSON.parse(lines[0]).gain).toBeCloseTo(result.records[0].gain, 6);
    expect(existsSync(out)).toBe(true);
  });

  it('model level writes a routable model set', async () => {
    const out = join(dir, 'specialists');
    const output = await runCli(
      ['recruit', checkpoint, '--level', 'model', '--steps', '3', '--workers', '2', '--batch-size', '2', '--sample-tokens', '64', '--held-out-tokens', '32', '--out', out, '--json'],
      { timeoutMs: 120_000 },
    );
    expect(output.code, output.stderr).toBe(0);
    const result = JSON.parse(output.stdout);
    expect(result.kind).toBe('recruit-models');
    expect(result.workers).toBe(2);
    expect(result.records.map((record: { domain: string }) => record.domain)).toEqual(['fiction', 'news']);
    for (const record of result.records) {
      // About 1,500 training tokens per domain cannot pay for 128 parameters: (128 / 2) ln N_d is over 400 nats.
      expect(record.cost).toBeCloseTo(64 * Math.log(record.trainingTokens), 6);
      expect(record.decision).toBe('rejected: cost');
      expect(record.config.stepsPerSpecialist).toBe(3);
    }
    const records = (await readFile(join(out, 'records.jsonl'), 'utf8')).trim().split('\n');
    expect(records.map((line) => JSON.parse(line).domain)).toEqual(['fiction', 'news']);
    const modelSet = JSON.parse(await readFile(join(out, 'models.json'), 'utf8'));
    expect(modelSet.parent.domain).toBeNull();
    expect(modelSet.specialists).toEqual([]);
    const routing = (await readFile(join(out, 'routing.jsonl'), 'utf8')).trim().split('\n');
    expect(routing.length).toBe(result.routing.reduce((total: number, summary: { documents: number }) => total + summary.documents, 0));
    expect(JSON.parse(routing[0]).model).toBe('parent');

    const text = await runCli(['route', join(out, 'models.json'), corpus]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('label has no specialist');
    const unlabelled = await runCli(['route', join(out, 'models.json'), corpus, '--unlabelled', '--json']);
    expect(unlabelled.code, unlabelled.stderr).toBe(0);
    const routed = JSON.parse(unlabelled.stdout);
    expect(routed.decisions).toHaveLength(10);
    expect(routed.decisions[0]).toMatchObject({ label: null, model: 'parent', reason: 'lowest prefix NLL', prefixTokens: 64 });

    const again = await runCli(['recruit', checkpoint, '--level', 'model', '--out', out]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('already contains a model set');
  });

  it('model level refuses options of the block level, and the reverse', async () => {
    const model = await runCli(['recruit', checkpoint, '--level', 'model', '--clusters', '3']);
    expect(model.code).toBe(2);
    expect(model.stderr).toContain('--clusters applies to --level block only');
    const block = await runCli(['recruit', checkpoint, '--rank', '3']);
    expect(block.code).toBe(2);
    expect(block.stderr).toContain('--rank applies to --level model only');
    const domains = await runCli(['recruit', checkpoint, '--level', 'model', '--domains', 'sports', '--out', join(dir, 'no-sports')]);
    expect(domains.code).toBe(2);
    expect(domains.stderr).toContain('domain "sports" is not in corpus');
    // A failed run removes the output folder it created.
    expect(existsSync(join(dir, 'no-sports'))).toBe(false);
    const rate = await runCli(['recruit', checkpoint, '--level', 'model', '--learning-rate', '0', '--out', join(dir, 'no-rate')]);
    expect(rate.code).toBe(2);
    expect(rate.stderr).toContain('--learning-rate "0" is invalid; use a number > 0');
    expect(existsSync(join(dir, 'no-rate'))).toBe(false);
    await mkdir(join(dir, 'busy'));
    await writeFile(join(dir, 'busy', 'notes.txt'), 'mine');
    const busy = await runCli(['recruit', checkpoint, '--level', 'model', '--out', join(dir, 'busy')]);
    expect(busy.code).toBe(2);
    expect(busy.stderr).toContain('is not empty (notes.txt)');
  });

  it('route names a broken model set', async () => {
    const broken = join(dir, 'broken-models.json');
    await writeFile(broken, JSON.stringify({ version: 1, prefixTokens: 64, domains: ['news', 'fiction'], parent: { id: 'parent', domain: 'news', checkpoint, sha256: 'f'.repeat(64) }, specialists: [] }));
    const output = await runCli(['route', broken, corpus]);
    expect(output.code).toBe(2);
    expect(output.stderr).toContain('invalid parent.domain');
  });
});

describe('localist eval', () => {
  it('reports perplexity and the bigram baseline as JSON', async () => {
    const output = await runCli(['eval', checkpoint, '--json']);
    expect(output.code, output.stderr).toBe(0);
    const result = JSON.parse(output.stdout);
    expect(result.kind).toBe('evaluate');
    expect(result.split).toBe('test');
    expect(result.results).toHaveLength(1);
    expect(result.results[0].dial.lambda).toBe(0);
    expect(result.results[0].perplexity).toBeGreaterThan(1);
    expect(result.bigram.perplexity).toBeGreaterThan(1);
    expect(result.results[0].rules[0].id).toBe('paid-to-money');
  });

  it('prints tables in bits with units', async () => {
    const output = await runCli(['eval', checkpoint, '--lambda', '0,1', '--split', 'validation', '--max-tokens', '64']);
    expect(output.code, output.stderr).toBe(0);
    expect(output.stdout).toContain('attention entropy (bits)');
    expect(output.stdout).toContain('block entropy (bits)');
    expect(output.stdout).toContain('lambda 1');
    expect(output.stdout).toContain('paid-to-money');
    expect(output.stdout).toContain('required fidelity');
    expect(output.stdout).toMatch(/bigram baseline/);
    expect(output.stdout).toContain('backend');
  });

  it('--no-bigram skips the baseline', async () => {
    const output = await runCli(['eval', checkpoint, '--no-bigram', '--max-tokens', '32', '--json']);
    expect(output.code, output.stderr).toBe(0);
    expect(JSON.parse(output.stdout).bigram).toBeNull();
  });
});

describe('localist inspect', () => {
  it('prints dialled and distributed columns', async () => {
    const output = await runCli(['inspect', checkpoint, 'the jury said he paid the money and he paid']);
    expect(output.code, output.stderr).toBe(0);
    expect(output.stdout).toContain('dialled (lambda 0.8)');
    expect(output.stdout).toContain('distributed (lambda 0)');
    expect(output.stdout).toContain('L0H1');
    expect(output.stdout).toContain('Money (money)');
    expect(output.stdout).toContain('paid-to-money');
  });

  it('--text-file reads the text from a file', async () => {
    const textFile = join(dir, 'inspect.txt');
    await writeFile(textFile, '\uFEFFthe jury said he paid the money\n', 'utf8');
    const output = await runCli(['inspect', checkpoint, '--text-file', textFile, '--json']);
    expect(output.code, output.stderr).toBe(0);
    expect(JSON.parse(output.stdout).tokens).toEqual(['the', 'jury', 'said', 'he', 'paid', 'the', 'money']);
  });

  it('--text-file rejects bad input', async () => {
    const latin1 = join(dir, 'latin1.txt');
    await writeFile(latin1, Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x20, 0x6e, 0x6f, 0x69, 0x72]));
    const missing = join(dir, 'no-such-text.txt');
    const cases: [string[], string][] = [
      [['inspect', checkpoint, 'the jury', '--text-file', latin1], 'both TEXT and --text-file'],
      [['inspect', checkpoint], 'missing TEXT'],
      [['inspect', checkpoint, '--text-file', missing], `--text-file "${missing}" not found`],
      [['inspect', checkpoint, '--text-file', dir], 'is a folder'],
      [['inspect', checkpoint, '--text-file', latin1], 'is not valid UTF-8'],
    ];
    for (const [args, message] of cases) {
      const output = await runCli(args);
      expect(output.code, args.join(' ')).toBe(2);
      expect(output.stderr, args.join(' ')).toContain(message);
    }
  });

  it('returns --top predictions per column as JSON', async () => {
    const output = await runCli(['inspect', checkpoint, 'the jury said', '--top', '3', '--lambda', '1', '--json']);
    expect(output.code, output.stderr).toBe(0);
    const result = JSON.parse(output.stdout);
    expect(result.dialled).toHaveLength(3);
    expect(result.distributed).toHaveLength(3);
    expect(result.lambda).toBe(1);
    expect(result.blocks).toEqual(['background', 'Money']);
  });
});

describe('localist sweep', () => {
  it('protocol A returns six lambdas by default', async () => {
    const output = await runCli(['sweep', checkpoint, '--max-tokens', '64', '--json']);
    expect(output.code, output.stderr).toBe(0);
    const result = JSON.parse(output.stdout);
    expect(result.protocol).toBe('A');
    expect(result.lambdas).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(result.rows).toHaveLength(6);
    expect(result.rows[5].metrics.dial.lambda).toBe(1);
  });

  it('protocol B trains one model per lambda', async () => {
    const output = await runCli([
      'sweep', checkpoint, '--protocol', 'B', '--lambdas', '0,1', '--steps', '2', '--replicas', '1', '--max-tokens', '64',
    ]);
    expect(output.code, output.stderr).toBe(0);
    expect(output.stdout).toContain('protocol B');
    expect(output.stdout).toContain('tiny.lambda-1.localist');
    expect(existsSync(join(dir, 'tiny.lambda-0.localist'))).toBe(true);
    expect(existsSync(join(dir, 'tiny.lambda-1.localist'))).toBe(true);
  });

  it('protocol B checks model paths first', async () => {
    const folder = join(dir, 'sweep-blocked');
    await mkdir(folder);
    const copy = join(folder, 'tiny.localist');
    await copyFile(checkpoint, copy);
    await mkdir(join(folder, 'tiny.lambda-0.localist'));
    const output = await runCli(['sweep', copy, '--protocol', 'B', '--lambdas', '1,0', '--steps', '1', '--replicas', '1']);
    expect(output.code).toBe(2);
    expect(output.stderr).toContain('tiny.lambda-0.localist" is a folder, not a file');
    expect(output.stderr).not.toContain('training on');
    expect(existsSync(join(folder, 'tiny.lambda-1.localist'))).toBe(false);
  });

  it('rejects --steps with protocol A', async () => {
    const output = await runCli(['sweep', checkpoint, '--steps', '3']);
    expect(output.code).toBe(2);
    expect(output.stderr).toContain('--steps applies to protocol B only');
  });
});

describe('localist bad input', () => {
  it('unknown option exits 2', async () => {
    const output = await runCli(['train', '--stpes', '4']);
    expect(output.code).toBe(2);
    expect(output.stderr).toContain('unknown option "--stpes"');
    expect(output.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('non-numeric --steps exits 2', async () => {
    const output = await runCli(['train', '--steps', 'abc']);
    expect(output.code).toBe(2);
    expect(output.stderr).toContain('--steps "abc" is invalid');
  });

  it('non-positive --time-budget exits 2', async () => {
    const output = await runCli(['train', '--time-budget', '0']);
    expect(output.code).toBe(2);
    expect(output.stderr).toContain('--time-budget "0" is invalid');
  });

  it('lambda outside [0, 1] exits 2', async () => {
    const output = await runCli(['eval', checkpoint, '--lambda', '0,1.5']);
    expect(output.code).toBe(2);
    expect(output.stderr).toContain('"1.5"');
  });

  it('missing corpus path exits 2', async () => {
    const missing = join(dir, 'no-such-corpus');
    const output = await runCli(['train', '--corpus', missing, '--steps', '1']);
    expect(output.code).toBe(2);
    expect(output.stderr).toContain(missing);
  });

  it('rules naming an unknown block exit 2', async () => {
    const badRules = join(dir, 'bad-rules.json');
    await writeFile(
      badRules,
      JSON.stringify({ version: 1, rules: [{ id: 'to-nowhere', name: 'Points at nothing', trigger: { tokens: ['paid'] }, target: 'nowhere' }] }),
    );
    const output = await runCli([
      'train', '--corpus', corpus, '--blocks', blocksPath, '--rules', badRules, ...TINY_MODEL, '--steps', '1',
      '--out', join(dir, 'never.localist'),
    ]);
    expect(output.code).toBe(2);
    expect(output.stderr).toContain('nowhere');
  });

  it('missing rules file exits 2', async () => {
    const output = await runCli(['train', '--corpus', corpus, '--rules', join(dir, 'absent.json')]);
    expect(output.code).toBe(2);
    expect(output.stderr).toContain('absent.json');
  });

  it('damaged checkpoint exits 2', async () => {
    const damaged = join(dir, 'damaged.localist');
    await copyFile(checkpoint, damaged);
    const bytes = await readFile(damaged);
    bytes[bytes.length - 5] ^= 0xff;
    await writeFile(damaged, bytes);
    const output = await runCli(['eval', damaged]);
    expect(output.code).toBe(2);
    expect(output.stderr).toContain('damaged.localist');
  });

  it('file that is not a checkpoint exits 2', async () => {
    const fake = join(dir, 'notes.localist');
    await writeFile(fake, 'these are notes, not a model\n');
    for (const args of [['eval', fake], ['inspect', fake, 'the jury'], ['train', '--resume', fake]]) {
      const output = await runCli(args);
      expect(output.code, args.join(' ')).toBe(2);
      expect(output.stderr).toContain('notes.localist');
    }
  });

  it('unknown command exits 2', async () => {
    const output = await runCli(['trian']);
    expect(output.code).toBe(2);
    expect(output.stderr).toContain('unknown command "trian"');
  });
});

describe('localist help', () => {
  it('top-level help lists commands and exit codes', async () => {
    const output = await runCli(['--help']);
    expect(output.code).toBe(0);
    for (const command of ['train', 'eval', 'sweep', 'inspect', 'demo']) expect(output.stdout).toContain(`  ${command} `);
    expect(output.stdout).toContain('Exit codes:');
    expect(output.stdout).toContain('130');
  });

  it('command help shows units and defaults', async () => {
    const output = await runCli(['train', '-h']);
    expect(output.code).toBe(0);
    expect(output.stdout).toMatch(/--steps N\s+total optimizer steps/);
    expect(output.stdout).toContain('(default: 32)');
    expect(output.stdout).toContain('context length in tokens');
  });

  it('quick demo trains, compares and sweeps', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'localist-demo-'));
    try {
      const output = await runCli(['demo', '--quick', '--json'], { cwd, timeoutMs: 240_000 });
      expect(output.code).toBe(0);
      const result = JSON.parse(output.stdout);
      expect(result.kind).toBe('demo');
      expect(result.train.steps).toBe(20);
      expect(result.train.stoppedBy).toBe('steps');
      expect(result.evaluation.results).toHaveLength(1);
      expect(result.evaluation.results[0].dial.lambda).toBe(0);
      expect(result.evaluation.results[0].perplexity).toBeGreaterThan(1);
      expect(result.evaluation.bigram.perplexity).toBeGreaterThan(1);
      expect(result.sweep.rows.map((row: { lambda: number }) => row.lambda)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
      expect(typeof result.modelLowerThanBigram).toBe('boolean');
      expect(existsSync(join(cwd, 'runs', 'demo.localist'))).toBe(true);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('--max-tokens help says whole windows', async () => {
    for (const command of ['eval', 'sweep', 'guarantees']) {
      const output = await runCli([command, '--help']);
      expect(output.code).toBe(0);
      const help = output.stdout.replace(/\s+/g, ' ');
      expect(help, command).toContain('--max-tokens N about N tokens of the split');
      expect(help, command).toContain('but at least one');
      expect(help, command).not.toContain('at most N tokens');
    }
  });

  it('demo exits 2 when runs is a file', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'localist-demo-'));
    try {
      await writeFile(join(cwd, 'runs'), 'not a folder\n');
      const output = await runCli(['demo', '--quick'], { cwd });
      expect(output.code).toBe(2);
      expect(output.stderr).toContain('the demo checkpoint "runs/demo.localist" cannot be written: "runs" is a file, not a folder');
      expect(output.stderr).not.toContain('training on');
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('demo hint runs after npm install', () => {
    expect(inspectHint('/data/demo.localist')).toBe('npm run localist -- inspect /data/demo.localist "the jury said the money"');
  });

  it('demo help names the quick mode', async () => {
    const output = await runCli(['help', 'demo']);
    expect(output.code).toBe(0);
    expect(output.stdout).toContain('--quick');
  });
});

describe('skipped backends', () => {
  const backend = { backend: 'wasm', backendSkipped: ['@tensorflow/tfjs-node-gpu not loaded: GPU missing', '@tensorflow/tfjs-node not loaded: native missing'] };
  const evaluation: EvaluateResult = {
    kind: 'evaluate',
    ...backend,
    checkpoint: '/data/tiny.localist',
    sha256: 'ab',
    split: 'test',
    results: [],
    bigram: null,
  };

  function expectReasons(text: string): void {
    expect(text).toMatch(/backend:?\s+wasm/i);
    for (const reason of backend.backendSkipped) expect(text).toContain(reason);
  }

  it('eval header lists skipped backends', () => {
    expectReasons(renderEvaluationHeader(evaluation));
  });

  it('sweep header lists skipped backends', () => {
    expectReasons(renderSweep(sweepFromEvaluation(evaluation)));
  });

  it('inspection lists skipped backends', () => {
    const inspection: InspectResult = {
      kind: 'inspect',
      ...backend,
      tokens: ['the'],
      lambda: 0.8,
      dialled: [{ token: 'jury', probability: 0.5 }],
      distributed: [{ token: 'jury', probability: 0.4 }],
      blocks: ['background'],
      blockMassesDialled: [[[1]]],
      blockMassesDistributed: [[[1]]],
      activeRules: [],
    };
    expectReasons(renderInspection(inspection));
  });

  it('guarantees header lists skipped backends', () => {
    const guarantees: GuaranteesResult = {
      kind: 'guarantees',
      ...backend,
      checkpoint: '/data/tiny.localist',
      sha256: 'ab',
      split: 'test',
      report: { lambda: 1, kappa: 4, tokens: 0, largestFormulaError: 0, entropyBoundViolations: 0, rules: [], stationary: null },
      stationarySkipped: true,
    };
    expectReasons(renderGuarantees(guarantees));
  });
});

describe('train summary', () => {
  const result: TrainResult = {
    kind: 'train', backend: 'wasm', backendSkipped: [], parameterCount: 10, steps: 0, tokensSeen: 0, elapsedSeconds: 0,
    checkpoint: '/tmp/run.localist', sha256: '', cancelled: true, stoppedBy: 'cancelled', finalLoss: null,
  };

  it('says when no checkpoint was written', () => {
    const text = renderTrainSummary(result, 50);
    expect(text).toContain('none written: stopped before the first step');
    expect(text).not.toContain('sha256');
  });

  it('names the checkpoint and its hash', () => {
    const text = renderTrainSummary({ ...result, steps: 3, sha256: 'ab'.repeat(32) }, 50);
    expect(text).toContain('run.localist');
    expect(text).toContain('ab'.repeat(32));
  });
});

describe('format', () => {
  it('table aligns columns', () => {
    const table = renderTable(
      [{ header: 'name' }, { header: 'value', align: 'right' }],
      [
        ['perplexity', '12.50'],
        ['accuracy', '3.0%'],
      ],
    );
    expect(table.split('\n')).toEqual([
      'name        value',
      '----------  -----',
      'perplexity  12.50',
      'accuracy     3.0%',
    ]);
  });

  it('progress line shows count, percent and details', () => {
    const line = renderProgressLine({ label: 'train', done: 5, total: 20, unit: 'steps', details: ['loss 4.000 nats', 'ETA 3m 05s'] });
    expect(line).toBe('train [#####---------------] 5/20 steps  25%  loss 4.000 nats  ETA 3m 05s');
    expect(renderProgressLine({ label: 'train', done: 5, total: 20, unit: 'steps', details: [] }, 10)).toHaveLength(10);
  });

  it('progress line follows a given share', () => {
    const line = renderProgressLine({ label: 'train', done: 5, total: 900, unit: 'steps', details: [], share: 0.5 });
    expect(line).toBe('train [##########----------] 5/900 steps  50%');
  });

  it('progress line shortens its bar to fit', () => {
    const state = { label: 'train', done: 179, total: 100_000, unit: 'steps', details: ['loss 3.435 nats', '5,776 tokens/s', 'ETA 5h 02m'] };
    const line = renderProgressLine(state, 79);
    expect(line.length).toBeLessThanOrEqual(79);
    expect(line).toMatch(/ETA 5h 02m$/);
    expect(line).toContain('train [-----] 179/100000');
    expect(renderProgressLine(state, 72)).toMatch(/^train 179\/100000 steps {2}0% .*ETA 5h 02m$/);
  });

  it('plain progress prints about every 10%', () => {
    const lines: string[] = [];
    const reporter = new ProgressReporter({ write: (text: string) => lines.push(text) }, { interactive: false, now: () => 0 });
    for (let step = 1; step <= 100; step++) reporter.update({ label: 'train', done: step, total: 100, unit: 'steps', details: [] });
    expect(lines).toHaveLength(10);
    expect(lines[0]).toContain('10/100 steps');
    expect(lines[9]).toContain('100/100 steps');
  });

  it('plain progress prints after 30 seconds', () => {
    const lines: string[] = [];
    let now = 0;
    const reporter = new ProgressReporter({ write: (text: string) => lines.push(text) }, { interactive: false, now: () => now });
    reporter.update({ label: 'train', done: 1, total: 1000, unit: 'steps', details: [] });
    now = 31_000;
    reporter.update({ label: 'train', done: 2, total: 1000, unit: 'steps', details: [] });
    expect(lines).toEqual([expect.stringContaining('2/1000 steps')]);
  });

  it('terminal progress redraws one line', () => {
    const writes: string[] = [];
    let now = 0;
    const reporter = new ProgressReporter({ write: (text: string) => writes.push(text), columns: 60 }, { interactive: true, now: () => now });
    reporter.update({ label: 'train', done: 1, total: 4, unit: 'steps', details: [] });
    now = 50;
    reporter.update({ label: 'train', done: 2, total: 4, unit: 'steps', details: [] });
    now = 200;
    reporter.update({ label: 'train', done: 3, total: 4, unit: 'steps', details: [] });
    reporter.note('checkpoint saved');
    reporter.finish();
    expect(writes[0]).toBe('\r\x1b[2Ktrain [#####---------------] 1/4 steps  25%');
    expect(writes[1]).toContain('3/4 steps');
    expect(writes[2]).toBe('\r\x1b[2Kcheckpoint saved\ntrain [###############-----] 3/4 steps  75%');
    expect(writes[3]).toBe('\n');
    expect(writes.every((text) => !text.includes('\n') || text.endsWith('%') || text === '\n')).toBe(true);
  });

  it('numbers format with units', () => {
    expect(formatDuration(0.42)).toBe('0.4s');
    expect(formatDuration(185)).toBe('3m 05s');
    expect(formatDuration(3720)).toBe('1h 02m');
    expect(formatFixed(-0, 3)).toBe('0.000');
    expect(formatFixed(-1e-12, 3)).toBe('0.000');
    expect(formatFixed(null, 3)).toBe('n/a');
    expect(formatPercent(0.1234)).toBe('12.3%');
    expect(wrapWords('one two three four', 9)).toEqual(['one two', 'three', 'four']);
  });
});
