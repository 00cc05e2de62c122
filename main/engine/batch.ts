/**
 * Host-side batch assembly: token windows from a token stream, and the
 * constants the dialled attention needs (block one-hots and rule masks).
 */
import type { BatchInputs } from './model';
import { createRandom } from './random';

/** Rule masks for one batch, as the dialled attention reads them. */
export interface RuleMasks {
  targetMask: Float32Array;
  strength: Float32Array;
  active: Uint8Array;
  /** Per rule, 1 where that rule is active on the row, [L, B, H, T]. */
  ruleRows: Uint8Array[];
}

/** Builds rule masks for tokens [B * T]; null when the model has no enabled rule. */
export type RuleMaskBuilder = (tokens: Int32Array, batch: number, time: number) => RuleMasks | null;

export interface BatchShape {
  contextLength: number;
  layers: number;
  heads: number;
  /** Blocks G counting the background block 0. */
  blockCount: number;
}

export interface Batch {
  inputs: BatchInputs;
  /** Next-token ids, [B * T]. */
  targets: Int32Array;
  /** Per rule, its active rows [L, B, H, T]; empty without rules. */
  ruleRows: Uint8Array[];
}

/**
 * Assembles windows starting at `offsets`: inputs are stream[o .. o+T-1],
 * targets stream[o+1 .. o+T].
 */
export function assembleBatch(
  stream: Int32Array,
  offsets: number[],
  shape: BatchShape,
  blockOf: Int32Array,
  buildMasks: RuleMaskBuilder,
): Batch {
  const T = shape.contextLength;
  const B = offsets.length;
  const G = shape.blockCount;
  const tokens = new Int32Array(B * T);
  const targets = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    const start = offsets[b];
    if (start < 0 || start + T + 1 > stream.length) {
      throw new RangeError(`window at ${start} of length ${T + 1} does not fit a stream of ${stream.length} tokens`);
    }
    tokens.set(stream.subarray(start, start + T), b * T);
    targets.set(stream.subarray(start + 1, start + T + 1), b * T);
  }
  const blockOneHot = new Float32Array(B * T * G);
  for (let position = 0; position < B * T; position++) {
    blockOneHot[position * G + (blockOf[tokens[position]] ?? 0)] = 1;
  }
  const masks = buildMasks(tokens, B, T);
  const rowCount = shape.layers * B * shape.heads * T;
  return {
    inputs: {
      batch: B,
      tokens,
      blockOneHot,
      targetMask: masks?.targetMask ?? new Float32Array(rowCount * T),
      strength: masks?.strength ?? new Float32Array(rowCount),
      active: masks?.active ?? new Uint8Array(rowCount),
    },
    targets,
    ruleRows: masks?.ruleRows ?? [],
  };
}

/** Random window offsets for training step `step`, reproducible from (seed, step). */
export function sampleOffsets(streamLength: number, contextLength: number, batch: number, seed: number, step: number): number[] {
  const random = createRandom(seed * 1_000_003 + step * 7 + 11);
  const limit = streamLength - contextLength - 1;
  if (limit < 1) {
    throw new RangeError(
      `training text has ${streamLength} tokens, fewer than one window of ${contextLength + 1}; add text or shorten the context`,
    );
  }
  return Array.from({ length: batch }, () => Math.floor(random() * limit));
}

/** Non-overlapping window offsets covering a stream, for evaluation. */
export function evaluationOffsets(streamLength: number, contextLength: number, maxWindows = Infinity): number[] {
  const offsets: number[] = [];
  for (let start = 0; start + contextLength + 1 <= streamLength && offsets.length < maxWindows; start += contextLength) {
    offsets.push(start);
  }
  return offsets;
}
