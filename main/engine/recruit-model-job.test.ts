/**
 * Model recruitment as the workbench runs it: tasks on two worker threads,
 * then the stage that decides, writes the specialists and the model set, and
 * routes the test documents. The parent is trained here on a generated
 * corpus with unlabelled background text, a large domain drawn differently,
 * and a tiny one.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { initBackend } from './backend';
import { prepareData } from './data';
import { runJob } from './host';
import type { ModelRecruitJob, ModelRecruitResult, RouteResult, TrainResult } from './jobs';
import { readModelSet } from './model-set';
import { createRandom } from './random';
import { recruitBlocks } from './recruit-blocks';
import { specialistFileName } from './recruit-model-job';
import { planModelRecruitment } from './recruit-models';
import { createRun, defaultTrainConfig, disposeRun, loadModel, resumeRun, saveRun, trainStep } from './trainer';

const WORDS = Array.from({ length: 40 }, (_, i) => `w${i}`);
const DOCUMENT_WORDS = 300;

let folder: string;
let corpus: string;
let parentPath: string;
let result: ModelRecruitResult;

/** Documents of words drawn independently from a Zipf law over the words in the order of `ranks`. */
function writeDocuments(path: string, documents: number, ranks: number[], seed: number): void {
  mkdirSync(path, { recursive: true });
  const random = createRandom(seed);
  const weights = ranks.map((_, rank) => 1 / (rank + 1));
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  const draw = () => {
    let left = random() * total;
    for (let rank = 0; rank < ranks.length; rank++) {
      left -= weights[rank];
      if (left <= 0) return WORDS[ranks[rank]];
    }
    return WORDS[ranks[ranks.length - 1]];
  };
  for (let d = 0; d < documents; d++) {
    writeFileSync(join(path, `doc${String(d).padStart(3, '0')}.txt`), Array.from({ length: DOCUMENT_WORDS }, draw).join(' '));
  }
}

function job(outputFolder: string): ModelRecruitJob {
  mkdirSync(outputFolder, { recursive: true });
  return {
    kind: 'recruit',
    level: 'model',
    checkpoint: parentPath,
    outputFolder,
    options: { stepsPerSpecialist: 200, batchSize: 8, learningRate: 1e-2, sampleTokens: 4096, heldOutTokens: 2048 },
    workers: 2,
  };
}

beforeAll(async () => {
  await initBackend();
  folder = mkdtempSync(join(tmpdir(), 'localist-model-job-'));
  corpus = join(folder, 'corpus');
  const ascending = WORDS.map((_, i) => i);
  const descending = [...ascending].reverse();
  writeDocuments(corpus, 200, ascending, 1);
  writeDocuments(join(corpus, 'large'), 150, descending, 2);
  writeDocuments(join(corpus, 'tiny'), 5, descending, 3);
  const config = defaultTrainConfig({
    data: { corpus, seed: 1, validationFraction: 0.1, testFraction: 0.1, maxVocab: 100 },
    model: { contextLength: 16, layers: 1, heads: 2, width: 16 },
    batchSize: 8,
    steps: 300,
    lambdaTrain: 0,
    seed: 1,
    checkpointEvery: 10_000,
  });
  config.optimizer = { ...config.optimizer, learningRate: 3e-3, warmupSteps: 10 };
  const run = await createRun(config, { version: 1, blocks: [] }, { version: 1, rules: [] });
  for (let step = 0; step < 300; step++) trainStep(run);
  parentPath = join(folder, 'parent.localist');
  await saveRun(run, parentPath, 'test', 'test');
  disposeRun(run);
  result = (await runJob(job(join(folder, 'set')))) as ModelRecruitResult;
});

afterAll(() => {
  rmSync(folder, { recursive: true, force: true });
});

describe('model recruitment job', () => {
  test('runs the tasks on two workers and keeps the large domain\'s specialist', () => {
    expect(result.kind).toBe('recruit-models');
    expect(result.workers).toBe(2);
    expect(result.records.map((record) => [record.domain, record.decision])).toEqual([
      ['large', 'accepted'],
      ['tiny', 'rejected: cost'],
    ]);
    expect(result.specialists.map((file) => file.domain)).toEqual(['large']);
    expect(readdirSync(join(folder, 'set')).sort()).toEqual(['large.localist', 'models.json', 'records.jsonl', 'routing.jsonl']);
  });

  test('writes a specialist checkpoint that loads, resumes and evaluates on its domain', async () => {
    const path = join(folder, 'set', specialistFileName('large'));
    const loaded = await loadModel(path);
    expect(loaded.modelConfig.adapters).toEqual({ rank: 2, outputBias: false });
    expect(loaded.config.data.domain).toBe('large');
    expect(loaded.contents.metrics).toMatchObject({ parent: { checkpoint: parentPath, sha256: result.parentSha256 }, recruitment: { domain: 'large' } });
    const parent = await loadModel(parentPath);
    expect(loaded.model.parameterCount - parent.model.parameterCount).toBe(result.parameters);
    expect(Array.from(loaded.model.param('output.kernel').dataSync())).toEqual(Array.from(parent.model.param('output.kernel').dataSync()));
    loaded.model.dispose();
    parent.model.dispose();

    const resumed = await resumeRun(path);
    expect(resumed.trainable).toEqual(['layer0.query.adapterDown', 'layer0.query.adapterUp', 'layer0.value.adapterDown', 'layer0.value.adapterUp']);
    expect(resumed.data.splits.train.every((document) => document.domain === 'large')).toBe(true);
    const before = Array.from(resumed.model.param('output.kernel').dataSync());
    const adapterBefore = Array.from(resumed.model.param('layer0.value.adapterUp').dataSync());
    trainStep(resumed);
    expect(Array.from(resumed.model.param('output.kernel').dataSync())).toEqual(before);
    expect(Array.from(resumed.model.param('layer0.value.adapterUp').dataSync())).not.toEqual(adapterBefore);
    // A specialist recruits neither blocks nor specialists of its own.
    await expect(recruitBlocks(resumed)).rejects.toThrow(/is a specialist, whose parent weights are frozen/);
    expect(() => planModelRecruitment(resumed)).toThrow(/is a specialist; recruit specialists from the generalist/);
    disposeRun(resumed);

    const data = await prepareData({ ...parent.config.data, domain: 'large' });
    expect(data.streams.test.length).toBeGreaterThan(0);
  });

  test('resumes a specialist on two replicas', async () => {
    const path = join(folder, 'set', specialistFileName('large'));
    const resumedPath = join(folder, 'resumed-large.localist');
    const trained = (await runJob({ kind: 'train', start: { resume: path, steps: 204 }, checkpointPath: resumedPath, replicas: 2 })) as TrainResult;
    expect(trained.steps).toBe(204);
    const before = await loadModel(path);
    const after = await loadModel(resumedPath);
    expect(Array.from(after.model.param('output.kernel').dataSync())).toEqual(Array.from(before.model.param('output.kernel').dataSync()));
    expect(Array.from(after.model.param('layer0.query.adapterUp').dataSync())).not.toEqual(Array.from(before.model.param('layer0.query.adapterUp').dataSync()));
    before.model.dispose();
    after.model.dispose();
  });

  test('output files agree with result', async () => {
    const records = readFileSync(result.recordsPath, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    expect(records.map((record) => record.domain)).toEqual(['large', 'tiny']);
    expect(records[0].gain).toBeCloseTo(result.records[0].gain, 6);
    const set = await readModelSet(result.modelSet);
    expect(set.parent.checkpoint).toBe(parentPath);
    expect(set.specialists.map((entry) => [entry.id, entry.domain])).toEqual([['specialist:large', 'large']]);
    expect(set.specialists[0].sha256).toBe(result.specialists[0].sha256);
    const routing = readFileSync(result.routingPath, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    const large = result.routing.find((summary) => summary.domain === 'large');
    expect(large?.hasSpecialist).toBe(true);
    expect((large?.toOwnSpecialist ?? 0) / (large?.documents ?? 1)).toBeGreaterThanOrEqual(0.8);
    expect(large?.routedNll).toBeLessThan(large?.parentNll ?? 0);
    expect(routing).toHaveLength(result.routing.reduce((total, summary) => total + summary.documents, 0));
  });

  test('routes labelled and unlabelled documents and logs each decision', async () => {
    const logPath = join(folder, 'route.jsonl');
    const text = readFileSync(join(corpus, 'large', 'doc000.txt'), 'utf8');
    const routed = (await runJob({
      kind: 'route',
      modelSet: result.modelSet,
      documents: [
        { id: 'labelled', text, domain: 'large' },
        { id: 'other', text, domain: 'tiny' },
        { id: 'hidden', text, domain: null },
      ],
      logPath,
    })) as RouteResult;
    expect(routed.decisions.map((decision) => [decision.document, decision.model, decision.reason])).toEqual([
      ['labelled', 'specialist:large', 'label has a specialist'],
      ['other', 'parent', 'label has no specialist'],
      ['hidden', 'specialist:large', 'lowest prefix NLL'],
    ]);
    expect(readFileSync(logPath, 'utf8').trim().split('\n')).toHaveLength(3);
  });

  test('rejects a changed specialist checkpoint', async () => {
    const copy = join(folder, 'tampered');
    mkdirSync(copy);
    const set = JSON.parse(readFileSync(result.modelSet, 'utf8'));
    set.specialists[0].sha256 = '0'.repeat(64);
    set.parent.checkpoint = parentPath;
    set.specialists[0].checkpoint = join(folder, 'set', 'large.localist');
    writeFileSync(join(copy, 'models.json'), JSON.stringify(set));
    await expect(runJob({ kind: 'route', modelSet: join(copy, 'models.json'), documents: [], logPath: null })).rejects.toThrow(
      /model "specialist:large" of model set ".*": checkpoint ".*" has SHA-256 [0-9a-f]{64}, not 0{64} as the model set records; restore the files recruitment wrote/,
    );
  });

  test('rejects a model set whose members do not fit together', async () => {
    const set = JSON.parse(readFileSync(result.modelSet, 'utf8'));
    const specialistPath = join(folder, 'set', 'large.localist');
    const variants: [string, (copy: typeof set) => void, RegExp][] = [
      ['specialist as parent', (copy) => Object.assign(copy.parent, { checkpoint: specialistPath, sha256: copy.specialists[0].sha256 }), /is a specialist, not a generalist parent/],
      ['parent as specialist', (copy) => Object.assign(copy.specialists[0], { checkpoint: parentPath, sha256: result.parentSha256 }), /has no adapters, so it is not a specialist/],
      ['wrong domain', (copy) => Object.assign(copy.specialists[0], { domain: 'tiny' }), /was trained on domain "large", not "tiny"/],
      ['repeated id', (copy) => Object.assign(copy.specialists[0], { id: 'parent' }), /invalid id "parent"; give each model its own id/],
    ];
    for (const [name, change, message] of variants) {
      const copy = JSON.parse(JSON.stringify(set));
      copy.parent.checkpoint = parentPath;
      copy.specialists[0].checkpoint = specialistPath;
      change(copy);
      const path = join(folder, `variant-${name.replace(/ /g, '-')}.json`);
      writeFileSync(path, JSON.stringify(copy));
      await expect(runJob({ kind: 'route', modelSet: path, documents: [], logPath: null }), name).rejects.toThrow(message);
    }
  });

  test('rejects a label that is not a domain of the set', async () => {
    const routing = runJob({ kind: 'route', modelSet: result.modelSet, documents: [{ id: 'typo', text: 'w1 w2', domain: 'larg' }], logPath: null });
    await expect(routing).rejects.toMatchObject({ code: 'invalid-input' });
    await expect(routing).rejects.toThrow(/domain label "larg", which is not a domain of model set .*\("large", "tiny"\)/);
  });

  test('cancel stops the workers and writes nothing', async () => {
    const controller = new AbortController();
    const outputFolder = join(folder, 'cancelled');
    const running = runJob(job(outputFolder), {
      signal: controller.signal,
      onMessage: (message) => {
        if (message.type === 'recruit-model-progress' && message.done === 3) controller.abort();
      },
    });
    await expect(running).rejects.toMatchObject({ code: 'cancelled' });
    expect(readdirSync(outputFolder)).toEqual([]);
  });
});
