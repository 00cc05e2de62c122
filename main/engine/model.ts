/**
 * The localist transformer: a decoder-only, pre-LayerNorm transformer whose
 * attention carries block key biases and the locality dial. Shapes use
 * B = batch, T = context, D = width, H = heads, E = D / H, V = vocabulary,
 * K = named blocks and G = K + 1 blocks counting the background block 0.
 */
import * as tf from '@tensorflow/tfjs';
import { addBias, embeddingLookup, matMul, matMulConstant, scaleShift, softmaxCrossEntropy } from './ops';

export interface ModelConfig {
  /** Vocabulary size V, special tokens included. */
  vocabSize: number;
  /** Context length T in tokens (default 64). */
  contextLength: number;
  /** Transformer layers L (default 2). */
  layers: number;
  /** Attention heads H per layer (default 4); must divide the width. */
  heads: number;
  /** Model width D (default 128). */
  width: number;
  /** Named blocks K; each adds a block embedding (D) and one key bias per layer and head. */
  blocks: number;
  /**
   * LoRA adapters of a specialist model, or absent for a plain model: rank r
   * down and up projections on the query and value projections of every
   * layer (2 L 2 D r parameters), and optionally its own output bias (V more).
   */
  adapters?: AdapterConfig;
}

export interface AdapterConfig {
  /** Rank r of each adapter (default 2). */
  rank: number;
  /** Whether the specialist has its own output bias. */
  outputBias: boolean;
}

/** Names of the parameters that adapters add, in the order the constructor creates them. */
export function adapterParameterNames(config: Pick<ModelConfig, 'layers' | 'adapters'>): string[] {
  if (!config.adapters) return [];
  const names: string[] = [];
  for (let l = 0; l < config.layers; l++) {
    for (const projection of ['query', 'value']) names.push(`layer${l}.${projection}.adapterDown`, `layer${l}.${projection}.adapterUp`);
  }
  if (config.adapters.outputBias) names.push('output.adapterBias');
  return names;
}

export const DEFAULT_MODEL_CONFIG: Omit<ModelConfig, 'vocabSize' | 'blocks'> = {
  contextLength: 64,
  layers: 2,
  heads: 4,
  width: 128,
};

/** Dial settings read at every forward pass; changing them changes no weight. */
export interface DialSettings {
  /** Locality dial lambda in [0, 1]: 0 is the ordinary transformer. */
  lambda: number;
  /** Sharpening kappa >= 0 of the block prior on rows without an active rule (default 4). */
  kappa: number;
}

/** Constants of one batch, built from token ids on the host. */
export interface BatchInputs {
  batch: number;
  /** Input token ids, [B * T] row-major. */
  tokens: Int32Array;
  /** One-hot block of each position, [B * T * G]. */
  blockOneHot: Float32Array;
  /** Union of active rule targets per row, [L, B, H, T, T] (1 on target keys j <= i). */
  targetMask: Float32Array;
  /** Strength beta in nats of the strongest active rule per row, [L, B, H, T]; 0 without a rule. */
  strength: Float32Array;
  /** 1 where a rule is active on the row, [L, B, H, T]. */
  active: Uint8Array;
}

export interface ForwardOptions {
  dial: DialSettings;
  /** Keep the undialled and dialled attention of every layer for metrics. */
  keepAttention?: boolean;
}

export interface ForwardResult {
  /** Next-token logits, [B * T, V]. */
  logits: tf.Tensor2D;
  /** Mean block entropy of the dialled attention over all rows, heads and layers (nats). */
  blockEntropy: tf.Scalar;
  /** Sum over active rule rows of -ln A_T (nats). */
  ruleNllSum: tf.Scalar;
  /** Number of active rule rows in the batch, all layers and heads. */
  activeRows: number;
  /** Per layer, undialled attention p, [B, H, T, T] (only with keepAttention). */
  distributed?: tf.Tensor4D[];
  /** Per layer, dialled attention A, [B, H, T, T] (only with keepAttention). */
  dialled?: tf.Tensor4D[];
}

const LOG_FLOOR = 1e-9;
/** Largest kappa accepted. */
export const MAX_KAPPA = 1000;
const MASKED_LOGIT = -1e9;
const LAYER_NORM_EPSILON = 1e-5;

/** Deterministic normal initializer seeded per parameter. */
function initNormal(shape: number[], std: number, seed: number): tf.Tensor {
  return tf.randomNormal(shape, 0, std, 'float32', seed);
}

let modelInstances = 0;

export class LocalistModel {
  readonly config: ModelConfig;
  /** Trainable parameters by stable name; checkpoints store them under these names. */
  readonly params = new Map<string, tf.Variable>();
  /**
   * True when only the adapters train, as in a specialist: the dense layers
   * and the token embedding then skip their weight gradients, which no
   * optimizer reads. The forward pass is the same either way.
   */
  frozenBase = false;
  private causalMask: tf.Tensor | undefined;

  constructor(config: ModelConfig, seed = 1) {
    validateModelConfig(config);
    this.config = config;
    const { vocabSize: V, contextLength: T, layers: L, heads: H, width: D, blocks: K } = config;
    let nextSeed = seed * 7919;
    // tfjs registers variable names globally, so each model instance gets
    // its own prefix; `params` keys stay the stable names.
    const prefix = `model${++modelInstances}/`;
    const add = (name: string, value: tf.Tensor) => {
      this.params.set(name, tf.variable(value, true, prefix + name));
      value.dispose();
    };
    const normal = (shape: number[], std = 0.02) => initNormal(shape, std, nextSeed++);
    // Residual projections are scaled down with depth, as in GPT-2.
    const residualStd = 0.02 / Math.sqrt(2 * L);

    add('tokenEmbedding', normal([V, D]));
    add('positionEmbedding', normal([T, D], 0.01));
    if (K > 0) add('blockEmbedding', tf.zeros([K, D]));
    for (let l = 0; l < L; l++) {
      const p = `layer${l}.`;
      add(`${p}attentionNorm.gamma`, tf.ones([D]));
      add(`${p}attentionNorm.beta`, tf.zeros([D]));
      for (const projection of ['query', 'key', 'value']) {
        add(`${p}${projection}.kernel`, normal([D, D]));
        add(`${p}${projection}.bias`, tf.zeros([D]));
      }
      add(`${p}attentionOut.kernel`, normal([D, D], residualStd));
      add(`${p}attentionOut.bias`, tf.zeros([D]));
      if (K > 0) add(`${p}blockKeyBias`, tf.zeros([K, H]));
      add(`${p}mlpNorm.gamma`, tf.ones([D]));
      add(`${p}mlpNorm.beta`, tf.zeros([D]));
      add(`${p}mlpIn.kernel`, normal([D, 4 * D]));
      add(`${p}mlpIn.bias`, tf.zeros([4 * D]));
      add(`${p}mlpOut.kernel`, normal([4 * D, D], residualStd));
      add(`${p}mlpOut.bias`, tf.zeros([D]));
    }
    add('finalNorm.gamma', tf.ones([D]));
    add('finalNorm.beta', tf.zeros([D]));
    add('output.kernel', normal([D, V]));
    add('output.bias', tf.zeros([V]));
    if (config.adapters) {
      const rank = config.adapters.rank;
      // Up projections start at zero, so a new specialist computes exactly what its parent does.
      for (let l = 0; l < L; l++) {
        for (const projection of ['query', 'value']) {
          add(`layer${l}.${projection}.adapterDown`, normal([D, rank]));
          add(`layer${l}.${projection}.adapterUp`, tf.zeros([rank, D]));
        }
      }
      if (config.adapters.outputBias) add('output.adapterBias', tf.zeros([V]));
    }
  }

  get parameterCount(): number {
    let total = 0;
    for (const variable of this.params.values()) total += variable.size;
    return total;
  }

  param(name: string): tf.Variable {
    const variable = this.params.get(name);
    if (!variable) throw new Error(`model has no parameter "${name}"`);
    return variable;
  }

  /** x @ kernel + bias of the named dense layer, x [N, in] to [N, out]. */
  private dense(x: tf.Tensor, name: string): tf.Tensor {
    const kernel = this.param(`${name}.kernel`);
    if (this.frozenBase) {
      // tf.add computes its bias gradient only on request, and the kernel is a constant here.
      return tf.add(matMulConstant(x, kernel, tf.transpose(kernel)), this.param(`${name}.bias`));
    }
    return addBias(matMul(x, kernel), this.param(`${name}.bias`));
  }

  /** The dense layer plus its LoRA adapter x @ down @ up, where the model has one. */
  private adapted(x: tf.Tensor, name: string): tf.Tensor {
    const projected = this.dense(x, name);
    const down = this.params.get(`${name}.adapterDown`);
    const up = this.params.get(`${name}.adapterUp`);
    if (!down || !up) return projected;
    return tf.add(projected, matMul(matMul(x, down), up)); // [N, r] then [N, D]
  }

  /** Additive causal mask, [1, 1, T, T]: 0 on keys j <= i, a large negative number after. */
  private mask(): tf.Tensor {
    if (!this.causalMask) {
      const T = this.config.contextLength;
      const values = new Float32Array(T * T);
      for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) values[i * T + j] = MASKED_LOGIT;
      this.causalMask = tf.keep(tf.tensor4d(values, [1, 1, T, T]));
    }
    return this.causalMask;
  }

  /**
   * Runs the dialled forward pass. Call inside `tf.tidy` (or dispose the
   * result); only tensors in the result survive.
   */
  forward(inputs: BatchInputs, options: ForwardOptions): ForwardResult {
    const { contextLength: T, layers: L, heads: H, width: D, blocks: K } = this.config;
    const B = inputs.batch;
    const G = K + 1;
    const E = D / H;
    validateDial(options.dial);

    const ids = tf.tensor1d(inputs.tokens, 'int32'); // [B*T]
    const blockOneHot2d = tf.tensor2d(inputs.blockOneHot, [B * T, G]); // [B*T, G]
    // Block one-hots of the keys per sequence. Attention rows are reshaped to
    // [B, H*T, T] before multiplying by these, because tfjs 4.22's batched
    // matMul broadcasts a [B, 1, ...] operand wrongly against [B, H, ...].
    const keysOneHot = tf.reshape(blockOneHot2d, [B, T, G]); // [B, T, G]
    const keysOneHotT = tf.transpose(keysOneHot, [0, 2, 1]); // [B, G, T]

    // Embeddings: token + position + block, [B*T, D].
    const tokenEmbedding = this.param('tokenEmbedding') as tf.Tensor2D;
    let x = this.frozenBase ? tf.gather(tokenEmbedding, ids) : embeddingLookup(tokenEmbedding, ids);
    // Broadcast add instead of tile, which is slow on wasm.
    x = tf.reshape(tf.add(tf.reshape(x, [B, T, D]), this.param('positionEmbedding')), [B * T, D]);
    if (K > 0) {
      const blockTable = tf.concat([tf.zeros([1, D]), this.param('blockEmbedding')], 0); // [G, D]
      x = tf.add(x, matMul(blockOneHot2d, blockTable)); // [B*T, D]
    }

    const plane = B * H * T;
    let blockEntropySum: tf.Scalar = tf.scalar(0);
    let ruleNllSum: tf.Scalar = tf.scalar(0);
    let activeRows = 0;
    const distributed: tf.Tensor4D[] = [];
    const dialled: tf.Tensor4D[] = [];

    for (let l = 0; l < L; l++) {
      const p = `layer${l}.`;
      const h = layerNorm(x, this.param(`${p}attentionNorm.gamma`), this.param(`${p}attentionNorm.beta`));
      // Three projections rather than one fused [D, 3D] one: splitting its
      // output costs more on wasm than the two extra matMuls.
      const project = (name: string) => this.adapted(h, `${p}${name}`); // [B*T, D]
      const q0 = project('query');
      const k0 = project('key');
      const v0 = project('value');
      const q = tf.transpose(tf.reshape(q0, [B, T, H, E]), [0, 2, 1, 3]); // [B, H, T, E]
      const kT = tf.transpose(tf.reshape(k0, [B, T, H, E]), [0, 2, 3, 1]); // [B, H, E, T]
      const v = tf.transpose(tf.reshape(v0, [B, T, H, E]), [0, 2, 1, 3]); // [B, H, T, E]

      // s[i,j] = q_i . k_j / sqrt(E) + b[l,h,g(j)], causal.
      let scores = tf.mul(matMul(q, kT), 1 / Math.sqrt(E)); // [B, H, T, T]
      if (K > 0) {
        const biasTable = tf.concat([tf.zeros([1, H]), this.param(`${p}blockKeyBias`)], 0); // [G, H]
        const keyBias = matMul(blockOneHot2d, biasTable); // [B*T, H]
        const keyBias4 = tf.reshape(tf.transpose(tf.reshape(keyBias, [B, T, H]), [0, 2, 1]), [B, H, 1, T]);
        scores = tf.add(scores, keyBias4);
      }
      scores = tf.add(scores, this.mask());
      const attention = tf.softmax(scores); // p, [B, H, T, T]

      const layerOffset = l * plane;
      const targetMask = tf.tensor4d(
        inputs.targetMask.subarray(layerOffset * T, (layerOffset + plane) * T),
        [B, H, T, T],
      );
      const strength = inputs.strength.subarray(layerOffset, layerOffset + plane);
      const active = inputs.active.subarray(layerOffset, layerOffset + plane);
      let layerActive = 0;
      for (let r = 0; r < plane; r++) layerActive += active[r];
      activeRows += layerActive;
      const dialledAttention = dialAttention(attention, scores, { keysOneHot, keysOneHotT, targetMask, strength, active }, options.dial);

      // Penalty terms of the objective, on the dialled attention.
      const dialledBlockMass = matMulConstant(tf.reshape(dialledAttention, [B, H * T, T]), keysOneHot, keysOneHotT); // M, [B, H*T, G]
      const rowBlockEntropy = tf.neg(
        tf.sum(tf.mul(dialledBlockMass, tf.log(tf.maximum(dialledBlockMass, LOG_FLOOR))), -1),
      ); // [B, H*T]
      blockEntropySum = tf.add(blockEntropySum, tf.sum(rowBlockEntropy));
      if (layerActive > 0) {
        const targetMass = tf.sum(tf.mul(dialledAttention, targetMask), -1); // A_T, [B, H, T]
        const activeMask = tf.tensor3d(Float32Array.from(active), [B, H, T]);
        const nll = tf.mul(tf.neg(tf.log(tf.maximum(targetMass, LOG_FLOOR))), activeMask);
        ruleNllSum = tf.add(ruleNllSum, tf.sum(nll));
      }
      if (options.keepAttention) {
        distributed.push(attention as tf.Tensor4D);
        dialled.push(dialledAttention as tf.Tensor4D);
      }

      const mixed = tf.reshape(tf.transpose(matMul(dialledAttention, v), [0, 2, 1, 3]), [B * T, D]); // [B*T, D]
      x = tf.add(x, this.dense(mixed, `${p}attentionOut`));

      const h2 = layerNorm(x, this.param(`${p}mlpNorm.gamma`), this.param(`${p}mlpNorm.beta`));
      const hidden = gelu(this.dense(h2, `${p}mlpIn`)); // [B*T, 4D]
      x = tf.add(x, this.dense(hidden, `${p}mlpOut`));
    }

    const final = layerNorm(x, this.param('finalNorm.gamma'), this.param('finalNorm.beta'));
    let logits = this.dense(final, 'output') as tf.Tensor2D; // [B*T, V]
    if (this.params.has('output.adapterBias')) logits = addBias(logits, this.param('output.adapterBias')) as tf.Tensor2D;
    const result: ForwardResult = {
      logits,
      blockEntropy: tf.div(blockEntropySum, plane * L) as tf.Scalar,
      ruleNllSum,
      activeRows,
    };
    if (options.keepAttention) {
      result.distributed = distributed;
      result.dialled = dialled;
    }
    return result;
  }

  dispose(): void {
    for (const variable of this.params.values()) variable.dispose();
    this.params.clear();
    this.causalMask?.dispose();
    this.causalMask = undefined;
  }
}

/** Objective weights of the penalized likelihood. */
export interface ObjectiveWeights {
  /** Weight of the block-entropy penalty (default 0.05). */
  muBlock: number;
  /** Weight of the rule penalty, mean -ln A_T over active rows (default 1.0). */
  muRule: number;
}

export const DEFAULT_OBJECTIVE: ObjectiveWeights = { muBlock: 0.05, muRule: 1.0 };

/**
 * L = CE + lambda_train * (mu_block * Omega_block + mu_rule * Omega_rule), in
 * nats, with lambda_train the dial used for the forward pass.
 */
export function objective(
  result: ForwardResult,
  targets: tf.Tensor1D,
  lambdaTrain: number,
  weights: ObjectiveWeights,
  shard?: ObjectiveShard,
): { loss: tf.Scalar; crossEntropy: tf.Scalar } {
  const crossEntropy = softmaxCrossEntropy(result.logits, targets);
  const share = shard?.share ?? 1;
  const ruleRows = shard?.ruleRows ?? result.activeRows;
  const ruleTerm = ruleRows > 0 ? tf.div(result.ruleNllSum, ruleRows) : tf.scalar(0);
  const penalty = tf.add(tf.mul(result.blockEntropy, weights.muBlock * share), tf.mul(ruleTerm, weights.muRule));
  const loss = tf.add(tf.mul(crossEntropy, share), tf.mul(penalty, lambdaTrain)) as tf.Scalar;
  return { loss, crossEntropy };
}

/**
 * One replica's part of a batch split across data-parallel replicas. Its
 * loss is then its share of the whole batch's objective, so the sum of the
 * replicas' gradients is the whole batch's gradient.
 */
export interface ObjectiveShard {
  /** This replica's sequences over the batch's: the weight of its mean cross-entropy and block entropy. */
  share: number;
  /** Active rule rows in the whole batch, over which the rule term averages. */
  ruleRows: number;
}

export function layerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor {
  const mean = tf.mean(x, -1, true);
  const centered = tf.sub(x, mean);
  const variance = tf.mean(tf.square(centered), -1, true);
  return scaleShift(tf.mul(centered, tf.rsqrt(tf.add(variance, LAYER_NORM_EPSILON))), gamma, beta);
}

/** GELU, tanh approximation. */
export function gelu(x: tf.Tensor): tf.Tensor {
  const inner = tf.mul(tf.add(x, tf.mul(tf.mul(tf.mul(x, x), x), 0.044715)), Math.sqrt(2 / Math.PI));
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
}

export function validateModelConfig(config: ModelConfig): void {
  const positive = ['vocabSize', 'contextLength', 'layers', 'heads', 'width'] as const;
  for (const key of positive) {
    const value = config[key];
    if (!Number.isInteger(value) || value < 1) {
      throw new RangeError(`model config ${key} = ${value} is invalid; use a positive integer`);
    }
  }
  if (!Number.isInteger(config.blocks) || config.blocks < 0) {
    throw new RangeError(`model config blocks = ${config.blocks} is invalid; use an integer >= 0`);
  }
  if (config.adapters && (!Number.isInteger(config.adapters.rank) || config.adapters.rank < 1)) {
    throw new RangeError(`adapter rank ${config.adapters.rank} is invalid; use a positive integer such as 2`);
  }
  if (config.width % config.heads !== 0) {
    throw new RangeError(
      `model width ${config.width} is not divisible by heads ${config.heads}; choose a width that is a multiple of the head count`,
    );
  }
}

export function validateDial(dial: DialSettings): void {
  if (!(dial.lambda >= 0 && dial.lambda <= 1)) {
    throw new RangeError(`lambda = ${dial.lambda} is outside [0, 1]; set the locality dial between 0 and 1`);
  }
  // Above MAX_KAPPA, lambda * kappa * ln(1e-9) could rival the causal mask's -1e9 logit.
  if (!(dial.kappa >= 0 && dial.kappa <= MAX_KAPPA)) {
    throw new RangeError(`kappa = ${dial.kappa} is invalid; use a number from 0 to ${MAX_KAPPA}`);
  }
}

/** Constants of the dial for one layer's rows. */
export interface DialConstants {
  /** Block one-hot of each key per sequence, [B, T, G], and its transpose [B, G, T]. */
  keysOneHot: tf.Tensor;
  keysOneHotT: tf.Tensor;
  /** 1 on the rule targets of each row, [B, H, T, T]. */
  targetMask: tf.Tensor;
  /** Strength beta of each row's active rules in nats, [B * H * T]; read only where `active` is 1. */
  strength: Float32Array;
  /** 1 where a rule is active on the row, [B * H * T]. */
  active: Uint8Array;
}

/**
 * Dialled attention A from undialled attention p and the logits s it came
 * from, both [B, H, T, T] with masked keys already at a large negative logit:
 *   rule row:  s' = s + lambda * beta * [j in T(i)]
 *   other row: s' = s + lambda * kappa * ln max(m_g(j), 1e-9)
 * where m_g is the undialled mass of block g on the row, then A = softmax(s').
 */
export function dialAttention(attention: tf.Tensor, scores: tf.Tensor, constants: DialConstants, dial: DialSettings): tf.Tensor {
  const [B, H, T] = attention.shape;
  const { lambda, kappa } = dial;
  const rows = B * H * T;
  const ruleBias = new Float32Array(rows);
  const blockPriorWeight = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    if (constants.active[r]) ruleBias[r] = lambda * constants.strength[r];
    else blockPriorWeight[r] = lambda * kappa;
  }
  const { keysOneHot, keysOneHotT } = constants;
  const blockMass = matMulConstant(tf.reshape(attention, [B, H * T, T]), keysOneHot, keysOneHotT); // m, [B, H*T, G]
  const logBlockMass = tf.log(tf.maximum(blockMass, LOG_FLOOR));
  const keyPrior = tf.reshape(matMulConstant(logBlockMass, keysOneHotT, keysOneHot), [B, H, T, T]); // ln m_g(j)
  const dialledScores = tf.add(
    scores,
    tf.add(
      tf.mul(constants.targetMask, tf.tensor4d(ruleBias, [B, H, T, 1])),
      tf.mul(keyPrior, tf.tensor4d(blockPriorWeight, [B, H, T, 1])),
    ),
  );
  return tf.softmax(dialledScores); // A, [B, H, T, T]
}
