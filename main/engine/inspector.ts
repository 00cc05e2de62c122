/**
 * The workbench inspector: what a loaded model does on a text at the
 * request's dial setting and at lambda 0, side by side. Shapes use T =
 * context, L = layers, H = heads, V = vocabulary, G = named blocks + 1.
 *
 * The model reads the text's last context window. The window starts with
 * the `<doc>` marker when the whole text fits, as documents do in training,
 * and the marker is one of the tokens shown. A window shorter than T is
 * padded after its end with `<doc>`, as `prefixNll` pads, so that position
 * embeddings match a document's start. Causal attention keeps the padding
 * out of every real row, and only real positions are reported.
 */
import * as tf from '@tensorflow/tfjs';
import type { InspectPane, InspectRequest, InspectResponse, TokenProbability } from '../../common/api';
import { assembleBatch, type Batch } from './batch';
import { ruleMaskBuilder } from './data';
import { describeValue } from './errors';
import {
  blockAttention,
  meanAttentionEntropyBits,
  meanPointerFidelity,
  ruleTargetCells,
  selectTokenAttention,
  type WindowAttention,
} from './inspector-attention';
import { validateInspectRequest } from './inspector-request';
import { createRandom, type Random } from './random';
import type { LoadedModel } from './trainer';
import { DOC_ID, UNK_ID } from './tokenizer';

/** Parts of a model restored from a checkpoint that the inspector reads. */
export type InspectableModel = Pick<LoadedModel, 'model' | 'tokenizer' | 'blockTable' | 'compiled' | 'config'>;

/** Predictions listed per pane. */
export const TOP_PREDICTIONS = 10;

/** Everything a pane shows except the selection's matrices, which are cheap to recompute from `attention`. */
interface PaneRun {
  lambda: number;
  topPredictions: TokenProbability[];
  greedy: string[];
  sampled: string[];
  attentionEntropyBits: number;
  pointerFidelity: number | null;
  attention: WindowAttention;
}

/**
 * Panes already computed for one loaded model, least recently used dropped
 * first. A pane depends on the window's tokens, lambda, the seed and the
 * continuation length, not on the attention selection, so moving the dial
 * back to a value, or changing only the selection, costs no forward pass.
 * Use one cache per loaded model.
 */
export class PaneCache {
  private readonly panes = new Map<string, PaneRun>();

  /** @param capacity panes kept; each contains L H T^2 attention weights (131 KB for the demo model). */
  constructor(readonly capacity = 32) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`pane cache capacity ${capacity} is invalid; use a positive integer`);
    }
  }

  get size(): number {
    return this.panes.size;
  }

  get(key: string): PaneRun | undefined {
    const pane = this.panes.get(key);
    if (pane) {
      // Map iteration follows insertion order, so re-inserting marks the pane as most recently used.
      this.panes.delete(key);
      this.panes.set(key, pane);
    }
    return pane;
  }

  set(key: string, pane: PaneRun): void {
    this.panes.delete(key);
    this.panes.set(key, pane);
    while (this.panes.size > this.capacity) {
      const oldest = this.panes.keys().next().value as string;
      this.panes.delete(oldest);
    }
  }
}

/**
 * Runs the model on the text's last context window at the request's lambda
 * and at lambda 0 and returns both panes, the window's tokens and blocks,
 * and the rule target cells of the selection. Throws an
 * `InspectRequestError` for an invalid request and a `RangeError` for a
 * text without a word of the vocabulary.
 */
export async function inspectText(loaded: InspectableModel, request: InspectRequest, cache?: PaneCache): Promise<InspectResponse> {
  const started = performance.now();
  const { model, tokenizer, blockTable, compiled } = loaded;
  const { layers: L, heads: H } = model.config;
  validateInspectRequest(request, { layers: L, heads: H });

  const window = lastWindow(loaded, request.text);
  const batch = windowBatch(loaded, [window]);
  const paneAt = async (lambda: number): Promise<PaneRun> => {
    const key = [lambda, request.seed, request.continuationTokens, window.join(',')].join('|');
    const cached = cache?.get(key);
    if (cached) return cached;
    const pane = await runPane(loaded, window, batch, lambda, request);
    cache?.set(key, pane);
    return pane;
  };
  const dialledRun = await paneAt(request.lambda);
  const distributedRun = request.lambda === 0 ? dialledRun : await paneAt(0);

  const tokenBlocks = window.map((id) => blockTable.blockOf[id] ?? 0);
  const blocks = ['background', ...blockTable.blocks.map((block) => block.name)];
  const showPane = (run: PaneRun): InspectPane => {
    const tokenAttention = selectTokenAttention(run.attention, request.selection);
    return {
      lambda: run.lambda,
      topPredictions: run.topPredictions,
      greedy: run.greedy,
      sampled: run.sampled,
      attentionEntropyBits: run.attentionEntropyBits,
      pointerFidelity: run.pointerFidelity,
      tokenAttention,
      blockAttention: blockAttention(tokenAttention, tokenBlocks, blocks.length),
    };
  };
  return {
    tokens: tokenizer.decode(window),
    tokenBlocks,
    blocks,
    dialled: showPane(dialledRun),
    distributed: showPane(distributedRun),
    ruleTargets: ruleTargetCells(compiled, windowMasks(batch), window, dialledRun.attention, request.selection),
    elapsedMs: performance.now() - started,
  };
}

/** Token ids of the text's last context window: `<doc>` and the text's tokens, the last T of them. */
function lastWindow(loaded: InspectableModel, text: string): number[] {
  const { tokenizer } = loaded;
  const ids = tokenizer.encode(text);
  if (!ids.some((id) => id !== UNK_ID)) {
    throw new RangeError(
      `text ${describeValue(text)} has no word of the model's vocabulary (${tokenizer.size} entries); ` +
        'type text in the language and spelling of the corpus the model was trained on',
    );
  }
  return [DOC_ID, ...ids].slice(-loaded.model.config.contextLength);
}

/** Assembles sequences of at most T token ids into one batch, each padded after its end with `<doc>`. */
function windowBatch(loaded: InspectableModel, sequences: readonly number[][]): Batch {
  const { contextLength: T, layers, heads, blocks } = loaded.model.config;
  // One more token than the windows need, because assembleBatch also reads each window's next-token targets.
  const stream = new Int32Array(sequences.length * T + 1).fill(DOC_ID);
  sequences.forEach((sequence, b) => stream.set(sequence, b * T));
  const offsets = sequences.map((_, b) => b * T);
  return assembleBatch(stream, offsets, { contextLength: T, layers, heads, blockCount: blocks + 1 }, loaded.blockTable.blockOf, ruleMaskBuilder(loaded.compiled));
}

function windowMasks(batch: Batch) {
  return { active: batch.inputs.active, targetMask: batch.inputs.targetMask, ruleRows: batch.ruleRows };
}

/** Runs one dial setting: the window's attention and next-token distribution, then both continuations. */
async function runPane(loaded: InspectableModel, window: number[], batch: Batch, lambda: number, request: InspectRequest): Promise<PaneRun> {
  const { contextLength: T, layers: L, heads: H } = loaded.model.config;
  const last = window.length - 1;
  const read = tf.tidy(() => {
    const result = loaded.model.forward(batch.inputs, { dial: { lambda, kappa: loaded.config.kappa }, keepAttention: true });
    return {
      probabilities: tf.softmax(tf.slice(result.logits, [last, 0], [1, -1])), // [1, V]
      dialled: tf.stack(result.dialled ?? []), // [L, 1, H, T, T]
    };
  });
  const probabilities = (await read.probabilities.data()) as Float32Array;
  const values = (await read.dialled.data()) as Float32Array;
  tf.dispose([read.probabilities, read.dialled]);

  const attention: WindowAttention = { values, layers: L, heads: H, contextLength: T, length: window.length };
  const { greedy, sampled } = await continueWindow(loaded, window, probabilities, lambda, request);
  return {
    lambda,
    topPredictions: topPredictions(loaded, probabilities),
    greedy: loaded.tokenizer.decode(greedy),
    sampled: loaded.tokenizer.decode(sampled),
    attentionEntropyBits: meanAttentionEntropyBits(attention),
    pointerFidelity: meanPointerFidelity(attention, windowMasks(batch)),
    attention,
  };
}

/**
 * Extends the window token by token, greedily and by sampling with the
 * request's seed, sliding the window once it contains T tokens. `first` is the
 * next-token distribution after the window. The two continuations run as
 * one batch of two sequences per step.
 */
async function continueWindow(
  loaded: InspectableModel,
  window: number[],
  first: Float32Array,
  lambda: number,
  request: InspectRequest,
): Promise<{ greedy: number[]; sampled: number[] }> {
  const T = loaded.model.config.contextLength;
  const random = createRandom(request.seed);
  const greedy = [argmax(first)];
  const sampled = [sampleToken(first, random)];
  for (let step = 1; step < request.continuationTokens; step++) {
    const sequences = [
      [...window, ...greedy].slice(-T),
      [...window, ...sampled].slice(-T),
    ];
    const position = sequences[0].length - 1;
    const batch = windowBatch(loaded, sequences);
    const next = tf.tidy(() => {
      const { logits } = loaded.model.forward(batch.inputs, { dial: { lambda, kappa: loaded.config.kappa } }); // [2T, V]
      return tf.softmax(tf.gather(logits, [position, T + position])); // [2, V]
    });
    const rows = (await next.data()) as Float32Array;
    next.dispose();
    const V = rows.length / 2;
    greedy.push(argmax(rows.subarray(0, V)));
    sampled.push(sampleToken(rows.subarray(V), random));
  }
  return { greedy, sampled };
}

function topPredictions(loaded: InspectableModel, probabilities: Float32Array): TokenProbability[] {
  const count = Math.min(TOP_PREDICTIONS, probabilities.length);
  // Ids sorted by probability, highest first; equal probabilities keep the lower id first.
  const top: number[] = [];
  for (let id = 0; id < probabilities.length; id++) {
    if (top.length === count && probabilities[id] <= probabilities[top[count - 1]]) continue;
    let index = Math.min(top.length, count - 1);
    while (index > 0 && probabilities[top[index - 1]] < probabilities[id]) index--;
    top.splice(index, 0, id);
    if (top.length > count) top.pop();
  }
  return top.map((id) => ({ token: loaded.tokenizer.vocab[id], probability: probabilities[id] }));
}

/** Id of the largest probability; the lowest such id on ties. */
function argmax(probabilities: Float32Array): number {
  let best = 0;
  for (let id = 1; id < probabilities.length; id++) if (probabilities[id] > probabilities[best]) best = id;
  return best;
}

/** Draws an id from the distribution by inverting its cumulative sum at one uniform number. */
function sampleToken(probabilities: Float32Array, random: Random): number {
  let total = 0;
  for (const probability of probabilities) total += probability;
  let left = random() * total;
  let chosen = 0;
  for (let id = 0; id < probabilities.length; id++) {
    if (probabilities[id] <= 0) continue;
    chosen = id;
    left -= probabilities[id];
    if (left < 0) break;
  }
  return chosen;
}
