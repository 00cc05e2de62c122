/**
 * Fixed token windows of a split and the per-position NLL of a model on
 * them, averaged over dial values. Recruitment of blocks and of specialist
 * models measures every candidate on such windows.
 */
import * as tf from '@tensorflow/tfjs';
import { assembleBatch, evaluationOffsets } from './batch';
import { createRandom, shuffleInPlace } from './random';
import type { RunState } from './trainer';

/** Parts of a run or a loaded model that scoring windows reads. */
export type Scorer = Pick<RunState, 'config' | 'modelConfig' | 'blockTable' | 'buildMasks' | 'model'>;

/** Windows of one stream and their position count. */
export interface WindowSet {
  stream: Int32Array;
  offsets: number[];
  tokens: number;
}

/** E: `tokens / T` non-overlapping windows of the training split drawn with `seed`, in stream order. */
export function sampleWindows(stream: Int32Array, contextLength: number, tokens: number, seed: number): WindowSet {
  const all = evaluationOffsets(stream.length, contextLength);
  if (all.length === 0) {
    throw new RangeError(
      `training text has ${stream.length} tokens, fewer than one window of ${contextLength + 1}; add text or shorten the context`,
    );
  }
  const count = Math.min(all.length, Math.max(1, Math.floor(tokens / contextLength)));
  const offsets = shuffleInPlace(all, createRandom(seed)).slice(0, count).sort((a, b) => a - b);
  return { stream, offsets, tokens: count * contextLength };
}

/** Returns the first `tokens / T` non-overlapping windows of the validation split. */
export function heldOutWindows(stream: Int32Array, contextLength: number, tokens: number): WindowSet {
  const offsets = evaluationOffsets(stream.length, contextLength, Math.max(1, Math.floor(tokens / contextLength)));
  if (offsets.length === 0) {
    throw new RangeError(
      `validation text has ${stream.length} tokens, fewer than one window of ${contextLength + 1}; ` +
        'raise the validation fraction or add documents, because recruitment checks every candidate on held-out text',
    );
  }
  return { stream, offsets, tokens: offsets.length * contextLength };
}

/**
 * Returns the NLL in nats of every position of the windows, [windows * T],
 * averaged over the dial values `lambdas`.
 */
export async function positionNll(run: Scorer, windows: WindowSet, lambdas: number[], signal?: AbortSignal): Promise<Float32Array> {
  const { contextLength: T, layers: L, heads: H } = run.config.model;
  const batchSize = run.config.batchSize;
  const result = new Float32Array(windows.offsets.length * T);
  for (let start = 0; start < windows.offsets.length; start += batchSize) {
    const offsets = windows.offsets.slice(start, start + batchSize);
    const B = offsets.length;
    const shape = { contextLength: T, layers: L, heads: H, blockCount: run.modelConfig.blocks + 1 };
    const batch = assembleBatch(windows.stream, offsets, shape, run.blockTable.blockOf, run.buildMasks);
    for (const lambda of lambdas) {
      if (signal?.aborted) throw new DOMException('recruitment cancelled', 'AbortError');
      const nll = tf.tidy(() => {
        const { logits } = run.model.forward(batch.inputs, { dial: { lambda, kappa: run.config.kappa } }); // [B*T, V]
        const indices = tf.stack([tf.range(0, B * T, 1, 'int32'), tf.tensor1d(batch.targets, 'int32')], 1); // [B*T, 2]
        return tf.neg(tf.gatherND(tf.logSoftmax(logits), indices)).dataSync() as Float32Array; // [B*T]
      });
      const base = start * T;
      for (let position = 0; position < B * T; position++) result[base + position] += nll[position] / lambdas.length;
    }
    // Lets abort events and progress messages through between batches.
    await new Promise((resolve) => setImmediate(resolve));
  }
  return result;
}

export function mean(values: Float32Array): number {
  let sum = 0;
  for (const value of values) sum += value;
  return sum / values.length;
}
