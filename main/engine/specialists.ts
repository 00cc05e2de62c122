/**
 * Specialist models: a parent model plus LoRA adapters
 * of rank r on the query and value projections of every layer, and
 * optionally its own output bias. Only the adapters train; the parent's
 * weights stay as they are, so a specialist adds exactly P_spec parameters.
 */
import * as tf from '@tensorflow/tfjs';
import type { TensorRecord } from './checkpoint';
import type { PreparedData } from './data';
import { adapterParameterNames, LocalistModel, type AdapterConfig } from './model';
import { AdamW, type OptimizerConfig } from './optimizer';
import type { RunState } from './trainer';

export const DEFAULT_ADAPTERS: AdapterConfig = { rank: 2, outputBias: false };

/**
 * Returns a model with the parent's weights and fresh adapters. The adapters'
 * up projections start at zero, so the new model computes exactly what the
 * parent does until it is trained. The base weights are frozen.
 */
export function specialistModel(parent: LocalistModel, adapters: AdapterConfig, seed: number): LocalistModel {
  if (parent.config.adapters) {
    throw new RangeError('this model is already a specialist; recruit specialists from the generalist it was made from');
  }
  const model = new LocalistModel({ ...parent.config, adapters: { ...adapters } }, seed);
  tf.tidy(() => {
    for (const [name, variable] of parent.params) model.param(name).assign(variable);
  });
  model.frozenBase = true;
  return model;
}

/**
 * Builds the training run of a specialist: `model` (which the run then owns)
 * on `data`, with the parent run's blocks, rules and train config, an
 * optimizer over the adapters only, and its step counter at 0.
 */
export function specialistRun(parent: RunState, model: LocalistModel, data: PreparedData, optimizer: OptimizerConfig): RunState {
  const trainable = adapterParameterNames(model.config);
  if (trainable.length === 0) throw new RangeError('a specialist run needs a model with adapters; build it with specialistModel');
  const adapterParams = new Map(trainable.map((name) => [name, model.param(name)]));
  let fresh: AdamW | undefined;
  // AdamW's constructor leaves temporaries that tidy releases; tidy keeps variables.
  tf.tidy(() => {
    fresh = new AdamW(optimizer, adapterParams);
  });
  return {
    config: { ...parent.config, data: { ...parent.config.data, domain: data.spec.domain ?? null } },
    modelConfig: model.config,
    data,
    blockTable: parent.blockTable,
    rulesFile: parent.rulesFile,
    compiled: parent.compiled,
    buildMasks: parent.buildMasks,
    model,
    optimizer: fresh as AdamW,
    trainable,
    step: 0,
    tokensSeen: 0,
    elapsedSeconds: 0,
  };
}

/** The adapters' weights and Adam moments, to rebuild the specialist elsewhere. */
export interface AdapterState {
  weights: TensorRecord[];
  /** Moments named "<parameter>#m" and "<parameter>#v". */
  moments: TensorRecord[];
}

function record(name: string, tensor: tf.Tensor): TensorRecord {
  return { name, shape: [...tensor.shape], data: Float32Array.from(tensor.dataSync() as Float32Array) };
}

export function adapterState(run: RunState): AdapterState {
  const names = adapterParameterNames(run.modelConfig);
  const moments: TensorRecord[] = [];
  for (const name of names) {
    const state = run.optimizer.moments.get(name);
    if (!state) throw new Error(`specialist run has no optimizer state for "${name}"; build it with specialistRun`);
    moments.push(record(`${name}#m`, state.m), record(`${name}#v`, state.v));
  }
  return { weights: names.map((name) => record(name, run.model.param(name))), moments };
}

/** Writes saved adapter weights and moments into a specialist run built from the same parent. */
export function restoreAdapterState(run: RunState, state: AdapterState): void {
  const targets = new Map<string, tf.Variable>();
  for (const name of adapterParameterNames(run.modelConfig)) {
    targets.set(name, run.model.param(name));
    const moments = run.optimizer.moments.get(name);
    if (moments) {
      targets.set(`${name}#m`, moments.m);
      targets.set(`${name}#v`, moments.v);
    }
  }
  const records = [...state.weights, ...state.moments];
  if (records.length !== targets.size) {
    throw new RangeError(`adapter state has ${records.length} tensors but the specialist needs ${targets.size}; it was saved for another adapter shape`);
  }
  for (const saved of records) {
    const target = targets.get(saved.name);
    if (!target || target.shape.join(',') !== saved.shape.join(',')) {
      throw new RangeError(`adapter tensor "${saved.name}" [${saved.shape}] does not fit this specialist; it was saved for another adapter shape`);
    }
    target.assign(tf.tensor(saved.data, saved.shape));
  }
}
