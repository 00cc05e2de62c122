/**
 * A tiny trained model with blocks and rules, saved as a checkpoint, for the
 * inspector's and the engine session's tests.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BlocksFileInput } from './blocks';
import { APP_VERSION } from './host';
import { createRandom } from './random';
import type { RulesFileInput } from './rules';
import { createRun, defaultTrainConfig, disposeRun, saveRun, trainStep } from './trainer';

const FIXTURE_WORDS = [
  'the', 'a', 'jury', 'court', 'judge', 'said', 'he', 'she', 'paid', 'bought', 'money', 'dollars', 'price',
  'cash', 'mother', 'father', 'family', 'day', 'week', 'was', 'is', 'of', 'to', 'and', 'in', 'that', 'for',
  'on', 'with', 'at', 'from', 'law', 'tax', 'bank', 'house', 'city', 'new', 'old', 'good', 'time',
];

export const FIXTURE_BLOCKS: BlocksFileInput = {
  version: 1,
  blocks: [
    { id: 'money', name: 'Money', tokens: ['money', 'dollars', 'price', 'cash', 'tax', 'bank'] },
    { id: 'family', name: 'Family', tokens: ['mother', 'father', 'family'] },
  ],
};

/** One rule limited to layer 1, head 0, and one on every layer and head. */
export const FIXTURE_RULES: RulesFileInput = {
  version: 1,
  rules: [
    { id: 'paid-to-money', name: 'Paying looks at money', trigger: { tokens: ['paid', 'bought'] }, target: 'money', layers: [1], heads: [0] },
    { id: 'said-to-family', name: 'Saying looks at family', trigger: { tokens: ['said'] }, target: 'family' },
  ],
};

/** Context length of the fixture model, short so that test texts fill and slide its window. */
export const FIXTURE_CONTEXT = 16;

/**
 * Writes 10 documents of 320 words drawn with `seed` into `folder/news` and
 * `folder/fiction`. Each word is followed by a fixed successor 3 times in 4,
 * so a trained model's next-token predictions depend on the last token.
 */
async function writeCorpus(folder: string, seed: number): Promise<void> {
  const random = createRandom(seed);
  const successor = (index: number) => (index * 7 + 3) % FIXTURE_WORDS.length;
  for (const domain of ['news', 'fiction']) {
    await mkdir(join(folder, domain), { recursive: true });
    for (let document = 0; document < 5; document++) {
      let index = Math.floor(random() * FIXTURE_WORDS.length);
      const words: string[] = [];
      for (let position = 0; position < 320; position++) {
        index = random() < 0.75 ? successor(index) : Math.floor(random() * FIXTURE_WORDS.length);
        words.push(FIXTURE_WORDS[index]);
        if (position % 11 === 10) words.push('.');
      }
      await writeFile(join(folder, domain, `doc${document}.txt`), words.join(' '));
    }
  }
}

/**
 * Trains the fixture model (2 layers, 2 heads, width 16) for `steps` steps
 * (default 60), saves it to `folder/name.localist` and returns that path.
 */
export async function trainFixtureCheckpoint(folder: string, name: string, options: { seed?: number; steps?: number } = {}): Promise<string> {
  const seed = options.seed ?? 1;
  const corpus = join(folder, `${name}-corpus`);
  await writeCorpus(corpus, seed);
  const config = defaultTrainConfig({
    data: { corpus, seed: 1, validationFraction: 0.1, testFraction: 0.1, maxVocab: 200 },
    model: { contextLength: FIXTURE_CONTEXT, layers: 2, heads: 2, width: 16 },
    batchSize: 8,
    steps: options.steps ?? 60,
    lambdaTrain: 'uniform',
    seed,
    checkpointEvery: 10_000,
  });
  config.optimizer = { ...config.optimizer, learningRate: 1e-2, warmupSteps: 5 };
  const run = await createRun(config, FIXTURE_BLOCKS, FIXTURE_RULES);
  try {
    while (run.step < config.steps) trainStep(run);
    const path = join(folder, `${name}.localist`);
    await saveRun(run, path, 'test', APP_VERSION);
    return path;
  } finally {
    disposeRun(run);
  }
}
