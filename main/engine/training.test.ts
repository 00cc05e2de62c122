import * as tf from '@tensorflow/tfjs';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { initBackend } from './backend';
import { assembleBatch, evaluationOffsets } from './batch';
import type { BlocksFileInput } from './blocks';
import { readCheckpoint, writeCheckpoint } from './checkpoint';
import { DEMO_BLOCKS_PATH, DEMO_RULES_PATH, EMPTY_BLOCKS, EMPTY_RULES, prepareData, readJsonFile, type PreparedData } from './data';
import { evaluate } from './evaluate';
import { runJob } from './host';
import { EngineError, type TrainResult } from './jobs';
import type { RulesFileInput } from './rules';
import { computeGradients, createRun, defaultTrainConfig, disposeRun, trainStep, type RunState, type TrainConfig } from './trainer';

let blocks: BlocksFileInput;
let rules: RulesFileInput;
let data: PreparedData;
let folder: string;

/** A model small enough to train in seconds on two cores. */
function tinyConfig(overrides: Partial<TrainConfig> = {}): TrainConfig {
  const config = defaultTrainConfig({
    model: { contextLength: 32, layers: 2, heads: 4, width: 32 },
    batchSize: 16,
    steps: 80,
    checkpointEvery: 1000,
    ...overrides,
  });
  config.optimizer = { ...config.optimizer, learningRate: 1e-2, warmupSteps: 10 };
  return config;
}

beforeAll(async () => {
  await initBackend();
  blocks = (await readJsonFile(DEMO_BLOCKS_PATH, 'demo blocks')) as BlocksFileInput;
  rules = (await readJsonFile(DEMO_RULES_PATH, 'demo rules')) as RulesFileInput;
  data = await prepareData(tinyConfig().data);
  folder = mkdtempSync(join(tmpdir(), 'localist-training-'));
});

afterAll(() => {
  rmSync(folder, { recursive: true, force: true });
});

describe('trained model', () => {
  let run: RunState;

  beforeAll(async () => {
    run = await createRun(tinyConfig(), blocks, rules, data);
    for (let step = 0; step < run.config.steps; step++) trainStep(run);
  });

  afterAll(() => disposeRun(run));

  test('training lowers the cross-entropy', async () => {
    const inputs = { model: run.model, stream: data.streams.validation, blockTable: run.blockTable, compiled: run.compiled, buildMasks: run.buildMasks };
    const metrics = await evaluate(inputs, { dial: { lambda: 0, kappa: 4 }, maxTokens: 4096 });
    // ln(8000) = 9.0 nats is the uniform guess; 80 steps must do far better.
    expect(metrics.crossEntropy).toBeLessThan(6.5);
  });

  test('fidelity rises and entropy falls with the dial', async () => {
    const inputs = { model: run.model, stream: data.streams.validation, blockTable: run.blockTable, compiled: run.compiled, buildMasks: run.buildMasks };
    const atZero = await evaluate(inputs, { dial: { lambda: 0, kappa: 4 }, maxTokens: 8192 });
    const atOne = await evaluate(inputs, { dial: { lambda: 1, kappa: 4 }, maxTokens: 8192 });
    expect(atZero.activeRuleRows).toBeGreaterThan(20);
    expect(atOne.pointerFidelity!).toBeGreaterThan(atZero.pointerFidelity!);
    expect(atOne.attentionEntropy).toBeLessThan(atZero.attentionEntropy);
    expect(atOne.blockEntropy).toBeLessThan(atZero.blockEntropy);
  });

  test('raising lambda never lowers a rule row target mass', () => {
    const { contextLength: T, layers: L, heads: H } = run.config.model;
    const offsets = evaluationOffsets(data.streams.validation.length, T, 32);
    const batch = assembleBatch(
      data.streams.validation,
      offsets,
      { contextLength: T, layers: L, heads: H, blockCount: run.modelConfig.blocks + 1 },
      run.blockTable.blockOf,
      run.buildMasks,
    );
    const { targetMask, active, strength } = batch.inputs;
    const rows = active.length;
    const massesAt = (lambda: number) =>
      tf.tidy(() => {
        const result = run.model.forward(batch.inputs, { dial: { lambda, kappa: 4 }, keepAttention: true });
        const mask = tf.tensor(targetMask, [L, offsets.length, H, T, T]);
        return {
          dialled: tf.sum(tf.mul(tf.stack(result.dialled ?? []), mask), -1).dataSync() as Float32Array,
          distributed: tf.sum(tf.mul(tf.stack(result.distributed ?? []), mask), -1).dataSync() as Float32Array,
        };
      });
    let checkedRows = 0;
    let previous: Float32Array | undefined;
    for (let step = 0; step <= 10; step++) {
      const lambda = step / 10;
      const { dialled, distributed } = massesAt(lambda);
      for (let row = 0; row < rows; row++) {
        if (!active[row]) continue;
        // Every layer: the dialled mass is the closed form of its own undialled mass, which rises with lambda.
        const boost = Math.exp(lambda * strength[row]);
        const p = distributed[row];
        expect(Math.abs(dialled[row] - (p * boost) / (p * boost + 1 - p))).toBeLessThan(1e-4);
        // Layer 0: its undialled mass does not depend on lambda, so the mass itself never falls.
        if (previous && row < rows / L) expect(dialled[row]).toBeGreaterThanOrEqual(previous[row] - 1e-6);
        checkedRows++;
      }
      previous = dialled;
    }
    expect(checkedRows).toBeGreaterThan(100);
  });
});

function trainJob(config: TrainConfig, checkpointPath: string, replicas = 1) {
  return { kind: 'train' as const, start: { config, blocks, rules }, checkpointPath, replicas };
}

async function weightsOf(path: string): Promise<Map<string, Float32Array>> {
  const { contents } = await readCheckpoint(path);
  return new Map(contents.weights.map((record) => [record.name, record.data]));
}

function largestDifference(a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
  let largest = 0;
  for (const [name, values] of a) {
    const other = b.get(name)!;
    for (let i = 0; i < values.length; i++) largest = Math.max(largest, Math.abs(values[i] - other[i]));
  }
  return largest;
}

describe('replica shards', () => {
  test('shard gradients sum to the whole batch gradient', async () => {
    const run = await createRun(tinyConfig({ batchSize: 15, lambdaTrain: 0.7 }), blocks, rules, data);
    try {
      const whole = computeGradients(run, 0, 1);
      for (const replicas of [2, 3]) {
        const parts = Array.from({ length: replicas }, (_, replica) => computeGradients(run, replica, replicas));
        const loss = parts.reduce((sum, part) => sum + part.report.loss, 0);
        expect(Math.abs(loss - whole.report.loss)).toBeLessThan(1e-5);
        let largest = 0;
        for (const name of Object.keys(whole.grads)) {
          const summed = tf.tidy(() => tf.addN(parts.map((part) => part.grads[name])).dataSync());
          const expected = whole.grads[name].dataSync();
          for (let i = 0; i < expected.length; i++) largest = Math.max(largest, Math.abs(summed[i] - expected[i]));
        }
        expect(largest).toBeLessThan(1e-6);
        for (const part of parts) tf.dispose(Object.values(part.grads));
      }
      tf.dispose(Object.values(whole.grads));
    } finally {
      disposeRun(run);
    }
  });
});

describe('training jobs', () => {
  test('cancel stops within one step and resume continues', async () => {
    const config = tinyConfig({ steps: 10 });
    const cancelledPath = join(folder, 'cancelled.localist');
    const controller = new AbortController();
    let stepAtCancel = -1;
    const seenSteps: number[] = [];
    const first = (await runJob(trainJob(config, cancelledPath), {
      signal: controller.signal,
      onMessage: (message) => {
        if (message.type !== 'progress') return;
        seenSteps.push(message.step);
        if (message.step === 3 && !controller.signal.aborted) {
          stepAtCancel = message.step;
          controller.abort();
        }
      },
    })) as TrainResult;
    expect(first.cancelled).toBe(true);
    expect(first.steps).toBeGreaterThanOrEqual(stepAtCancel);
    expect(first.steps).toBeLessThanOrEqual(stepAtCancel + 1);
    const saved = await readCheckpoint(cancelledPath);
    expect(saved.contents.training.step).toBe(first.steps);

    const resumedSteps: number[] = [];
    const resumed = (await runJob(
      { kind: 'train', start: { resume: cancelledPath }, checkpointPath: cancelledPath, replicas: 1 },
      { onMessage: (message) => message.type === 'progress' && resumedSteps.push(message.step) },
    )) as TrainResult;
    expect(resumedSteps[0]).toBe(first.steps + 1);
    expect(resumed.steps).toBe(10);
    expect(resumed.cancelled).toBe(false);

    // The interrupted run ends where an uninterrupted one does.
    const straightPath = join(folder, 'straight.localist');
    await runJob(trainJob(config, straightPath));
    expect(largestDifference(await weightsOf(cancelledPath), await weightsOf(straightPath))).toBeLessThan(1e-6);
  });

  test('time budget ends training early with the schedule finished', async () => {
    const config = tinyConfig({ steps: 100_000, timeBudgetSeconds: 3 });
    const path = join(folder, 'budget.localist');
    let lastStepSeconds = 0;
    const result = (await runJob(trainJob(config, path), {
      onMessage: (message) => {
        if (message.type === 'progress') lastStepSeconds = message.elapsedSeconds;
      },
    })) as TrainResult;
    expect(result.stoppedBy).toBe('time-budget');
    expect(result.cancelled).toBe(false);
    expect(result.steps).toBeGreaterThan(0);
    expect(result.steps).toBeLessThan(100_000);
    expect(lastStepSeconds).toBeGreaterThanOrEqual(3);
    const saved = await readCheckpoint(path);
    expect(saved.contents.training.step).toBe(result.steps);
  });

  test('replicas match one worker with rules and uneven shares', async () => {
    // 15 sequences split 7 and 8, or 5, 5 and 5, with the dial drawn per step
    // and the demo rules active: each replica's loss is its share of the batch
    // objective, so the summed gradients equal the whole batch's.
    const config = tinyConfig({ steps: 3, batchSize: 15 });
    const onePath = join(folder, 'one.localist');
    await runJob(trainJob(config, onePath, 1));
    const one = await weightsOf(onePath);
    for (const replicas of [2, 3]) {
      const path = join(folder, `replicas-${replicas}.localist`);
      const result = (await runJob(trainJob(config, path, replicas))) as TrainResult;
      expect(result.steps).toBe(3);
      // Adam turns float rounding in near-zero gradients into steps of up to
      // the learning rate, so weights agree only loosely; the gradient test
      // below checks the sums exactly.
      expect(largestDifference(one, await weightsOf(path))).toBeLessThan(2e-3);
    }
  });

  test('more replicas than sequences is bad input', async () => {
    const error = await runJob(trainJob(tinyConfig({ steps: 1, batchSize: 2 }), join(folder, 'never-replicas.localist'), 3)).catch(
      (caught: unknown) => caught,
    );
    expect((error as EngineError).code).toBe('invalid-input');
    expect((error as EngineError).message).toContain('3 replicas cannot share a batch of 2 sequences');
  });

  test('damaged checkpoint is refused and left as it was', async () => {
    const source = join(folder, 'straight.localist');
    const damaged = join(folder, 'damaged.localist');
    copyFileSync(source, damaged);
    const bytes = readFileSync(damaged);
    bytes[bytes.length - 100] ^= 0xff;
    writeFileSync(damaged, bytes);
    const error = await runJob({ kind: 'evaluate', checkpoint: damaged, split: 'validation', lambdas: [0] }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(EngineError);
    expect((error as EngineError).code).toBe('invalid-checkpoint');
    expect((error as EngineError).message).toContain('damaged.localist');
    expect(readFileSync(damaged).equals(bytes)).toBe(true);
  });

  test('invalid rules are refused as bad input', async () => {
    const broken: RulesFileInput = {
      version: 1,
      rules: [{ id: 'bad', name: 'bad', trigger: { tokens: ['paid'] }, target: 'no-such-block' }],
    };
    const error = await runJob({
      kind: 'train',
      start: { config: tinyConfig({ steps: 1 }), blocks, rules: broken },
      checkpointPath: join(folder, 'never.localist'),
      replicas: 1,
    }).catch((caught: unknown) => caught);
    expect((error as EngineError).code).toBe('invalid-input');
    expect((error as EngineError).message).toContain('no-such-block');
  });
});

/** Writes a small two-domain text corpus of `perDomain` documents each and returns its folder. */
function writeCorpus(root: string, perDomain: number): string {
  const words = ['alpha', 'beta', 'gamma', 'delta', 'river', 'stone', 'paid', 'money', 'court', 'judge', 'the', 'a', 'of', '.'];
  let state = 7;
  const next = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
  for (const domain of ['east', 'west']) {
    mkdirSync(join(root, domain), { recursive: true });
    for (let d = 0; d < perDomain; d++) {
      const text = Array.from({ length: 400 }, () => words[Math.floor(next() * words.length)]).join(' ');
      writeFileSync(join(root, domain, `doc${d}.txt`), text);
    }
  }
  return root;
}

function textConfig(corpus: string, overrides: Partial<TrainConfig> = {}): TrainConfig {
  const config = defaultTrainConfig({ model: { contextLength: 16, layers: 1, heads: 2, width: 16 }, batchSize: 4, steps: 3, ...overrides });
  config.data = { ...config.data, corpus, maxVocab: 100 };
  return config;
}

function textJob(config: TrainConfig, checkpointPath: string) {
  return { kind: 'train' as const, start: { config, blocks: EMPTY_BLOCKS, rules: EMPTY_RULES }, checkpointPath, replicas: 1 };
}

describe('bad input to training jobs', () => {
  test('changed corpus is refused at evaluation', async () => {
    const corpus = writeCorpus(join(folder, 'changing'), 4);
    const path = join(folder, 'changing.localist');
    await runJob(textJob(textConfig(corpus), path));
    writeFileSync(join(corpus, 'east', 'doc9.txt'), 'a new document about the river');
    const error = await runJob({ kind: 'evaluate', checkpoint: path, split: 'test', lambdas: [0] }).catch((caught: unknown) => caught);
    expect((error as EngineError).code).toBe('invalid-input');
    expect((error as EngineError).message).toContain('differs from the one the model was trained on');
  });

  test('corpus too small for held-out splits is refused', async () => {
    const corpus = writeCorpus(join(folder, 'small'), 1);
    const error = await runJob(textJob(textConfig(corpus), join(folder, 'small.localist'))).catch((caught: unknown) => caught);
    expect((error as EngineError).code).toBe('invalid-input');
    expect((error as EngineError).message).toMatch(/leaves 0 tokens for the validation split/);
  });

  test('unwritable checkpoint folder is refused before training', async () => {
    const corpus = writeCorpus(join(folder, 'writable'), 4);
    const blocker = join(folder, 'a-file');
    writeFileSync(blocker, 'not a folder');
    const error = await runJob(textJob(textConfig(corpus), join(blocker, 'x.localist'))).catch((caught: unknown) => caught);
    expect((error as EngineError).code).toBe('invalid-input');
    expect((error as EngineError).message).toContain('cannot be written');
  });

  test('cancel before the first step keeps an existing checkpoint', async () => {
    const corpus = writeCorpus(join(folder, 'keep'), 4);
    const path = join(folder, 'keep.localist');
    writeFileSync(path, 'an earlier checkpoint');
    const controller = new AbortController();
    const pending = runJob(textJob(textConfig(corpus, { steps: 50 }), path), { signal: controller.signal });
    controller.abort();
    const result = (await pending) as TrainResult;
    expect(result.cancelled).toBe(true);
    expect(result.steps).toBe(0);
    expect(readFileSync(path, 'utf8')).toBe('an earlier checkpoint');
  });

  test('overlapping rules are reported before training', async () => {
    const corpus = writeCorpus(join(folder, 'overlap'), 4);
    const twoBlocks: BlocksFileInput = {
      version: 1,
      blocks: [
        { id: 'money', name: 'Money', tokens: ['money', 'paid'] },
        { id: 'law', name: 'Law', tokens: ['court', 'judge'] },
      ],
    };
    const overlapping: RulesFileInput = {
      version: 1,
      rules: [
        { id: 'the-to-money', name: 'the to money', trigger: { tokens: ['the', 'a'] }, target: 'money' },
        { id: 'the-to-law', name: 'the to law', trigger: { tokens: ['the'] }, target: 'law' },
      ],
    };
    const logs: string[] = [];
    await runJob(
      { kind: 'train', start: { config: textConfig(corpus, { steps: 1 }), blocks: twoBlocks, rules: overlapping }, checkpointPath: join(folder, 'overlap.localist'), replicas: 1 },
      { onMessage: (message) => message.type === 'log' && logs.push(message.message) },
    );
    const warnings = logs.filter((line) => line.startsWith('warning: rules'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('"the-to-money" and "the-to-law"');
    expect(warnings[0]).toContain('shared trigger words: the');
  });

  test('checkpoint with an invalid config part is damaged', async () => {
    const source = join(folder, 'changing.localist');
    const { contents } = await readCheckpoint(source);
    const broken = join(folder, 'broken-config.localist');
    await writeCheckpoint(broken, { ...contents, config: { train: null } }, { appVersion: 'test' });
    const error = await runJob({ kind: 'evaluate', checkpoint: broken, split: 'test', lambdas: [0] }).catch((caught: unknown) => caught);
    expect((error as EngineError).code).toBe('invalid-checkpoint');
    expect((error as EngineError).message).toContain('invalid config part');
  });
});
