import * as tf from '@tensorflow/tfjs';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { initBackend } from './backend';
import { createRandom } from './random';
import {
  DEFAULT_MODEL_RECRUITMENT_OPTIONS,
  decideSpecialists,
  planModelRecruitment,
  recruitModels,
  runRecruitTask,
  specialistCost,
  taskRun,
  type ModelRecruitmentPlan,
  type ModelRecruitmentResult,
  type TaskMeasurement,
} from './recruit-models';
import { specialistFileName } from './recruit-model-job';
import { routeDocument, type RoutedModel } from './routing';
import { restoreAdapterState } from './specialists';
import { createRun, defaultTrainConfig, disposeRun, trainStep, type RunState, type TrainConfig } from './trainer';

const DOCUMENT_WORDS = 300;
const WORDS = Array.from({ length: 40 }, (_, i) => `w${i}`);

let folder: string;

/** Cumulative weights of a Zipf law over the words in the order of `ranks`. */
function zipf(ranks: number[]): (random: () => number) => string {
  const weights = ranks.map((_, rank) => 1 / (rank + 1));
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  return (random) => {
    let left = random() * total;
    for (let rank = 0; rank < ranks.length; rank++) {
      left -= weights[rank];
      if (left <= 0) return WORDS[ranks[rank]];
    }
    return WORDS[ranks[ranks.length - 1]];
  };
}

/**
 * Writes documents whose words are drawn independently from a Zipf law over
 * 40 shared words, into `root/domain/`, or into `root` itself for unlabelled
 * text. Domains differ only in which word has which rank, so a parent
 * trained on the mixture fits a minority domain poorly.
 */
function writeDomain(root: string, domain: string | null, documents: number, ranks: number[], seed: number): void {
  const path = domain === null ? root : join(root, domain);
  mkdirSync(path, { recursive: true });
  const random = createRandom(seed);
  const draw = zipf(ranks);
  for (let d = 0; d < documents; d++) {
    const words = Array.from({ length: DOCUMENT_WORDS }, () => draw(random));
    writeFileSync(join(path, `doc${String(d).padStart(3, '0')}.txt`), words.join(' '));
  }
}

function tinyConfig(corpus: string): TrainConfig {
  const config = defaultTrainConfig({
    data: { corpus, seed: 1, validationFraction: 0.1, testFraction: 0.1, maxVocab: 100 },
    model: { contextLength: 16, layers: 1, heads: 2, width: 16 },
    batchSize: 8,
    steps: 1000,
    lambdaTrain: 0,
    seed: 1,
    checkpointEvery: 10_000,
  });
  config.optimizer = { ...config.optimizer, learningRate: 3e-3, warmupSteps: 10 };
  return config;
}

const ascending = WORDS.map((_, i) => i);
const descending = [...ascending].reverse();

beforeAll(async () => {
  await initBackend();
  folder = mkdtempSync(join(tmpdir(), 'localist-specialists-'));
});

afterAll(() => {
  rmSync(folder, { recursive: true, force: true });
});

/** Checks the identities that tie a record's numbers together. */
function expectConsistent(plan: ModelRecruitmentPlan, result: ModelRecruitmentResult): void {
  for (const record of result.records) {
    expect(record.gain, record.domain).toBeCloseTo(record.trainingTokens * (record.baselineSampleNll - record.specialistSampleNll), 6);
    expect(record.cost, record.domain).toBeCloseTo(specialistCost(plan.parameters, record.trainingTokens), 9);
    expect(record.parameters).toBe(plan.parameters);
  }
  const accepted = result.records.filter((record) => record.decision === 'accepted').sort((a, b) => (a.round ?? 0) - (b.round ?? 0));
  accepted.forEach((record, index) => {
    expect(record.round).toBe(index + 1);
    // F falls by gain - cost, which the acceptance test requires to exceed delta.
    expect((record.fBefore as number) - (record.fAfter as number)).toBeCloseTo(record.gain - record.cost, 6);
    expect((record.fBefore as number) - (record.fAfter as number)).toBeGreaterThan(record.config.delta);
    if (index > 0) expect(record.fBefore).toBe(accepted[index - 1].fAfter);
  });
}

describe('two domains, one large and different, one tiny', () => {
  let run: RunState;
  let result: ModelRecruitmentResult;
  const progress: string[] = [];

  beforeAll(async () => {
    const corpus = join(folder, 'two-domains');
    // Unlabelled background text, which no specialist can claim, makes up most of the corpus.
    writeDomain(corpus, null, 200, ascending, 1);
    writeDomain(corpus, 'large', 150, descending, 2);
    writeDomain(corpus, 'tiny', 5, descending, 3);
    run = await createRun(tinyConfig(corpus), { version: 1, blocks: [] }, { version: 1, rules: [] });
    for (let step = 0; step < 300; step++) trainStep(run);
    result = await recruitModels(
      run,
      { stepsPerSpecialist: 200, batchSize: 8, learningRate: 1e-2, sampleTokens: 4096, heldOutTokens: 2048 },
      { onProgress: (position) => progress.push(`${position.task.kind === 'baseline' ? 'baseline' : position.task.domain} ${position.stage}`) },
    );
  });

  afterAll(() => disposeRun(run));

  test('specialist for large domain only', () => {
    expect(result.records.map((record) => record.domain)).toEqual(['large', 'tiny']);
    const [large, tiny] = result.records;
    expect(large.decision).toBe('accepted');
    expect(large.gain - large.cost).toBeGreaterThan(large.config.delta);
    expect(large.specialistHeldOutNll).toBeLessThan(large.baselineHeldOutNll as number);
    // The tiny domain pays almost the same price for its parameters on 30 times fewer tokens.
    expect(tiny.decision).toBe('rejected: cost');
    expect(tiny.gain).toBeLessThan(tiny.cost);
    expect(tiny.cost / tiny.trainingTokens).toBeGreaterThan(10 * (large.cost / large.trainingTokens));
    expect([...result.accepted.keys()]).toEqual(['large']);
  });

  test('records are consistent and F falls by more than delta at each acceptance', () => {
    expectConsistent(result.plan, result);
    // P_spec = 2 L 2 D r with one layer, width 16 and rank 2.
    expect(result.plan.parameters).toBe(2 * 1 * 2 * 16 * 2);
  });

  test('reports progress of every task', () => {
    expect(progress).toContain('baseline training');
    expect(progress).toContain('baseline measuring');
    expect(progress).toContain('large training');
    expect(progress).toContain('tiny measuring');
  });

  test('the parent is unchanged', async () => {
    const before = Array.from(run.model.param('output.kernel').dataSync());
    await runRecruitTask(run, result.plan, { kind: 'specialist', domain: 'tiny' });
    expect(Array.from(run.model.param('output.kernel').dataSync())).toEqual(before);
  });

  test('unlabelled documents route to the model that fits them', async () => {
    const specialist = taskRun(run, result.plan, { kind: 'specialist', domain: 'large' });
    restoreAdapterState(specialist, result.accepted.get('large') as NonNullable<ReturnType<typeof result.accepted.get>>);
    const models: RoutedModel[] = [
      { id: 'parent', domain: null, scorer: run },
      { id: 'specialist:large', domain: 'large', scorer: specialist },
    ];
    const routed = async (domain: string | null) => {
      const documents = run.data.splits.test.filter((document) => document.domain === domain);
      const decisions = [];
      for (const document of documents) {
        const tokens = run.data.tokenizer.encodeDocuments([document.text]);
        decisions.push(await routeDocument(models, { id: document.id, tokens, domain: null }, { lambdas: [0] }));
      }
      return decisions;
    };
    const large = await routed('large');
    const background = await routed(null);
    expect(large.length).toBeGreaterThan(5);
    expect(large.filter((decision) => decision.model === 'specialist:large').length / large.length).toBeGreaterThanOrEqual(0.8);
    expect(background.filter((decision) => decision.model === 'parent').length / background.length).toBeGreaterThanOrEqual(0.8);
    for (const decision of large) {
      expect(decision.reason).toBe('lowest prefix NLL');
      expect(decision.prefixTokens).toBe(64);
      expect(decision.prefixNll[decision.model]).toBe(Math.min(...Object.values(decision.prefixNll)));
    }
    // A label decides without scoring.
    const labelled = await routeDocument(models, { id: 'x', tokens: new Int32Array([1, 2, 3]), domain: 'large' }, { lambdas: [0] });
    expect(labelled).toMatchObject({ model: 'specialist:large', reason: 'label has a specialist', prefixTokens: 0 });
    const other = await routeDocument(models, { id: 'y', tokens: new Int32Array([1, 2, 3]), domain: 'tiny' }, { lambdas: [0] });
    expect(other).toMatchObject({ model: 'parent', reason: 'label has no specialist' });
    disposeRun(specialist);
  });
});

describe('extra training alone', () => {
  test('a specialist trained on exactly the baseline\'s batches gains nothing and is rejected', async () => {
    // With a single domain, the domain's training split is the whole training split.
    const corpus = join(folder, 'one-domain');
    writeDomain(corpus, 'only', 60, ascending, 4);
    const run = await createRun(tinyConfig(corpus), { version: 1, blocks: [] }, { version: 1, rules: [] });
    for (let step = 0; step < 50; step++) trainStep(run);
    const result = await recruitModels(run, { stepsPerSpecialist: 60, batchSize: 8, sampleTokens: 2048, heldOutTokens: 1024, delta: 0 });
    const [record] = result.records;
    expect(record.domain).toBe('only');
    expect(record.specialistSampleNll).toBe(record.baselineSampleNll);
    expect(record.gain).toBe(0);
    expect(record.decision).toBe('rejected: cost');
    // The baseline did train: its NLL differs from the parent's.
    expect(result.measurements[0].finalTrainingNll).toBeGreaterThan(0);
    disposeRun(run);
  });
});

describe('decideSpecialists', () => {
  const plan: ModelRecruitmentPlan = {
    settings: { ...DEFAULT_MODEL_RECRUITMENT_OPTIONS, evaluationLambdas: [0] },
    adapters: { rank: 2, outputBias: false },
    parameters: 100,
    domains: [
      { domain: 'a', trainingTokens: 10_000, sampleTokens: 1000, heldOutTokens: 500 },
      { domain: 'b', trainingTokens: 10_000, sampleTokens: 1000, heldOutTokens: 500 },
      { domain: 'c', trainingTokens: 10_000, sampleTokens: 1000, heldOutTokens: 0 },
      { domain: 'd', trainingTokens: 20_000, sampleTokens: 1000, heldOutTokens: 500 },
      { domain: 'e', trainingTokens: 10_000, sampleTokens: 1000, heldOutTokens: 500 },
    ],
    tasks: [],
  };
  const cost = 50 * Math.log(10_000);
  const measured = (domain: string, sampleNll: number, heldOutNll: number | null) => ({ domain, sampleNll, heldOutNll });
  const task = (domain: string, sampleNll: number, heldOutNll: number | null): TaskMeasurement => ({
    task: { kind: 'specialist', domain },
    measurements: [measured(domain, sampleNll, heldOutNll)],
    finalTrainingNll: 0,
    adapters: null,
    seconds: 0,
  });
  const baseline: TaskMeasurement = {
    task: { kind: 'baseline' },
    measurements: [measured('a', 3, 3), measured('b', 3, 3), measured('c', 3, null), measured('d', 3, 3), measured('e', 3, 3)],
    finalTrainingNll: 0,
    adapters: null,
    seconds: 0,
  };
  // Gains: a just above cost + delta, b far above but worse held-out, c without held-out text,
  // d the largest, e above cost but by less than delta.
  const records = decideSpecialists(plan, [
    baseline,
    task('a', 3 - (cost + 2) / 10_000, 2.9),
    task('b', 2, 3.1),
    task('c', 2, null),
    task('d', 2.9, 2.8),
    task('e', 3 - (cost + 0.5) / 10_000, 2.9),
  ]);
  const byDomain = new Map(records.map((record) => [record.domain, record]));

  test('applies the cost, held-out and delta tests', () => {
    expect(byDomain.get('a')?.decision).toBe('accepted');
    expect(byDomain.get('b')?.decision).toBe('rejected: held-out');
    expect(byDomain.get('c')?.decision).toBe('rejected: no held-out text');
    expect(byDomain.get('d')?.decision).toBe('accepted');
    expect(byDomain.get('e')?.decision).toBe('rejected: cost');
  });

  test('numbers acceptances by net gain and tracks F', () => {
    expect(byDomain.get('d')?.round).toBe(1);
    expect(byDomain.get('a')?.round).toBe(2);
    expect(byDomain.get('b')?.round).toBeNull();
    const fStart = 3 * (4 * 10_000 + 20_000);
    expect(byDomain.get('d')?.fBefore).toBeCloseTo(fStart, 6);
    expect(byDomain.get('a')?.fAfter).toBeCloseTo(fStart - (byDomain.get('d')!.gain - byDomain.get('d')!.cost) - (byDomain.get('a')!.gain - cost), 6);
  });

  test('needs the baseline', () => {
    expect(() => decideSpecialists(plan, [task('a', 2, 2)])).toThrow(/no baseline measurement/);
  });
});

describe('planning', () => {
  let run: RunState;

  beforeAll(async () => {
    const corpus = join(folder, 'plan');
    writeDomain(corpus, 'news', 20, ascending, 5);
    writeDomain(corpus, 'fiction', 20, descending, 6);
    run = await createRun(tinyConfig(corpus), { version: 1, blocks: [] }, { version: 1, rules: [] });
  });

  afterAll(() => disposeRun(run));

  test('lists the baseline and one task per domain', () => {
    const plan = planModelRecruitment(run, { sampleTokens: 512, heldOutTokens: 256 });
    expect(plan.tasks).toEqual([{ kind: 'baseline' }, { kind: 'specialist', domain: 'fiction' }, { kind: 'specialist', domain: 'news' }]);
    for (const domain of plan.domains) {
      expect(domain.trainingTokens).toBe(run.data.splits.train.filter((document) => document.domain === domain.domain).reduce((total, document) => total + run.data.tokenizer.encodeDocuments([document.text]).length, 0));
      expect(domain.sampleTokens).toBe(512);
      expect(domain.heldOutTokens).toBe(256);
    }
    expect(planModelRecruitment(run, { domains: ['news'] }).tasks).toEqual([{ kind: 'baseline' }, { kind: 'specialist', domain: 'news' }]);
  });

  test('rejects bad options and unknown domains', () => {
    expect(() => planModelRecruitment(run, { domains: ['sports'] })).toThrow(/domain "sports" is not in corpus .*its domains are "fiction", "news"/);
    expect(() => planModelRecruitment(run, { rank: 0 })).toThrow(/adapter rank 0 is invalid/);
    expect(() => planModelRecruitment(run, { learningRate: -1 })).toThrow(/learning rate -1 is invalid/);
    expect(() => planModelRecruitment(run, { evaluationLambdas: [1.5] })).toThrow(/evaluation lambdas \[1.5\] are invalid/);
    expect(() => planModelRecruitment(run, { domains: ['news', 'news'] })).toThrow(/domain "news" is listed twice/);
  });

  test('cancels between steps without leaking tensors', async () => {
    const plan = planModelRecruitment(run, { stepsPerSpecialist: 40, sampleTokens: 512, heldOutTokens: 256 });
    const before = tf.memory().numTensors;
    const controller = new AbortController();
    const running = runRecruitTask(run, plan, { kind: 'baseline' }, {
      signal: controller.signal,
      onProgress: (position) => {
        if (position.done === 5) controller.abort();
      },
    });
    await expect(running).rejects.toMatchObject({ name: 'AbortError' });
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('specialistFileName', () => {
  test('gives colliding domains their own files', () => {
    expect(specialistFileName('News')).toBe('news.localist');
    const names = ['Money', 'money', 'a b', 'a-b', '法律', '医学'].map((domain, _, all) => specialistFileName(domain, all));
    expect(new Set(names).size).toBe(names.length);
    expect(names[0]).toMatch(/^money-[0-9a-f]{8}\.localist$/);
    expect(names[4]).toMatch(/^domain-[0-9a-f]{8}\.localist$/);
  });
});

describe('a corpus without domains', () => {
  test('is rejected with the fix', async () => {
    const corpus = join(folder, 'flat');
    writeDomain(corpus, null, 20, ascending, 7);
    const run = await createRun(tinyConfig(corpus), { version: 1, blocks: [] }, { version: 1, rules: [] });
    expect(() => planModelRecruitment(run)).toThrow(/has no domains.*subfolders named after their domain/);
    disposeRun(run);
  });
});
