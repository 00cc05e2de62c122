import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { initBackend } from './backend';
import { assembleBatch, type Batch } from './batch';
import { buildBlockTable } from './blocks';
import { adapterParameterNames, DEFAULT_OBJECTIVE, LocalistModel, objective, type ModelConfig } from './model';
import { createRandom } from './random';
import { specialistModel } from './specialists';
import { Tokenizer } from './tokenizer';

const T = 10;
const WORDS = Array.from({ length: 20 }, (_, i) => `w${i}`);
const tokenizer = new Tokenizer(['<unk>', '<doc>', ...WORDS]);
const config: ModelConfig = { vocabSize: tokenizer.size, contextLength: T, layers: 2, heads: 2, width: 8, blocks: 1 };
const adapters = { rank: 2, outputBias: true };
let batch: Batch;

/** Builds a parent whose weights are all non-zero, so every path carries signal. */
function parentModel(): LocalistModel {
  const model = new LocalistModel(config, 3);
  let seed = 11;
  for (const [name, variable] of model.params) {
    if (name.endsWith('gamma')) continue;
    variable.assign(tf.randomNormal(variable.shape, 0, 0.3, 'float32', seed++));
  }
  return model;
}

/** Gives the adapters non-zero weights, as after some training. */
function perturbAdapters(model: LocalistModel): void {
  let seed = 500;
  for (const name of adapterParameterNames(model.config)) {
    const variable = model.param(name);
    variable.assign(tf.randomNormal(variable.shape, 0, 0.3, 'float32', seed++));
  }
}

function lossOf(model: LocalistModel, lambda: number): tf.Scalar {
  const result = model.forward(batch.inputs, { dial: { lambda, kappa: 4 } });
  return objective(result, tf.tensor1d(batch.targets, 'int32'), lambda, DEFAULT_OBJECTIVE).loss;
}

beforeAll(async () => {
  await initBackend();
  const blockTable = buildBlockTable(
    { version: 1, blocks: [{ id: 'low', name: 'Low', tokens: WORDS.slice(0, 5) }] },
    tokenizer,
    new Float64Array(tokenizer.size).fill(3),
  );
  const random = createRandom(9);
  const stream = Int32Array.from({ length: 3 * T + 1 }, () => 2 + Math.floor(random() * WORDS.length));
  batch = assembleBatch(stream, [0, T, 2 * T], { contextLength: T, layers: 2, heads: 2, blockCount: 2 }, blockTable.blockOf, () => null);
});

describe('specialistModel', () => {
  test('starts with exactly the parent\'s logits', () => {
    const parent = parentModel();
    const specialist = specialistModel(parent, adapters, 7);
    for (const lambda of [0, 0.6]) {
      const [a, b] = tf.tidy(() => [
        parent.forward(batch.inputs, { dial: { lambda, kappa: 4 } }).logits.dataSync(),
        specialist.forward(batch.inputs, { dial: { lambda, kappa: 4 } }).logits.dataSync(),
      ]);
      expect(b).toEqual(a);
    }
    expect(specialist.parameterCount - parent.parameterCount).toBe(2 * 2 * 2 * 8 * 2 + tokenizer.size);
    parent.dispose();
    specialist.dispose();
  });

  test('rejects a specialist as parent', () => {
    const parent = parentModel();
    const specialist = specialistModel(parent, adapters, 7);
    expect(() => specialistModel(specialist, adapters, 8)).toThrow(/already a specialist/);
    parent.dispose();
    specialist.dispose();
  });

  test('frozen base matches full backward pass', () => {
    const parent = parentModel();
    const specialist = specialistModel(parent, adapters, 7);
    perturbAdapters(specialist);
    const names = adapterParameterNames(specialist.config);
    const variables = names.map((name) => specialist.param(name));
    const gradientsWith = (frozen: boolean) => {
      specialist.frozenBase = frozen;
      const { value, grads } = tf.variableGrads(() => lossOf(specialist, 0.5), variables);
      const result = { loss: value.dataSync()[0], grads: variables.map((variable) => Array.from(grads[variable.name].dataSync())) };
      value.dispose();
      tf.dispose(Object.values(grads));
      return result;
    };
    const frozen = gradientsWith(true);
    const full = gradientsWith(false);
    expect(frozen.loss).toBeCloseTo(full.loss, 6);
    frozen.grads.forEach((grad, index) => {
      const scale = Math.max(...full.grads[index].map(Math.abs));
      expect(scale, names[index]).toBeGreaterThan(0);
      grad.forEach((value, i) => expect(Math.abs(value - full.grads[index][i]), `${names[index]}[${i}]`).toBeLessThan(1e-5 * Math.max(1, scale)));
    });
    parent.dispose();
    specialist.dispose();
  });

  test('adapter gradients match finite differences', () => {
    const parent = parentModel();
    const specialist = specialistModel(parent, adapters, 7);
    perturbAdapters(specialist);
    const name = 'layer1.value.adapterUp';
    const variable = specialist.param(name);
    const { grads } = tf.variableGrads(() => lossOf(specialist, 0.5), [variable]);
    const analytic = grads[variable.name].dataSync();
    const original = Float32Array.from(variable.dataSync());
    const epsilon = 1e-2;
    for (const index of [0, 3, 9, 14]) {
      const shifted = (delta: number) => {
        const values = Float32Array.from(original);
        values[index] += delta;
        variable.assign(tf.tensor(values, variable.shape));
        return tf.tidy(() => lossOf(specialist, 0.5).dataSync()[0]);
      };
      const numeric = (shifted(epsilon) - shifted(-epsilon)) / (2 * epsilon);
      expect(analytic[index]).toBeCloseTo(numeric, 2);
    }
    variable.assign(tf.tensor(original, variable.shape));
    tf.dispose(Object.values(grads));
    parent.dispose();
    specialist.dispose();
  });

  test('the frozen forward and backward passes leak no tensors', () => {
    const parent = parentModel();
    const specialist = specialistModel(parent, adapters, 7);
    const variables = adapterParameterNames(specialist.config).map((name) => specialist.param(name));
    // The first pass builds the causal mask, which the model keeps.
    tf.tidy(() => specialist.forward(batch.inputs, { dial: { lambda: 0, kappa: 4 } }).logits).dispose();
    const before = tf.memory().numTensors;
    for (let repeat = 0; repeat < 3; repeat++) {
      const { value, grads } = tf.variableGrads(() => lossOf(specialist, 0.3), variables);
      value.dispose();
      tf.dispose(Object.values(grads));
      tf.tidy(() => specialist.forward(batch.inputs, { dial: { lambda: 1, kappa: 4 } }).logits).dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    parent.dispose();
    specialist.dispose();
  });
});
