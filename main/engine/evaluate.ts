/**
 * Metrics of the dialled model on held-out text: perplexity, top-1 accuracy,
 * attention entropy, block entropy and pointer fidelity, overall and per
 * rule, layer and head. All log-quantities are in nats.
 */
import * as tf from '@tensorflow/tfjs';
import { assembleBatch, evaluationOffsets, type RuleMaskBuilder } from './batch';
import type { BlockTable } from './blocks';
import type { DialSettings, LocalistModel } from './model';
import type { CompiledRules } from './rules';

export interface RuleMetrics {
  id: string;
  name: string;
  requiredFidelity: number;
  /** Active rows over all layers and heads. */
  activeRows: number;
  /**
   * Mean dialled target mass A_T over active rows; null without active rows.
   * On a row where several rules are active, A_T is the mass on the union of
   * their targets, as the dial uses it, so each of them is credited with it.
   */
  pointerFidelity: number | null;
  minimumFidelity: number | null;
  /** Share of active rows whose largest attention weight lies on a target key. */
  pointerFidelityArgmax: number | null;
  /** Per layer and head: mean A_T and active rows, [l][h]. */
  byLayerHead: { pointerFidelity: number | null; activeRows: number }[][];
}

export interface EvaluationMetrics {
  dial: DialSettings;
  tokens: number;
  /** Mean next-token cross-entropy, nats per token. */
  crossEntropy: number;
  perplexity: number;
  accuracy: number;
  /** Mean attention entropy over rows, heads and layers, in nats. */
  attentionEntropy: number;
  /** Mean attention entropy divided by ln(visible keys), over rows with at least two keys. */
  normalizedAttentionEntropy: number;
  /** Mean entropy of the dialled block masses, in nats. */
  blockEntropy: number;
  /** Mean A_T over all active rule rows; null when no rule is active. */
  pointerFidelity: number | null;
  pointerFidelityArgmax: number | null;
  activeRuleRows: number;
  rules: RuleMetrics[];
}

export interface EvaluationInputs {
  model: LocalistModel;
  stream: Int32Array;
  blockTable: BlockTable;
  compiled: CompiledRules;
  buildMasks: RuleMaskBuilder;
}

export interface EvaluationOptions {
  dial: DialSettings;
  /** Maximum tokens to evaluate (default: the whole stream). */
  maxTokens?: number;
  batchSize?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

interface RuleAccumulator {
  sum: number;
  count: number;
  min: number;
  argmaxHits: number;
  cells: { sum: number; count: number }[];
}

/** Evaluates the model on non-overlapping windows of the stream. */
export async function evaluate(inputs: EvaluationInputs, options: EvaluationOptions): Promise<EvaluationMetrics> {
  const { model, stream, blockTable, compiled, buildMasks } = inputs;
  const { contextLength: T, layers: L, heads: H, blocks: K } = model.config;
  const G = K + 1;
  const batchSize = options.batchSize ?? 32;
  const maxWindows = options.maxTokens ? Math.max(1, Math.floor(options.maxTokens / T)) : Infinity;
  const offsets = evaluationOffsets(stream.length, T, maxWindows);
  if (offsets.length === 0) {
    throw new RangeError(
      `held-out text has ${stream.length} tokens, fewer than one window of ${T + 1}; add documents to the held-out split`,
    );
  }
  const rules = compiled.rules;
  let nllSum = 0;
  let correct = 0;
  let tokens = 0;
  let entropySum = 0;
  let normalizedSum = 0;
  let normalizedRows = 0;
  let blockEntropySum = 0;
  let rows = 0;
  let fidelitySum = 0;
  let argmaxHits = 0;
  let activeRows = 0;
  const perRule: RuleAccumulator[] = rules.map(() => ({
    sum: 0,
    count: 0,
    min: Infinity,
    argmaxHits: 0,
    cells: Array.from({ length: L * H }, () => ({ sum: 0, count: 0 })),
  }));
  const logKeys = Float64Array.from({ length: T }, (_, i) => Math.log(i + 1));

  for (let start = 0; start < offsets.length; start += batchSize) {
    if (options.signal?.aborted) throw new DOMException('evaluation cancelled', 'AbortError');
    const windowOffsets = offsets.slice(start, start + batchSize);
    const B = windowOffsets.length;
    const batch = assembleBatch(
      stream,
      windowOffsets,
      { contextLength: T, layers: L, heads: H, blockCount: G },
      blockTable.blockOf,
      buildMasks,
    );
    const read = tf.tidy(() => {
      const result = model.forward(batch.inputs, { dial: options.dial, keepAttention: true });
      const logProbs = tf.logSoftmax(result.logits);
      const indices = tf.stack([tf.range(0, B * T, 1, 'int32'), tf.tensor1d(batch.targets, 'int32')], 1);
      return {
        nll: tf.neg(tf.gatherND(logProbs, indices)),
        predicted: tf.argMax(result.logits, 1),
        dialled: tf.stack(result.dialled ?? []), // [L, B, H, T, T]
      };
    });
    const nll = (await read.nll.data()) as Float32Array;
    const predicted = (await read.predicted.data()) as Int32Array;
    const attention = (await read.dialled.data()) as Float32Array;
    tf.dispose([read.nll, read.predicted, read.dialled]);

    for (let position = 0; position < B * T; position++) {
      nllSum += nll[position];
      if (predicted[position] === batch.targets[position]) correct++;
    }
    tokens += B * T;

    const blockMass = new Float64Array(G);
    for (let l = 0; l < L; l++) {
      for (let b = 0; b < B; b++) {
        for (let h = 0; h < H; h++) {
          for (let i = 0; i < T; i++) {
            const row = ((l * B + b) * H + h) * T + i;
            const base = row * T;
            let entropy = 0;
            let largest = -1;
            let largestKey = 0;
            blockMass.fill(0);
            for (let j = 0; j <= i; j++) {
              const a = attention[base + j];
              if (a > 0) entropy -= a * Math.log(a);
              if (a > largest) {
                largest = a;
                largestKey = j;
              }
              blockMass[blockTable.blockOf[batch.inputs.tokens[b * T + j]] ?? 0] += a;
            }
            entropySum += entropy;
            if (i > 0) {
              normalizedSum += entropy / logKeys[i];
              normalizedRows++;
            }
            let blockEntropy = 0;
            for (let g = 0; g < G; g++) if (blockMass[g] > 0) blockEntropy -= blockMass[g] * Math.log(blockMass[g]);
            blockEntropySum += blockEntropy;
            rows++;
            if (!batch.inputs.active[row]) continue;
            let targetMass = 0;
            for (let j = 0; j <= i; j++) if (batch.inputs.targetMask[base + j] > 0) targetMass += attention[base + j];
            const hit = batch.inputs.targetMask[base + largestKey] > 0 ? 1 : 0;
            fidelitySum += targetMass;
            argmaxHits += hit;
            activeRows++;
            for (let r = 0; r < rules.length; r++) {
              if (!batch.ruleRows[r][row]) continue;
              const acc = perRule[r];
              acc.sum += targetMass;
              acc.count++;
              acc.min = Math.min(acc.min, targetMass);
              acc.argmaxHits += hit;
              const cell = acc.cells[l * H + h];
              cell.sum += targetMass;
              cell.count++;
            }
          }
        }
      }
    }
    options.onProgress?.(Math.min(offsets.length, start + B), offsets.length);
    // Let cancellation and progress messages through between batches.
    await new Promise((resolve) => setImmediate(resolve));
  }

  const crossEntropy = nllSum / tokens;
  return {
    dial: options.dial,
    tokens,
    crossEntropy,
    perplexity: Math.exp(crossEntropy),
    accuracy: correct / tokens,
    attentionEntropy: entropySum / rows,
    normalizedAttentionEntropy: normalizedRows > 0 ? normalizedSum / normalizedRows : 0,
    blockEntropy: blockEntropySum / rows,
    pointerFidelity: activeRows > 0 ? fidelitySum / activeRows : null,
    pointerFidelityArgmax: activeRows > 0 ? argmaxHits / activeRows : null,
    activeRuleRows: activeRows,
    rules: rules.map((rule, r) => {
      const acc = perRule[r];
      return {
        id: rule.id,
        name: rule.name,
        requiredFidelity: rule.requiredFidelity,
        activeRows: acc.count,
        pointerFidelity: acc.count > 0 ? acc.sum / acc.count : null,
        minimumFidelity: acc.count > 0 ? acc.min : null,
        pointerFidelityArgmax: acc.count > 0 ? acc.argmaxHits / acc.count : null,
        byLayerHead: Array.from({ length: L }, (_, l) =>
          Array.from({ length: H }, (_, h) => {
            const cell = acc.cells[l * H + h];
            return { pointerFidelity: cell.count > 0 ? cell.sum / cell.count : null, activeRows: cell.count };
          }),
        ),
      };
    }),
  };
}

/** Sweep lambdas of protocol A. */
export const SWEEP_LAMBDAS = [0, 0.2, 0.4, 0.6, 0.8, 1] as const;

export const NATS_PER_BIT = Math.LN2;

export function toBits(nats: number): number {
  return nats / NATS_PER_BIT;
}
