/**
 * One training run's state (model, optimizer, data, blocks and rules) and
 * its steps. The worker drives it; tests drive it directly.
 */
import * as tf from '@tensorflow/tfjs';
import { assembleBatch, sampleOffsets, type RuleMaskBuilder } from './batch';
import { blockTableFromJSON, blockTableToJSON, type BlockTable } from './blocks';
import { CheckpointError, readCheckpoint, writeCheckpoint, type CheckpointContents, type TensorRecord } from './checkpoint';
import { buildLocalisation, prepareData, ruleMaskBuilder, type DataSpec, type PreparedData } from './data';
import {
  adapterParameterNames,
  DEFAULT_MODEL_CONFIG,
  DEFAULT_OBJECTIVE,
  LocalistModel,
  objective,
  validateDial,
  validateModelConfig,
  type ModelConfig,
  type ObjectiveWeights,
} from './model';
import { AdamW, DEFAULT_OPTIMIZER, type OptimizerConfig } from './optimizer';
import { createRandom } from './random';
import { compileRules, rulesFromJSON, type CompiledRules, type RulesFileInput } from './rules';
import { Tokenizer } from './tokenizer';
import type { BlocksFileInput } from './blocks';

/** Everything that defines a training run; stored in its checkpoints. */
export interface TrainConfig {
  data: DataSpec;
  model: Pick<ModelConfig, 'contextLength' | 'layers' | 'heads' | 'width'>;
  optimizer: Omit<OptimizerConfig, 'totalSteps'>;
  /** Sequences per step, across all replicas (default 32). */
  batchSize: number;
  /** Total optimizer steps. */
  steps: number;
  /** The dial during training: a fixed lambda, or "uniform" to draw it from [0, 1] per batch. */
  lambdaTrain: number | 'uniform';
  /** kappa of the block prior, in training and by default at inference (default 4). */
  kappa: number;
  objective: ObjectiveWeights;
  /** Seed of initialization, batch sampling and lambda draws. */
  seed: number;
  /** Steps between checkpoints; the last step always writes one. */
  checkpointEvery: number;
  /**
   * Wall-clock limit of training in seconds, or null for none. With a limit
   * the learning rate decays by the larger of the step and time shares, and
   * training ends at whichever limit comes first, so a run on a slower
   * machine takes fewer steps instead of more time.
   */
  timeBudgetSeconds: number | null;
}

export function defaultTrainConfig(overrides: Partial<TrainConfig> = {}): TrainConfig {
  return {
    data: { corpus: 'brown', seed: 1, validationFraction: 0.05, testFraction: 0.05, maxVocab: 8000 },
    model: { ...DEFAULT_MODEL_CONFIG },
    optimizer: { ...DEFAULT_OPTIMIZER },
    batchSize: 32,
    steps: 1000,
    lambdaTrain: 'uniform',
    kappa: 4,
    objective: { ...DEFAULT_OBJECTIVE },
    seed: 1,
    checkpointEvery: 200,
    timeBudgetSeconds: null,
    ...overrides,
  };
}

export function validateTrainConfig(config: TrainConfig): void {
  const integer = (name: string, value: number, min: number) => {
    if (!Number.isInteger(value) || value < min) {
      throw new RangeError(`${name} = ${value} is invalid; use an integer >= ${min}`);
    }
  };
  integer('steps', config.steps, 1);
  integer('batch size', config.batchSize, 1);
  integer('checkpoint interval', config.checkpointEvery, 1);
  if (config.timeBudgetSeconds !== null && !(config.timeBudgetSeconds > 0)) {
    throw new RangeError(`time budget ${config.timeBudgetSeconds} s is invalid; use a positive number of seconds or none`);
  }
  if (config.lambdaTrain !== 'uniform' && !(config.lambdaTrain >= 0 && config.lambdaTrain <= 1)) {
    throw new RangeError(`training lambda ${config.lambdaTrain} is outside [0, 1]; use a value in [0, 1] or "uniform"`);
  }
  if (!(config.optimizer.learningRate > 0)) {
    throw new RangeError(`learning rate ${config.optimizer.learningRate} is invalid; use a positive number such as 0.003`);
  }
}

/** Progress of one step, in nats. */
export interface StepReport {
  step: number;
  loss: number;
  crossEntropy: number;
  lambda: number;
  gradientNorm: number;
}

export interface RunState {
  config: TrainConfig;
  modelConfig: ModelConfig;
  data: PreparedData;
  blockTable: BlockTable;
  rulesFile: RulesFileInput;
  compiled: CompiledRules;
  buildMasks: RuleMaskBuilder;
  model: LocalistModel;
  optimizer: AdamW;
  /**
   * Names of the parameters that train, or absent for all of them. A
   * specialist trains only its adapters.
   */
  trainable?: readonly string[];
  /** Steps already taken. */
  step: number;
  tokensSeen: number;
  elapsedSeconds: number;
}

/** Returns the dial value lambda used for training step `step`. */
export function lambdaForStep(config: TrainConfig, step: number): number {
  if (config.lambdaTrain !== 'uniform') return config.lambdaTrain;
  return createRandom(config.seed * 48_271 + step * 13 + 5)();
}

/** Prepares a new run: data, tokenizer, blocks, rules, model and optimizer. */
export async function createRun(
  config: TrainConfig,
  blocksFile: BlocksFileInput,
  rulesFile: RulesFileInput,
  preparedData?: PreparedData,
): Promise<RunState> {
  validateTrainConfig(config);
  const data = preparedData ?? (await prepareData(config.data));
  const window = config.model.contextLength + 1;
  for (const split of ['validation', 'test'] as const) {
    const tokens = data.streams[split].length;
    if (tokens < window) {
      throw new RangeError(
        `corpus "${config.data.corpus}" leaves ${tokens} tokens for the ${split} split, fewer than one window of ${window}; ` +
          `splits are by document (${data.corpus.documents.length} here), so add documents, at least 3 per domain, or split a long text into several files`,
      );
    }
  }
  // The run records the corpus it saw, so later loads can refuse a changed one.
  const runConfig: TrainConfig = { ...config, data: { ...config.data, fingerprint: data.fingerprint } };
  const localisation = buildLocalisation(data, blocksFile, rulesFile, runConfig.model);
  const modelConfig: ModelConfig = {
    ...runConfig.model,
    vocabSize: data.tokenizer.size,
    blocks: localisation.blockTable.blocks.length,
  };
  const model = new LocalistModel(modelConfig, runConfig.seed);
  const optimizer = new AdamW({ ...runConfig.optimizer, totalSteps: runConfig.steps }, model.params);
  return {
    config: runConfig,
    modelConfig,
    data,
    blockTable: localisation.blockTable,
    rulesFile,
    compiled: localisation.compiled,
    buildMasks: ruleMaskBuilder(localisation.compiled),
    model,
    optimizer,
    step: 0,
    tokensSeen: 0,
    elapsedSeconds: 0,
  };
}

/**
 * Computes the objective's gradients for one step on this replica's share of
 * the batch. The caller owns the returned tensors.
 */
export function computeGradients(
  run: RunState,
  replica = 0,
  replicas = 1,
): { report: Omit<StepReport, 'gradientNorm'>; grads: Record<string, tf.Tensor> } {
  const { config, model } = run;
  const T = config.model.contextLength;
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > config.batchSize) {
    throw new RangeError(`${replicas} replicas cannot share a batch of ${config.batchSize} sequences; use from 1 to ${config.batchSize} replicas`);
  }
  const offsets = sampleOffsets(run.data.streams.train.length, T, config.batchSize, config.seed, run.step);
  // Replica r takes sequences floor(r B / R) to floor((r + 1) B / R) - 1, so every replica gets at least one.
  const first = Math.floor((replica * config.batchSize) / replicas);
  const end = Math.floor(((replica + 1) * config.batchSize) / replicas);
  const mine = offsets.slice(first, end);
  const shape = { contextLength: T, layers: config.model.layers, heads: config.model.heads, blockCount: run.modelConfig.blocks + 1 };
  const batch = assembleBatch(run.data.streams.train, mine, shape, run.blockTable.blockOf, run.buildMasks);
  // The rule term averages over the whole batch's active rows, so each replica counts them all.
  let ruleRows = 0;
  if (replicas === 1) {
    for (const value of batch.inputs.active) ruleRows += value;
  } else {
    const whole = run.buildMasks(assembleBatch(run.data.streams.train, offsets, shape, run.blockTable.blockOf, () => null).inputs.tokens, offsets.length, T);
    for (const value of whole?.active ?? []) ruleRows += value;
  }
  const shard = { share: mine.length / config.batchSize, ruleRows };
  const lambda = lambdaForStep(config, run.step);
  const names = run.trainable ?? [...model.params.keys()];
  const variables = names.map((name) => model.param(name));
  let crossEntropyTensor: tf.Scalar | undefined;
  const { value, grads } = tf.variableGrads(() => {
    const result = model.forward(batch.inputs, { dial: { lambda, kappa: config.kappa } });
    const terms = objective(result, tf.tensor1d(batch.targets, 'int32'), lambda, config.objective, shard);
    crossEntropyTensor = tf.keep(terms.crossEntropy);
    return terms.loss;
  }, variables);
  const loss = value.dataSync()[0];
  const crossEntropy = crossEntropyTensor ? crossEntropyTensor.dataSync()[0] : Number.NaN;
  value.dispose();
  crossEntropyTensor?.dispose();
  const byName: Record<string, tf.Tensor> = {};
  names.forEach((name, index) => {
    byName[name] = grads[variables[index].name];
  });
  // With replicas, `loss` is this replica's share of the batch objective and
  // `crossEntropy` its own mean; the caller sums shares across replicas.
  return { report: { step: run.step, loss, crossEntropy: crossEntropy * shard.share, lambda }, grads: byName };
}

/**
 * Applies gradients, advances the step and disposes the gradients.
 * `progress` overrides the schedule's share of the run done (see
 * `timeBudgetSeconds`).
 */
export function applyGradients(run: RunState, grads: Record<string, tf.Tensor>, tokens: number, progress?: number): number {
  const norm = run.optimizer.apply(run.model.params, grads, run.step, progress);
  tf.dispose(Object.values(grads));
  run.step += 1;
  run.tokensSeen += tokens;
  return norm;
}

/** Takes one training step on one worker: gradients, update and report. */
export function trainStep(run: RunState): StepReport {
  const { report, grads } = computeGradients(run);
  if (!Number.isFinite(report.loss)) {
    tf.dispose(Object.values(grads));
    throw new Error(
      `training diverged at step ${run.step} (loss ${report.loss}); lower the learning rate (now ${run.config.optimizer.learningRate}) and resume from the last checkpoint`,
    );
  }
  const gradientNorm = applyGradients(run, grads, run.config.batchSize * run.config.model.contextLength);
  return { ...report, gradientNorm };
}

function records(variables: Map<string, tf.Variable>): TensorRecord[] {
  return [...variables].map(([name, variable]) => ({
    name,
    shape: [...variable.shape],
    data: Float32Array.from(variable.dataSync() as Float32Array),
  }));
}

/** Everything a checkpoint of this run stores. */
export function snapshot(run: RunState, backend: string, metrics: unknown = null): CheckpointContents {
  const optimizer: TensorRecord[] = [];
  for (const [name, { m, v }] of run.optimizer.moments) {
    optimizer.push({ name: `${name}#m`, shape: [...m.shape], data: Float32Array.from(m.dataSync() as Float32Array) });
    optimizer.push({ name: `${name}#v`, shape: [...v.shape], data: Float32Array.from(v.dataSync() as Float32Array) });
  }
  return {
    config: { train: run.config, model: run.modelConfig },
    tokenizer: run.data.tokenizer.toJSON(),
    blocks: blockTableToJSON(run.blockTable),
    rules: run.rulesFile,
    metrics,
    training: {
      step: run.step,
      tokensSeen: run.tokensSeen,
      elapsedSeconds: run.elapsedSeconds,
      backend,
      seed: run.config.seed,
    },
    weights: records(run.model.params),
    optimizer,
  };
}

export async function saveRun(run: RunState, path: string, backend: string, appVersion: string, metrics: unknown = null) {
  return writeCheckpoint(path, snapshot(run, backend, metrics), { appVersion });
}

/** A model restored from a checkpoint, with what evaluation needs. */
export interface LoadedModel {
  config: TrainConfig;
  modelConfig: ModelConfig;
  tokenizer: Tokenizer;
  blockTable: BlockTable;
  rulesFile: RulesFileInput;
  compiled: CompiledRules;
  model: LocalistModel;
  contents: CheckpointContents;
  sha256: string;
}

function assign(variables: Map<string, tf.Variable>, records: TensorRecord[], path: string, part: string): void {
  const byName = new Map(records.map((record) => [record.name, record]));
  for (const [name, variable] of variables) {
    const record = byName.get(name);
    if (!record) {
      throw new CheckpointError('damaged', path, `checkpoint "${path}" has no ${part} tensor "${name}"; it was written for another model or by an older version of the workbench`, { part });
    }
    if (record.shape.join(',') !== variable.shape.join(',')) {
      throw new CheckpointError(
        'damaged',
        path,
        `checkpoint "${path}" ${part} tensor "${name}" has shape [${record.shape}] but the model expects [${variable.shape}]; the config and weights do not match`,
        { part },
      );
    }
  }
  for (const [name, variable] of variables) {
    const record = byName.get(name)!;
    variable.assign(tf.tensor(record.data, record.shape));
  }
}

function parseStoredConfig(contents: CheckpointContents, path: string): { train: TrainConfig; model: ModelConfig } {
  const config = contents.config as { train?: TrainConfig; model?: ModelConfig } | null;
  if (!config || typeof config !== 'object' || !config.train || !config.model) {
    throw new Error(`checkpoint "${path}" has no training configuration; it was not written by this workbench's trainer`);
  }
  return { train: { ...config.train, timeBudgetSeconds: config.train.timeBudgetSeconds ?? null }, model: config.model };
}

/**
 * Loads a checkpoint for inference. Nothing is created unless every part
 * checks out; a damaged or foreign file raises a `CheckpointError`.
 */
export async function loadModel(path: string): Promise<LoadedModel> {
  const { contents, summary } = await readCheckpoint(path);
  // Parts whose hashes match can still hold content this version cannot use;
  // each is checked here and reported as a damaged checkpoint part.
  const part = <T>(name: string, read: () => T): T => {
    try {
      return read();
    } catch (error) {
      if (error instanceof CheckpointError) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      throw new CheckpointError(
        'damaged',
        path,
        `checkpoint "${path}" has an invalid ${name} part: ${reason}\nThe file was damaged or written by another program; restore it from a backup or retrain.`,
        { part: name },
      );
    }
  };
  const { train, model: modelConfig } = part('config', () => {
    const stored = parseStoredConfig(contents, path);
    validateTrainConfig(stored.train);
    validateModelConfig(stored.model);
    validateDial({ lambda: 0, kappa: stored.train.kappa });
    return stored;
  });
  const tokenizer = part('tokenizer', () => Tokenizer.fromJSON(contents.tokenizer));
  if (tokenizer.size !== modelConfig.vocabSize) {
    throw new CheckpointError(
      'damaged',
      path,
      `checkpoint "${path}" has a tokenizer of ${tokenizer.size} words but a model for ${modelConfig.vocabSize}; restore it from a backup or retrain`,
      { part: 'tokenizer' },
    );
  }
  const blockTable = part('blocks', () => blockTableFromJSON(contents.blocks, tokenizer));
  const rulesFile = part('rules', () => rulesFromJSON(contents.rules));
  const compiled = part('rules', () => compileRules(rulesFile, blockTable, tokenizer, modelConfig));
  const model = new LocalistModel(modelConfig, train.seed);
  try {
    assign(model.params, contents.weights, path, 'weight');
  } catch (error) {
    model.dispose();
    throw error;
  }
  return { config: train, modelConfig, tokenizer, blockTable, rulesFile, compiled, model, contents, sha256: summary.sha256 };
}

/**
 * Restores a run from a checkpoint so that training continues at its step,
 * with its optimizer state. `steps` may raise the total.
 */
export async function resumeRun(path: string, steps?: number): Promise<RunState> {
  const loaded = await loadModel(path);
  const config = { ...loaded.config, steps: steps ?? loaded.config.steps };
  validateTrainConfig(config);
  const data = await prepareData(config.data, loaded.tokenizer);
  // A specialist trains only its adapters, so its optimizer holds only theirs.
  const trainable = loaded.modelConfig.adapters ? adapterParameterNames(loaded.modelConfig) : undefined;
  if (trainable) loaded.model.frozenBase = true;
  const trained = trainable ? new Map(trainable.map((name) => [name, loaded.model.param(name)])) : loaded.model.params;
  const optimizer = new AdamW({ ...config.optimizer, totalSteps: config.steps }, trained);
  const moments = new Map<string, tf.Variable>();
  for (const [name, { m, v }] of optimizer.moments) {
    moments.set(`${name}#m`, m);
    moments.set(`${name}#v`, v);
  }
  try {
    assign(moments, loaded.contents.optimizer, path, 'optimizer');
  } catch (error) {
    optimizer.dispose();
    loaded.model.dispose();
    throw error;
  }
  const position = loaded.contents.training;
  return {
    config,
    modelConfig: loaded.modelConfig,
    data,
    blockTable: loaded.blockTable,
    rulesFile: loaded.rulesFile,
    compiled: loaded.compiled,
    buildMasks: ruleMaskBuilder(loaded.compiled),
    model: loaded.model,
    optimizer,
    trainable,
    step: position.step,
    tokensSeen: position.tokensSeen,
    elapsedSeconds: position.elapsedSeconds,
  };
}

export function disposeRun(run: RunState): void {
  run.model.dispose();
  run.optimizer.dispose();
}
