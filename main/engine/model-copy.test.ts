import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { initBackend } from './backend';
import { assembleBatch, evaluationOffsets, type Batch } from './batch';
import type { BlocksFileInput } from './blocks';
import { ValidationError } from './errors';
import type { LocalistModel } from './model';
import { copyModel, copyRun, copyRunWithBlock, runWithModel, withAddedBlock } from './model-copy';
import { createRandom } from './random';
import type { RulesFileInput } from './rules';
import { createRun, defaultTrainConfig, disposeRun, trainStep, type RunState, type TrainConfig } from './trainer';

const WORDS = Array.from({ length: 30 }, (_, i) => `w${i}`);

const BLOCKS: BlocksFileInput = {
  version: 1,
  blocks: [
    { id: 'low', name: 'Low', tokens: WORDS.slice(0, 5) },
    { id: 'high', name: 'High', tokens: WORDS.slice(5, 10) },
  ],
};

const RULES: RulesFileInput = {
  version: 1,
  rules: [{ id: 'to-low', name: 'to low', trigger: { tokens: ['w20', 'w21', 'w22'] }, target: 'low', strength: 3 }],
};

/** The block the copies add: words that no other block holds. */
const ADDED_BLOCK = { id: 'added', name: 'Added', tokens: ['w12', 'w13', 'w14'], origin: 'recruited' as const };

let folder: string;
let run: RunState;

function tinyConfig(corpus: string): TrainConfig {
  const config = defaultTrainConfig({
    data: { corpus, seed: 1, validationFraction: 0.1, testFraction: 0.1, maxVocab: 100 },
    model: { contextLength: 12, layers: 2, heads: 2, width: 16 },
    batchSize: 4,
    steps: 20,
    lambdaTrain: 'uniform',
    seed: 3,
  });
  config.optimizer = { ...config.optimizer, learningRate: 1e-2, warmupSteps: 2 };
  return config;
}

/** Writes ten documents of random words w0..w29. */
function writeCorpus(path: string): void {
  const random = createRandom(5);
  for (let d = 0; d < 10; d++) {
    const words = Array.from({ length: 300 }, () => WORDS[Math.floor(random() * WORDS.length)]);
    writeFileSync(join(path, `doc${d}.txt`), words.join(' '));
  }
}

function batchFor(state: RunState, blockOf: Int32Array, blockCount: number, stream = state.data.streams.train): Batch {
  const { contextLength: T, layers: L, heads: H } = state.config.model;
  const offsets = evaluationOffsets(stream.length, T, 6);
  return assembleBatch(stream, offsets, { contextLength: T, layers: L, heads: H, blockCount }, blockOf, state.buildMasks);
}

function logitsOf(model: LocalistModel, batch: Batch, lambda: number): Float32Array {
  return tf.tidy(() => model.forward(batch.inputs, { dial: { lambda, kappa: 4 } }).logits.dataSync() as Float32Array);
}

function largestDifference(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let largest = 0;
  for (let i = 0; i < a.length; i++) largest = Math.max(largest, Math.abs(a[i] - b[i]));
  return largest;
}

function weightsOf(model: LocalistModel): Map<string, Float32Array> {
  return new Map([...model.params].map(([name, variable]) => [name, Float32Array.from(variable.dataSync() as Float32Array)]));
}

beforeAll(async () => {
  await initBackend();
  folder = mkdtempSync(join(tmpdir(), 'localist-model-copy-'));
  writeCorpus(folder);
  run = await createRun(tinyConfig(folder), BLOCKS, RULES);
  for (let step = 0; step < 5; step++) trainStep(run);
  // Give the block parameters values that a copy could lose.
  tf.tidy(() => {
    for (const [name, variable] of run.model.params) {
      if (name === 'blockEmbedding' || name.endsWith('blockKeyBias')) {
        variable.assign(tf.randomNormal(variable.shape, 0, 0.5, 'float32', 7));
      }
    }
  });
});

afterAll(() => {
  disposeRun(run);
  rmSync(folder, { recursive: true, force: true });
});

describe('copyModel', () => {
  test('copy gives identical logits', () => {
    const batch = batchFor(run, run.blockTable.blockOf, 3);
    expect(batch.inputs.active.some((value) => value === 1)).toBe(true);
    const copy = copyModel(run.model);
    for (const lambda of [0, 0.6, 1]) {
      expect(largestDifference(logitsOf(copy, batch, lambda), logitsOf(run.model, batch, lambda))).toBe(0);
    }
    copy.dispose();
  });

  test('copy leaks no tensors', () => {
    const before = tf.memory().numTensors;
    const copy = copyModel(run.model);
    logitsOf(copy, batchFor(run, run.blockTable.blockOf, 3), 0.5);
    copy.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  test('training the copy leaves the original unchanged', () => {
    const before = weightsOf(run.model);
    const copied = copyRun(run);
    trainStep(copied);
    for (const [name, values] of weightsOf(run.model)) expect(Array.from(values), name).toEqual(Array.from(before.get(name)!));
    const moved = [...weightsOf(copied.model)].some(([name, values]) => largestDifference(values, before.get(name)!) > 0);
    expect(moved).toBe(true);
    disposeRun(copied);
  });
});

describe('withAddedBlock', () => {
  test('adds a zero block and copies the rest', () => {
    const grown = withAddedBlock(run.model);
    expect(grown.config.blocks).toBe(run.model.config.blocks + 1);
    const { width: D, heads: H } = run.model.config;
    const embedding = grown.param('blockEmbedding').dataSync();
    const oldEmbedding = run.model.param('blockEmbedding').dataSync();
    expect(Array.from(embedding.slice(0, 2 * D))).toEqual(Array.from(oldEmbedding));
    expect(Array.from(embedding.slice(2 * D))).toEqual(new Array(D).fill(0));
    for (const layer of [0, 1]) {
      const bias = grown.param(`layer${layer}.blockKeyBias`).dataSync();
      expect(Array.from(bias.slice(0, 2 * H))).toEqual(Array.from(run.model.param(`layer${layer}.blockKeyBias`).dataSync()));
      expect(Array.from(bias.slice(2 * H))).toEqual(new Array(H).fill(0));
    }
    expect(grown.parameterCount - run.model.parameterCount).toBe(D + 2 * H);
    grown.dispose();
  });

  test('grown model gives identical logits at lambda zero', () => {
    const grownRun = copyRunWithBlock(run, ADDED_BLOCK);
    const batch = batchFor(grownRun, grownRun.blockTable.blockOf, 4);
    const newBlockPositions = batch.inputs.blockOneHot.filter((value, index) => index % 4 === 3 && value === 1).length;
    expect(newBlockPositions).toBeGreaterThan(0);
    const oldBatch = batchFor(run, run.blockTable.blockOf, 3);
    expect(largestDifference(logitsOf(grownRun.model, batch, 0), logitsOf(run.model, oldBatch, 0))).toBe(0);
    disposeRun(grownRun);
  });

  test('grown model gives identical logits at full dial without its tokens', () => {
    // The old block layout, fed with one more (empty) block column.
    const grown = withAddedBlock(run.model);
    const batch = batchFor(run, run.blockTable.blockOf, 4);
    const oldBatch = batchFor(run, run.blockTable.blockOf, 3);
    expect(largestDifference(logitsOf(grown, batch, 1), logitsOf(run.model, oldBatch, 1))).toBeLessThan(1e-5);
    grown.dispose();
  });

  test('grown model from no blocks has zero block parameters', async () => {
    const plain = await createRun(tinyConfig(folder), { version: 1, blocks: [] }, { version: 1, rules: [] }, run.data);
    expect(plain.model.params.has('blockEmbedding')).toBe(false);
    const grown = withAddedBlock(plain.model);
    expect(grown.param('blockEmbedding').shape).toEqual([1, 16]);
    expect(Array.from(grown.param('blockEmbedding').dataSync())).toEqual(new Array(16).fill(0));
    expect(Array.from(grown.param('layer1.blockKeyBias').dataSync())).toEqual([0, 0]);
    grown.dispose();
    disposeRun(plain);
  });

  test('grown model leaks no tensors', () => {
    const before = tf.memory().numTensors;
    const grown = withAddedBlock(run.model);
    logitsOf(grown, batchFor(run, run.blockTable.blockOf, 4), 0.5);
    grown.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('runWithModel', () => {
  test('copied run keeps position and gets a fresh optimizer', () => {
    const copied = copyRun(run);
    expect(copied.step).toBe(run.step);
    expect(copied.tokensSeen).toBe(run.tokensSeen);
    expect(copied.blockTable.blocks.map((block) => block.id)).toEqual(['low', 'high']);
    expect(copied.compiled.rules.map((rule) => rule.id)).toEqual(['to-low']);
    for (const { m, v } of copied.optimizer.moments.values()) {
      expect(tf.tidy(() => tf.sum(tf.abs(m)).dataSync()[0] + tf.sum(tf.abs(v)).dataSync()[0])).toBe(0);
    }
    disposeRun(copied);
  });

  test('two copies train identically', () => {
    const first = copyRun(run);
    const second = copyRun(run);
    const firstReport = trainStep(first);
    const secondReport = trainStep(second);
    expect(secondReport.loss).toBe(firstReport.loss);
    const secondWeights = weightsOf(second.model);
    for (const [name, values] of weightsOf(first.model)) expect(largestDifference(values, secondWeights.get(name)!), name).toBe(0);
    disposeRun(first);
    disposeRun(second);
  });

  test('block count mismatch is rejected', () => {
    const model = copyModel(run.model);
    const oneBlock: BlocksFileInput = { version: 1, blocks: [BLOCKS.blocks[0]] };
    expect(() => runWithModel(run, model, oneBlock)).toThrow(/model has 2 blocks but the blocks file defines 1/);
    model.dispose();
  });

  test('invalid added block is rejected without leaking', () => {
    const before = tf.memory().numTensors;
    const clash = { id: 'clash', name: 'Clash', tokens: ['w0', 'w11'] };
    expect(() => copyRunWithBlock(run, clash)).toThrow(ValidationError);
    expect(tf.memory().numTensors).toBe(before);
  });

  test('copies leak no tensors', () => {
    const before = tf.memory().numTensors;
    const copied = copyRun(run);
    trainStep(copied);
    disposeRun(copied);
    const grown = copyRunWithBlock(run, ADDED_BLOCK);
    trainStep(grown);
    disposeRun(grown);
    expect(tf.memory().numTensors).toBe(before);
  });
});
