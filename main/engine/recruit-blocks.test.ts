import * as tf from '@tensorflow/tfjs';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { initBackend } from './backend';
import { countTokens } from './corpus';
import { prepareData, type PreparedData } from './data';
import { createRandom } from './random';
import {
  blockCost,
  blockParameterCount,
  penalizedLikelihood,
  recruitBlocks,
  recruitedBlockSpec,
  type CandidateRecord,
  type RecruitmentProgress,
  type RecruitmentResult,
} from './recruit-blocks';
import { compileRules } from './rules';
import { Tokenizer } from './tokenizer';
import { createRun, defaultTrainConfig, disposeRun, trainStep, type RunState, type TrainConfig } from './trainer';

const COLOR_NAMES = ['red', 'green', 'blue', 'amber', 'azure', 'beige', 'coral', 'cyan', 'gold', 'grey'];
/** The hidden class: 64 interchangeable words, each followed by "box". */
const COLORS = Array.from({ length: 64 }, (_, i) => COLOR_NAMES[i] ?? `c${i}`);
const DOCUMENT_WORDS = 400;

let folder: string;

/**
 * Writes documents in which 40 words r0..r39 follow a Markov chain (two
 * successors each, chosen with probability 0.8 and 0.2), and with
 * probability 0.2 a uniformly drawn color interrupts the chain, followed by
 * "box". Colors share every context, so they form one hidden class.
 */
function writeClassCorpus(path: string, documents: number, seed: number): void {
  const random = createRandom(seed);
  const successors = Array.from({ length: 40 }, () => [Math.floor(random() * 40), Math.floor(random() * 40)]);
  for (let d = 0; d < documents; d++) {
    const words: string[] = [];
    let state = Math.floor(random() * 40);
    while (words.length < DOCUMENT_WORDS) {
      if (random() < 0.2) {
        words.push(COLORS[Math.floor(random() * COLORS.length)], 'box');
      } else {
        words.push(`r${state}`);
        state = successors[state][random() < 0.8 ? 0 : 1];
      }
    }
    writeFileSync(join(path, `doc${String(d).padStart(3, '0')}.txt`), words.join(' '));
  }
}

/** Writes documents of words t0..t59 drawn independently and uniformly: no token predicts another. */
function writeIndependentCorpus(path: string, documents: number, seed: number): void {
  const random = createRandom(seed);
  for (let d = 0; d < documents; d++) {
    const words = Array.from({ length: DOCUMENT_WORDS }, () => `t${Math.floor(random() * 60)}`);
    writeFileSync(join(path, `doc${String(d).padStart(3, '0')}.txt`), words.join(' '));
  }
}

function corpusFolder(name: string, write: (path: string) => void): string {
  const path = join(folder, name);
  mkdirSync(path);
  write(path);
  return path;
}

/** Returns a train config with one layer, two heads, width 16, context 16, batch 8 and lambda 0, so a step takes milliseconds. */
function tinyConfig(corpus: string, learningRate: number): TrainConfig {
  const config = defaultTrainConfig({
    data: { corpus, seed: 1, validationFraction: 0.1, testFraction: 0.05, maxVocab: 500 },
    model: { contextLength: 16, layers: 1, heads: 2, width: 16 },
    batchSize: 8,
    steps: 1000,
    lambdaTrain: 0,
    seed: 1,
    checkpointEvery: 10_000,
  });
  config.optimizer = { ...config.optimizer, learningRate, warmupSteps: 10 };
  return config;
}

function jaccard(a: string[], b: string[]): number {
  const left = new Set(a);
  const right = new Set(b);
  let shared = 0;
  for (const word of left) if (right.has(word)) shared++;
  return shared / (left.size + right.size - shared);
}

/** Checks the identities that tie each record's numbers together. */
function expectConsistentRecord(record: CandidateRecord, trainingTokens: number, parameters: number): void {
  const label = `round ${record.round} candidate ${record.candidate}`;
  expect(record.gain, label).toBeCloseTo(trainingTokens * (record.baselineSampleNll - record.candidateSampleNll), 3);
  expect(record.fBefore - record.fAfter, label).toBeCloseTo(record.gain - record.cost - record.repricing, 3);
  expect(record.repricing, label).toBeGreaterThanOrEqual(-1e-6);
  expect(record.cost, label).toBeGreaterThan((parameters / 2) * Math.log(trainingTokens) - 1e-9);
}

beforeAll(async () => {
  await initBackend();
  folder = mkdtempSync(join(tmpdir(), 'localist-recruit-'));
});

afterAll(() => {
  rmSync(folder, { recursive: true, force: true });
});

describe('costs', () => {
  test('block cost follows the BIC form', () => {
    expect(blockParameterCount({ width: 16, layers: 1, heads: 2 })).toBe(18);
    expect(blockCost(10, 3, 18, 1000)).toBeCloseTo(9 * Math.log(1000) + 10 * Math.log(4), 10);
  });

  test('penalized likelihood sums NLL and block costs', () => {
    const expected = 1000 * 2.5 + blockCost(4, 2, 18, 1000) + blockCost(6, 2, 18, 1000);
    expect(penalizedLikelihood(2.5, [4, 6], 18, 1000)).toBeCloseTo(expected, 8);
    expect(penalizedLikelihood(2.5, [], 18, 1000)).toBe(2500);
  });
});

describe('recruitedBlockSpec', () => {
  test('names a block after its frequent words', () => {
    const spec = recruitedBlockSpec(['said', 'told', 'asked', 'replied'], new Set());
    expect(spec).toEqual({
      id: 'recruited-said-told',
      name: 'said, told, asked',
      tokens: ['said', 'told', 'asked', 'replied'],
      origin: 'recruited',
    });
  });

  test('makes ids valid and unique', () => {
    expect(recruitedBlockSpec(["don't", 'café'], new Set()).id).toBe('recruited-don-t-cafe');
    expect(recruitedBlockSpec([',', '.'], new Set()).id).toBe('recruited');
    const usedIds = new Set(['recruited-red-blue', 'recruited-red-blue-2']);
    expect(recruitedBlockSpec(['red', 'blue'], usedIds).id).toBe('recruited-red-blue-3');
  });
});

describe('corpus with a hidden class', () => {
  let run: RunState;
  let result: RecruitmentResult;
  let recordsPath: string;
  const streamed: CandidateRecord[] = [];
  const progress: RecruitmentProgress[] = [];

  beforeAll(async () => {
    // NOTE: on a model this small the outcome depends on the corpus seed.
    // With 600 documents, 150 steps of pre-training and two clusters, corpus
    // seeds 7 to 14 recruit a color block in round 1 or 2, except seed 12.
    // There a cluster of "box" and chain words wins round 1, and by round 2
    // the colors' gain has fallen below their cost. Seed 7 recruits the
    // colors with a gain about four times their cost.
    const corpus = corpusFolder('class', (path) => writeClassCorpus(path, 600, 7));
    recordsPath = join(folder, 'class-records.jsonl');
    run = await createRun(tinyConfig(corpus, 1e-3), { version: 1, blocks: [] }, { version: 1, rules: [] });
    for (let step = 0; step < 150; step++) trainStep(run);
    result = await recruitBlocks(
      run,
      { stepsPerCandidate: 200, clusters: 2, sampleTokens: 8192, heldOutTokens: 4096, maximumRounds: 3, recordsPath },
      { onRecord: (record) => streamed.push(record), onProgress: (position) => progress.push(position) },
    );
  });

  afterAll(() => {
    disposeRun(result.run);
    disposeRun(run);
  });

  test('recruits a block matching the class', () => {
    const overlaps = result.recruited.map((block) => jaccard(block.tokens, COLORS));
    expect(Math.max(0, ...overlaps)).toBeGreaterThanOrEqual(0.5);
    const match = result.recruited[overlaps.indexOf(Math.max(...overlaps))];
    expect(match.origin).toBe('recruited');
    expect(match.id).toMatch(/^recruited-[a-z0-9-]+$/);
    expect(match.name.split(', ')).toEqual(match.tokens.slice(0, 3));
  });

  test('accepted candidates pay for themselves', () => {
    const accepted = result.records.filter((record) => record.decision === 'accepted');
    expect(accepted.length).toBe(result.recruited.length);
    expect(accepted.map((record) => record.blockId)).toEqual(result.recruited.map((block) => block.id));
    for (const record of accepted) {
      expect(record.gain - record.cost).toBeGreaterThan(record.config.delta);
      expect(record.candidateHeldOutNll).toBeLessThan(record.baselineHeldOutNll);
    }
  });

  test('F falls by more than delta at every accepted round', () => {
    expect(result.rounds.length).toBeGreaterThan(0);
    for (const round of result.rounds) {
      if (round.accepted === null) {
        expect(round.fAfter).toBe(round.fBefore);
        continue;
      }
      expect(round.fBefore - round.fAfter).toBeGreaterThan(1);
    }
  });

  test('rounds terminate', () => {
    expect(result.rounds.length).toBeLessThanOrEqual(3);
    const last = result.rounds[result.rounds.length - 1];
    if (result.stopReason === 'rejected') expect(last.accepted).toBeNull();
    else expect(result.stopReason).toBe('maximum-rounds');
    expect(result.rounds.slice(0, -1).every((round) => round.accepted !== null)).toBe(true);
  });

  test('records are consistent and complete', () => {
    const parameters = blockParameterCount(run.modelConfig);
    for (const record of result.records) expectConsistentRecord(record, result.trainingTokens, parameters);
    for (const round of result.rounds) {
      const records = result.records.filter((record) => record.round === round.round);
      expect(records.length).toBe(Math.min(3, round.candidates.length));
      expect(records.filter((record) => record.decision === 'accepted').length).toBe(round.accepted ? 1 : 0);
      expect(round.candidates.filter((candidate) => candidate.shortlisted).length).toBe(records.length);
    }
    const config = result.records[0].config;
    expect(config).toMatchObject({ stepsPerCandidate: 200, minimumCount: 20, clusters: 2, seed: 1, sampleTokens: 8192, delta: 1 });
  });

  test('candidates are background tokens seen often enough', () => {
    const counts = run.data.trainCounts;
    for (const round of result.rounds) {
      for (const candidate of round.candidates) {
        expect(candidate.tokens.length).toBeLessThanOrEqual(64);
        for (const word of candidate.tokens) {
          expect(counts[run.data.tokenizer.idOf(word) as number], word).toBeGreaterThanOrEqual(20);
        }
      }
    }
  });

  test('records are streamed and written as JSON lines', () => {
    expect(streamed).toEqual(result.records);
    const lines = readFileSync(recordsPath, 'utf8').trimEnd().split('\n');
    expect(lines.map((line) => JSON.parse(line))).toEqual(JSON.parse(JSON.stringify(result.records)));
  });

  test('progress covers every training step', () => {
    const baselineSteps = progress.filter((position) => position.round === 1 && position.candidate === null);
    expect(baselineSteps.map((position) => position.step)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    const rounds = new Set(progress.map((position) => position.round));
    expect(rounds.size).toBe(result.rounds.length);
  });

  test('rule can target a recruited block', () => {
    const target = result.recruited[0];
    const compiled = compileRules(
      { version: 1, rules: [{ id: 'to-recruited', name: 'to recruited', trigger: { tokens: ['box'] }, target: target.id }] },
      result.run.blockTable,
      result.run.data.tokenizer,
      { layers: 1, heads: 2 },
    );
    const rule = compiled.rules[0];
    expect(rule.targetBlock).toBe(result.run.blockTable.blocks.indexOf(target) + 1);
    for (const id of target.tokenIds) expect(rule.targetMembership[id]).toBe(1);
  });

  test('recruited run trains on', () => {
    const K = result.run.blockTable.blocks.length;
    expect(result.run.modelConfig.blocks).toBe(K);
    expect(result.run.model.param('blockEmbedding').shape).toEqual([K, 16]);
    expect(result.run.config).toBe(run.config);
    expect(result.run.step).toBe(run.step + 200 * result.rounds.length);
    const report = trainStep(result.run);
    expect(Number.isFinite(report.loss)).toBe(true);
  });

  test('input run is left unchanged', () => {
    expect(run.step).toBe(150);
    expect(run.blockTable.blocks.length).toBe(0);
    expect(run.model.params.has('blockEmbedding')).toBe(false);
  });
});

describe('corpus without a class', () => {
  let data: PreparedData;

  beforeAll(async () => {
    const corpus = corpusFolder('independent', (path) => writeIndependentCorpus(path, 100, 3));
    data = await prepareData(tinyConfig(corpus, 1e-3).data);
  });

  test('recruits nothing', async () => {
    const config = tinyConfig(data.spec.corpus, 1e-3);
    const run = await createRun(config, { version: 1, blocks: [] }, { version: 1, rules: [] }, data);
    for (let step = 0; step < 100; step++) trainStep(run);
    const result = await recruitBlocks(run, { stepsPerCandidate: 100, clusters: 3, sampleTokens: 8192, heldOutTokens: 4096 });
    expect(result.recruited).toEqual([]);
    expect(result.stopReason).toBe('rejected');
    expect(result.rounds.length).toBe(1);
    expect(result.records.length).toBe(3);
    for (const record of result.records) {
      expect(record.decision).toBe('rejected: cost');
      // No token predicts another, so a block can only add noise.
      expect(Math.abs(record.gain)).toBeLessThan(record.cost / 4);
    }
    disposeRun(result.run);
    disposeRun(run);
  });

  test('extra training alone never wins', async () => {
    // "never" and "absent" are in the vocabulary but not in the text, so a
    // block of them changes no logit and no gradient: the candidate trains
    // exactly as the baseline does.
    const words = [...data.tokenizer.vocab, 'never', 'absent'];
    const tokenizer = new Tokenizer(words);
    const extended: PreparedData = { ...data, tokenizer, trainCounts: countTokens(data.streams.train, tokenizer.size) };
    const run = await createRun(tinyConfig(data.spec.corpus, 1e-2), { version: 1, blocks: [] }, { version: 1, rules: [] }, extended);

    const result = await recruitBlocks(run, {
      stepsPerCandidate: 60,
      sampleTokens: 4096,
      heldOutTokens: 2048,
      candidateTokens: [['never', 'absent']],
    });
    const [record] = result.records;
    expect(result.records.length).toBe(1);
    expect(record.gain).toBe(0);
    expect(record.candidateHeldOutNll).toBe(record.baselineHeldOutNll);
    expect(record.decision).toBe('rejected: cost');
    expect(record.fAfter - record.fBefore).toBeCloseTo(record.cost, 6);
    // The same steps lowered the NLL far more than the cost, so a comparison
    // with the untrained model would have accepted the block.
    const trainingGain = result.trainingTokens * (result.rounds[0].startSampleNll - record.baselineSampleNll);
    expect(trainingGain).toBeGreaterThan(10 * record.cost);
    expect(result.recruited).toEqual([]);
    disposeRun(result.run);
    disposeRun(run);
  });
});

describe('limits and cancellation', () => {
  let run: RunState;

  beforeAll(async () => {
    const corpus = corpusFolder('limits', (path) => writeIndependentCorpus(path, 20, 5));
    run = await createRun(
      tinyConfig(corpus, 1e-2),
      { version: 1, blocks: [{ id: 'low', name: 'Low', tokens: ['t0', 't1', 't2'] }] },
      { version: 1, rules: [] },
    );
  });

  afterAll(() => disposeRun(run));

  test('stops at the block limit', async () => {
    const result = await recruitBlocks(run, { maximumBlocks: 1 });
    expect(result.stopReason).toBe('maximum-blocks');
    expect(result.rounds).toEqual([]);
    expect(result.run.blockTable.blocks.map((block) => block.id)).toEqual(['low']);
    expect(result.run.step).toBe(run.step);
    disposeRun(result.run);
  });

  test('stops without candidates', async () => {
    const result = await recruitBlocks(run, { minimumCount: 1_000_000 });
    expect(result.stopReason).toBe('no-candidates');
    expect(result.records).toEqual([]);
    disposeRun(result.run);
  });

  test('given candidates skip tokens already in a block', async () => {
    const result = await recruitBlocks(run, { stepsPerCandidate: 2, sampleTokens: 512, heldOutTokens: 256, candidateTokens: [['t1', 't5', 't6']] });
    expect([...result.records[0].tokens].sort()).toEqual(['t5', 't6']);
    disposeRun(result.run);
  });

  test('existing blocks are repriced', async () => {
    // Adding a second block raises the membership code of the three tokens of "low" from ln 2 to ln 3 each.
    const result = await recruitBlocks(run, { stepsPerCandidate: 2, sampleTokens: 512, heldOutTokens: 256, candidateTokens: [['t5', 't6']] });
    const [record] = result.records;
    expect(record.repricing).toBeCloseTo(3 * Math.log(3 / 2), 10);
    expect(record.cost).toBeCloseTo(blockCost(2, 2, blockParameterCount(run.modelConfig), result.trainingTokens), 10);
    expect(record.fBefore - record.fAfter).toBeCloseTo(record.gain - record.cost - record.repricing, 6);
    disposeRun(result.run);
  });

  test('unwritable records file is reported', async () => {
    const recordsPath = join(folder, 'missing-folder', 'records.jsonl');
    const recruiting = recruitBlocks(run, { stepsPerCandidate: 2, sampleTokens: 512, heldOutTokens: 256, candidateTokens: [['t5']], recordsPath });
    await expect(recruiting).rejects.toThrow(/records file ".*records.jsonl" could not be written \(ENOENT\)/);
  });

  test('abort cancels and leaks no tensors', async () => {
    const before = tf.memory().numTensors;
    const controller = new AbortController();
    const recruiting = recruitBlocks(
      run,
      { stepsPerCandidate: 50, sampleTokens: 512, heldOutTokens: 256 },
      {
        signal: controller.signal,
        onProgress: (position) => {
          if (position.step === 5) controller.abort();
        },
      },
    );
    await expect(recruiting).rejects.toMatchObject({ name: 'AbortError' });
    expect(tf.memory().numTensors).toBe(before);
  });

  test('invalid options are rejected', async () => {
    await expect(recruitBlocks(run, { stepsPerCandidate: 0 })).rejects.toThrow(/steps per candidate 0 is invalid/);
    await expect(recruitBlocks(run, { evaluationLambdas: [2] })).rejects.toThrow(/evaluation lambdas \[2\] are invalid/);
    await expect(recruitBlocks(run, { candidateTokens: [['zebra']] })).rejects.toThrow(/token "zebra" is not a vocabulary word/);
  });
});
