import * as tf from '@tensorflow/tfjs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { AttentionSelection, InspectRequest, InspectResponse } from '../../common/api';
import { initBackend } from './backend';
import { assembleBatch, type Batch } from './batch';
import { ruleMaskBuilder } from './data';
import { collectRuleRows } from './guarantee-report';
import { FIXTURE_CONTEXT, trainFixtureCheckpoint } from './inspector-fixture';
import { inspectText, PaneCache, TOP_PREDICTIONS } from './inspector';
import { InspectRequestError } from './inspector-request';
import { loadModel, type LoadedModel } from './trainer';
import { DOC_ID } from './tokenizer';

const T = FIXTURE_CONTEXT;
/** <doc> the mother paid cash and said the father paid the bank: "mother" (2) precedes "said" (6), and "cash" (4) precedes the second "paid" (9). */
const SHORT_TEXT = 'the mother paid cash and said the father paid the bank';
const LONG_TEXT = `${SHORT_TEXT} . ${SHORT_TEXT} . the judge said`;

let folder: string;
let loaded: LoadedModel;

beforeAll(async () => {
  await initBackend();
  folder = await mkdtemp(join(tmpdir(), 'localist-inspector-'));
  loaded = await loadModel(await trainFixtureCheckpoint(folder, 'tiny'));
});

afterAll(async () => {
  loaded?.model.dispose();
  await rm(folder, { recursive: true, force: true });
});

function request(overrides: Partial<InspectRequest> = {}): InspectRequest {
  return { text: SHORT_TEXT, lambda: 0.8, selection: { layer: 1, head: 0 }, seed: 7, continuationTokens: 6, ...overrides };
}

/** The window the inspector should read, built here without its code: <doc> and the text's ids, the last T. */
function windowIds(text: string): number[] {
  return [DOC_ID, ...loaded.tokenizer.encode(text)].slice(-T);
}

function batchOf(ids: number[]): Batch {
  const stream = new Int32Array(T + 1).fill(DOC_ID);
  stream.set(ids);
  const { layers, heads, blocks } = loaded.model.config;
  return assembleBatch(stream, [0], { contextLength: T, layers, heads, blockCount: blocks + 1 }, loaded.blockTable.blockOf, ruleMaskBuilder(loaded.compiled));
}

/** Runs a direct forward pass and returns attention [L, 1, H, T, T] and the next-token distribution after `position`. */
function forward(ids: number[], lambda: number, position = ids.length - 1) {
  const batch = batchOf(ids);
  return tf.tidy(() => {
    const result = loaded.model.forward(batch.inputs, { dial: { lambda, kappa: loaded.config.kappa }, keepAttention: true });
    return {
      distributed: tf.stack(result.distributed ?? []).dataSync() as Float32Array,
      dialled: tf.stack(result.dialled ?? []).dataSync() as Float32Array,
      probabilities: tf.softmax(tf.slice(result.logits, [position, 0], [1, -1])).dataSync() as Float32Array,
    };
  });
}

/** Extracts one layer and head's [query][key] matrix over the first `length` positions of an [L, 1, H, T, T] array. */
function headMatrix(values: Float32Array, layer: number, head: number, length: number): number[][] {
  const H = loaded.model.config.heads;
  return Array.from({ length }, (_, i) =>
    Array.from({ length }, (_, j) => values[((layer * H + head) * T + i) * T + j]),
  );
}

function expectMatrixClose(actual: number[][], expected: number[][], digits = 6): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((row, i) => {
    expect(row.length).toBe(expected[i].length);
    row.forEach((value, j) => expect(value, `cell (${i}, ${j})`).toBeCloseTo(expected[i][j], digits));
  });
}

describe('window and panes', () => {
  let response: InspectResponse;

  beforeAll(async () => {
    response = await inspectText(loaded, request());
  });

  test('short text shows <doc> and its tokens, no padding', () => {
    expect(response.tokens).toEqual(['<doc>', ...SHORT_TEXT.split(' ')]);
    expect(response.blocks).toEqual(['background', 'Money', 'Family']);
    expect(response.tokenBlocks).toEqual([0, 0, 2, 0, 1, 0, 0, 0, 2, 0, 0, 1]);
    for (const pane of [response.dialled, response.distributed]) {
      expect(pane.tokenAttention.length).toBe(12);
      for (const row of pane.tokenAttention) expect(row.length).toBe(12);
    }
  });

  test('long text shows its last context window', async () => {
    const long = await inspectText(loaded, request({ text: LONG_TEXT }));
    expect(long.tokens).toEqual(LONG_TEXT.split(' ').slice(-T));
    expect(long.dialled.tokenAttention.length).toBe(T);
  });

  test('panes carry their lambdas', () => {
    expect(response.dialled.lambda).toBe(0.8);
    expect(response.distributed.lambda).toBe(0);
  });

  test('token attention rows sum to one', async () => {
    for (const selection of [{ layer: 0, head: 1 }, { layer: 'mean', head: 'mean' }] as AttentionSelection[]) {
      const result = await inspectText(loaded, request({ text: LONG_TEXT, selection }));
      for (const pane of [result.dialled, result.distributed]) {
        pane.tokenAttention.forEach((row, i) => {
          expect(row.reduce((sum, value) => sum + value, 0), `row ${i}`).toBeCloseTo(1, 5);
          // Causal: no weight on later keys.
          for (let j = i + 1; j < row.length; j++) expect(row[j]).toBe(0);
        });
      }
    }
  });

  test('lambda-0 pane equals distributed attention of a direct forward', () => {
    const ids = windowIds(SHORT_TEXT);
    const direct = forward(ids, 0);
    expectMatrixClose(response.distributed.tokenAttention, headMatrix(direct.distributed, 1, 0, ids.length));
  });

  test('dialled pane equals dialled attention of a direct forward', () => {
    const ids = windowIds(SHORT_TEXT);
    const direct = forward(ids, 0.8);
    expectMatrixClose(response.dialled.tokenAttention, headMatrix(direct.dialled, 1, 0, ids.length));
    // The dial changes the attention, so the two panes differ.
    expect(response.dialled.tokenAttention).not.toEqual(response.distributed.tokenAttention);
  });

  test('top predictions are the largest probabilities of a direct forward', () => {
    const direct = forward(windowIds(SHORT_TEXT), 0.8);
    const expected = [...direct.probabilities.keys()].sort((a, b) => direct.probabilities[b] - direct.probabilities[a]).slice(0, TOP_PREDICTIONS);
    const predictions = response.dialled.topPredictions;
    expect(predictions.length).toBe(TOP_PREDICTIONS);
    predictions.forEach((prediction, k) => {
      expect(prediction.probability).toBeCloseTo(direct.probabilities[expected[k]], 6);
      if (k > 0) expect(prediction.probability).toBeLessThanOrEqual(predictions[k - 1].probability);
    });
    expect(predictions[0].token).toBe(loaded.tokenizer.vocab[expected[0]]);
  });

  test('attention entropy is the mean over real rows, layers and heads, in bits', () => {
    const ids = windowIds(SHORT_TEXT);
    const { layers: L, heads: H } = loaded.model.config;
    for (const [pane, lambda] of [[response.dialled, 0.8], [response.distributed, 0]] as const) {
      const direct = forward(ids, lambda);
      let sum = 0;
      for (let l = 0; l < L; l++) {
        for (let h = 0; h < H; h++) {
          for (const row of headMatrix(direct.dialled, l, h, ids.length)) {
            for (const a of row) if (a > 0) sum -= a * Math.log2(a);
          }
        }
      }
      expect(pane.attentionEntropyBits).toBeCloseTo(sum / (L * H * ids.length), 5);
    }
  });
});

describe('selection', () => {
  test('"mean" equals the mean of per-head matrices', async () => {
    const { layers: L, heads: H } = loaded.model.config;
    const single: number[][][][] = [];
    for (let l = 0; l < L; l++) {
      single.push([]);
      for (let h = 0; h < H; h++) single[l].push((await inspectText(loaded, request({ selection: { layer: l, head: h } }))).dialled.tokenAttention);
    }
    const mean = (matrices: number[][][]) => matrices[0].map((row, i) => row.map((_, j) => matrices.reduce((sum, m) => sum + m[i][j], 0) / matrices.length));
    const all = (await inspectText(loaded, request({ selection: { layer: 'mean', head: 'mean' } }))).dialled.tokenAttention;
    expectMatrixClose(all, mean(single.flat()));
    const overHeads = (await inspectText(loaded, request({ selection: { layer: 1, head: 'mean' } }))).dialled.tokenAttention;
    expectMatrixClose(overHeads, mean(single[1]));
    const overLayers = (await inspectText(loaded, request({ selection: { layer: 'mean', head: 0 } }))).dialled.tokenAttention;
    expectMatrixClose(overLayers, mean(single.map((heads) => heads[0])));
  });

  test('block attention sums token attention by block', async () => {
    const response = await inspectText(loaded, request({ selection: { layer: 'mean', head: 1 } }));
    for (const pane of [response.dialled, response.distributed]) {
      const G = response.blocks.length;
      expect(pane.blockAttention.length).toBe(G);
      for (let queryBlock = 0; queryBlock < G; queryBlock++) {
        const rows = response.tokenBlocks.flatMap((block, i) => (block === queryBlock ? [i] : []));
        for (let keyBlock = 0; keyBlock < G; keyBlock++) {
          let sum = 0;
          for (const i of rows) {
            response.tokenBlocks.forEach((block, j) => {
              if (block === keyBlock) sum += pane.tokenAttention[i][j];
            });
          }
          expect(pane.blockAttention[queryBlock][keyBlock], `blocks (${queryBlock}, ${keyBlock})`).toBeCloseTo(rows.length > 0 ? sum / rows.length : 0, 6);
        }
        const total = pane.blockAttention[queryBlock].reduce((a, b) => a + b, 0);
        expect(total).toBeCloseTo(rows.length > 0 ? 1 : 0, 5);
      }
    }
  });

  test('blocks absent from the text have zero rows', async () => {
    const response = await inspectText(loaded, request({ text: 'the jury said he paid the bank' }));
    expect(response.tokenBlocks).not.toContain(2);
    expect(response.dialled.blockAttention[2]).toEqual([0, 0, 0]);
  });
});

describe('rules', () => {
  test('target cells appear only where the rule is active', async () => {
    const cells = async (selection: AttentionSelection) =>
      (await inspectText(loaded, request({ selection }))).ruleTargets.map((cell) => `${cell.rule} ${cell.query}->${cell.key}`);
    // paid-to-money applies to layer 1, head 0 only; said-to-family to every layer and head.
    expect(await cells({ layer: 1, head: 0 })).toEqual(['paid-to-money 9->4', 'said-to-family 6->2']);
    expect(await cells({ layer: 0, head: 0 })).toEqual(['said-to-family 6->2']);
    expect(await cells({ layer: 1, head: 1 })).toEqual(['said-to-family 6->2']);
    expect(await cells({ layer: 'mean', head: 'mean' })).toEqual(['paid-to-money 9->4', 'said-to-family 6->2']);
    expect(await cells({ layer: 0, head: 'mean' })).toEqual(['said-to-family 6->2']);
  });

  test('target cells list every target before the trigger', async () => {
    // "mother" (2) and "father" (4) precede "said" (5). "cash" (3) precedes "paid" (7), and "bank" (9) follows it.
    const response = await inspectText(loaded, request({ text: 'the mother cash father said and paid the bank', selection: { layer: 1, head: 0 } }));
    expect(response.ruleTargets).toEqual([
      { rule: 'paid-to-money', query: 7, key: 3 },
      { rule: 'said-to-family', query: 5, key: 2 },
      { rule: 'said-to-family', query: 5, key: 4 },
    ]);
  });

  test('pointer fidelity equals the guarantee rows on the same window', async () => {
    const ids = windowIds(SHORT_TEXT);
    const stream = new Int32Array(T + 1).fill(DOC_ID);
    stream.set(ids);
    for (const lambda of [0, 0.5, 1]) {
      const response = await inspectText(loaded, request({ lambda }));
      const rows = await collectRuleRows(
        {
          model: loaded.model,
          stream,
          blockTable: loaded.blockTable,
          compiled: loaded.compiled,
          buildMasks: ruleMaskBuilder(loaded.compiled),
          training: { lambdaTrain: loaded.config.lambdaTrain, objective: loaded.config.objective },
        },
        { lambda, kappa: loaded.config.kappa },
      );
      const real = rows.filter((row) => row.position < ids.length);
      // Layers 0 and 1 x heads 0 and 1 for "said", plus layer 1 head 0 for "paid".
      expect(real.length).toBe(5);
      const expected = real.reduce((sum, row) => sum + row.measuredFidelity, 0) / real.length;
      expect(response.dialled.pointerFidelity).toBeCloseTo(expected, 6);
    }
  });

  test('dial raises pointer fidelity', async () => {
    const response = await inspectText(loaded, request({ lambda: 1 }));
    expect(response.dialled.pointerFidelity as number).toBeGreaterThan(response.distributed.pointerFidelity as number);
  });

  test('no active rule gives null fidelity and no cells', async () => {
    const response = await inspectText(loaded, request({ text: 'the jury was in the city' }));
    expect(response.dialled.pointerFidelity).toBeNull();
    expect(response.distributed.pointerFidelity).toBeNull();
    expect(response.ruleTargets).toEqual([]);
  });
});

describe('continuations', () => {
  /** Checks that each greedy token is the most probable one after the text and the tokens before it. */
  function expectGreedy(text: string, lambda: number, greedy: string[]): void {
    const sequence = windowIds(text);
    for (const [step, token] of greedy.entries()) {
      const ids = sequence.slice(-T);
      const { probabilities } = forward(ids, lambda);
      const chosen = loaded.tokenizer.idOf(token) as number;
      expect(chosen, `step ${step}`).toBeDefined();
      // Batched and single forward passes may round differently, so a near tie may go either way.
      expect(probabilities[chosen], `step ${step} "${token}"`).toBeGreaterThanOrEqual(Math.max(...probabilities) - 1e-6);
      sequence.push(chosen);
    }
  }

  test('greedy continuation is the argmax of repeated forward passes', async () => {
    for (const text of [SHORT_TEXT, LONG_TEXT]) {
      const response = await inspectText(loaded, request({ text, continuationTokens: 12 }));
      expect(response.dialled.greedy.length).toBe(12);
      expectGreedy(text, 0.8, response.dialled.greedy);
      expectGreedy(text, 0, response.distributed.greedy);
    }
  });

  test('greedy continuation slides the window past T tokens', async () => {
    // 12 real tokens and 10 generated ones make 22, past T = 16.
    const response = await inspectText(loaded, request({ continuationTokens: 10 }));
    expectGreedy(SHORT_TEXT, 0.8, response.dialled.greedy);
  });

  test('sampled continuation repeats for a seed and changes with it', async () => {
    const first = await inspectText(loaded, request({ seed: 3, continuationTokens: 12 }));
    const again = await inspectText(loaded, request({ seed: 3, continuationTokens: 12 }));
    expect(again.dialled.sampled).toEqual(first.dialled.sampled);
    expect(again.distributed.sampled).toEqual(first.distributed.sampled);
    expect(first.dialled.sampled.length).toBe(12);
    const others = [];
    for (const seed of [4, 5, 6]) others.push((await inspectText(loaded, request({ seed, continuationTokens: 12 }))).dialled.sampled.join(' '));
    expect(others.some((sampled) => sampled !== first.dialled.sampled.join(' '))).toBe(true);
  });
});

describe('pane cache', () => {
  test('cached panes equal computed ones', async () => {
    const cache = new PaneCache();
    const fresh = await inspectText(loaded, request(), cache);
    expect(cache.size).toBe(2);
    const cached = await inspectText(loaded, request({ selection: { layer: 0, head: 1 } }), cache);
    expect(cache.size).toBe(2);
    const uncached = await inspectText(loaded, request({ selection: { layer: 0, head: 1 } }));
    expect(cached.dialled).toEqual(uncached.dialled);
    expect(cached.distributed).toEqual(uncached.distributed);
    expect(cached.dialled.greedy).toEqual(fresh.dialled.greedy);
  });

  test('new lambda reuses the lambda-0 pane', async () => {
    const cache = new PaneCache();
    await inspectText(loaded, request({ lambda: 0.3 }), cache);
    await inspectText(loaded, request({ lambda: 0.6 }), cache);
    expect(cache.size).toBe(3);
  });

  test('oldest pane is dropped at capacity', async () => {
    const cache = new PaneCache(2);
    await inspectText(loaded, request({ lambda: 0.3 }), cache);
    await inspectText(loaded, request({ lambda: 0.6 }), cache);
    expect(cache.size).toBe(2);
  });

  test('lambda 0 gives two equal panes', async () => {
    const response = await inspectText(loaded, request({ lambda: 0 }));
    expect(response.dialled).toEqual(response.distributed);
  });
});

describe('requests', () => {
  const invalid: Array<[string, Partial<InspectRequest> | Record<string, unknown>, RegExp]> = [
    ['lambda above 1', { lambda: 1.5 }, /lambda 1\.5 is outside \[0, 1\]; set the locality dial/],
    ['lambda NaN', { lambda: Number.NaN }, /lambda NaN is outside \[0, 1\]/],
    ['lambda as text', { lambda: '0.5' }, /lambda "0\.5" is outside \[0, 1\]/],
    ['layer out of range', { selection: { layer: 2, head: 0 } }, /layer 2 is out of range for a model with 2 layers; use a layer from 0 to 1, or "mean"/],
    ['head out of range', { selection: { layer: 0, head: 5 } }, /head 5 is out of range for a model with 2 heads/],
    ['negative head', { selection: { layer: 0, head: -1 } }, /head -1 is invalid; use a head index from 0, or "mean"/],
    ['layer as text', { selection: { layer: 'all', head: 0 } }, /layer "all" is invalid/],
    ['no selection', { selection: undefined }, /selection is missing; send \{ layer, head \}/],
    ['no seed', { seed: undefined }, /seed is missing; use a whole number/],
    ['no continuation', { continuationTokens: 0 }, /continuationTokens 0 is invalid; use an integer from 1 to 64/],
    ['long continuation', { continuationTokens: 65 }, /continuationTokens 65 is invalid/],
    ['fractional continuation', { continuationTokens: 2.5 }, /continuationTokens 2\.5 is invalid/],
    ['fractional seed', { seed: 1.5 }, /seed 1\.5 is not an integer/],
    ['empty text', { text: '   ' }, /text is empty; type some text/],
    ['text too long', { text: 'a '.repeat(50_001) }, /text has 100002 characters, more than the 100000/],
    ['text not a string', { text: 42 }, /text 42 is not a string/],
  ];

  test.each(invalid)('%s is rejected', async (_, overrides, message) => {
    const promise = inspectText(loaded, { ...request(), ...overrides } as InspectRequest);
    await expect(promise).rejects.toThrow(InspectRequestError);
    await expect(inspectText(loaded, { ...request(), ...overrides } as InspectRequest)).rejects.toThrow(message);
  });

  test('text without a known word is rejected', async () => {
    await expect(inspectText(loaded, request({ text: 'zyzzyva quokka' }))).rejects.toThrow(
      /text "zyzzyva quokka" has no word of the model's vocabulary \(\d+ entries\)/,
    );
  });

  test('text with one known word is accepted', async () => {
    const response = await inspectText(loaded, request({ text: 'zyzzyva money' }));
    expect(response.tokens).toEqual(['<doc>', '<unk>', 'money']);
  });
});

describe('tensors', () => {
  test('inspect does not leak tensors', async () => {
    // The first call creates the model's cached causal mask, which it keeps.
    await inspectText(loaded, request());
    const before = tf.memory().numTensors;
    const cache = new PaneCache();
    for (const lambda of [0.2, 0.9, 0.2]) {
      await inspectText(loaded, request({ lambda, text: LONG_TEXT, continuationTokens: 4 }), cache);
      await inspectText(loaded, request({ lambda }));
    }
    await expect(inspectText(loaded, request({ lambda: 2 }))).rejects.toThrow();
    expect(tf.memory().numTensors).toBe(before);
  });
});
