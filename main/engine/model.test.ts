import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { initBackend } from './backend';
import { assembleBatch, type Batch } from './batch';
import { buildBlockTable, type BlockTable } from './blocks';
import { ruleMaskBuilder } from './data';
import { DEFAULT_OBJECTIVE, LocalistModel, objective, type ModelConfig } from './model';
import { createRandom } from './random';
import { compileRules, type CompiledRules } from './rules';
import { Tokenizer } from './tokenizer';

const T = 12;
const L = 2;
const H = 2;
const WORDS = Array.from({ length: 28 }, (_, i) => `w${i}`);

interface Fixture {
  model: LocalistModel;
  blockTable: BlockTable;
  compiled: CompiledRules;
  batch: Batch;
}

let fixture: Fixture;

/** A small model with weights large enough for peaked attention, blocks, rules and one batch. */
function makeFixture(seed: number): Fixture {
  const tokenizer = new Tokenizer(['<unk>', '<doc>', ...WORDS]);
  const counts = new Float64Array(tokenizer.size).fill(5);
  const blockTable = buildBlockTable(
    {
      version: 1,
      blocks: [
        { id: 'alpha', name: 'Alpha', tokens: WORDS.slice(0, 6) },
        { id: 'beta', name: 'Beta', tokens: WORDS.slice(6, 12) },
        { id: 'gamma', name: 'Gamma', tokens: WORDS.slice(12, 16) },
      ],
    },
    tokenizer,
    counts,
    { rho: 0.5, maxAnchors: 2 },
  );
  const compiled = compileRules(
    {
      version: 1,
      rules: [
        { id: 'to-alpha', name: 'to alpha', trigger: { tokens: ['w20', 'w21', 'w22'] }, target: 'alpha', strength: 3 },
        { id: 'to-beta', name: 'to beta anchors', trigger: { block: 'gamma' }, target: 'beta', scope: 'anchors', strength: 5, layers: [1] },
        { id: 'to-gamma', name: 'to gamma', trigger: { tokens: ['w23', 'w24'] }, target: 'gamma', heads: [0], strength: 2 },
      ],
    },
    blockTable,
    tokenizer,
    { layers: L, heads: H },
  );
  const config: ModelConfig = { vocabSize: tokenizer.size, contextLength: T, layers: L, heads: H, width: 16, blocks: 3 };
  const model = new LocalistModel(config, seed);
  let variableSeed = seed * 101;
  for (const [name, variable] of model.params) {
    if (name.endsWith('gamma')) continue;
    const value = tf.randomNormal(variable.shape, 0, 0.6, 'float32', variableSeed++);
    variable.assign(value);
    value.dispose();
  }
  const random = createRandom(seed);
  const stream = Int32Array.from({ length: 4 * (T + 1) }, () => 2 + Math.floor(random() * WORDS.length));
  const batch = assembleBatch(
    stream,
    [0, T + 1, 2 * (T + 1), 3 * (T + 1) - 1],
    { contextLength: T, layers: L, heads: H, blockCount: 4 },
    blockTable.blockOf,
    ruleMaskBuilder(compiled),
  );
  return { model, blockTable, compiled, batch };
}

function attentionAt(lambda: number, kappa = 4): { distributed: Float32Array; dialled: Float32Array } {
  return tf.tidy(() => {
    const result = fixture.model.forward(fixture.batch.inputs, { dial: { lambda, kappa }, keepAttention: true });
    return {
      distributed: tf.stack(result.distributed ?? []).dataSync() as Float32Array,
      dialled: tf.stack(result.dialled ?? []).dataSync() as Float32Array,
    };
  });
}

/** Calls `visit(row, layer, i)` for every attention row; arrays are [L, B, H, T, T]. */
function forEachRow(visit: (row: number, layer: number, query: number) => void): void {
  const B = fixture.batch.inputs.batch;
  for (let l = 0; l < L; l++) for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let i = 0; i < T; i++) {
    visit(((l * B + b) * H + h) * T + i, l, i);
  }
}

function targetMass(attention: Float32Array, row: number, query: number): number {
  let mass = 0;
  for (let j = 0; j <= query; j++) if (fixture.batch.inputs.targetMask[row * T + j] > 0) mass += attention[row * T + j];
  return mass;
}

beforeAll(async () => {
  await initBackend();
  fixture = makeFixture(3);
});

describe('dialled attention', () => {
  test('fixture has active rule rows and rows without a rule', () => {
    const active = fixture.batch.inputs.active;
    const count = active.reduce((sum, value) => sum + value, 0);
    expect(count).toBeGreaterThan(10);
    expect(count).toBeLessThan(active.length - 10);
  });

  test('dial at zero equals plain softmax attention', () => {
    const zero = attentionAt(0);
    expect(zero.dialled).toEqual(zero.distributed);
    const half = attentionAt(0.5);
    let largest = 0;
    for (let k = 0; k < half.dialled.length; k++) largest = Math.max(largest, Math.abs(half.dialled[k] - half.distributed[k]));
    expect(largest).toBeGreaterThan(1e-3);
  });

  test('attention is causal and rows sum to one', () => {
    const { dialled } = attentionAt(0.7);
    forEachRow((row, _layer, i) => {
      let sum = 0;
      for (let j = 0; j < T; j++) {
        if (j > i) expect(dialled[row * T + j]).toBe(0);
        sum += dialled[row * T + j];
      }
      expect(Math.abs(sum - 1)).toBeLessThan(1e-5);
    });
  });

  test('rule row fidelity follows the closed form', () => {
    const { strength, active } = fixture.batch.inputs;
    for (const lambda of [0.25, 0.5, 1]) {
      const { distributed, dialled } = attentionAt(lambda);
      let checked = 0;
      forEachRow((row, _layer, i) => {
        if (!active[row]) return;
        const p = targetMass(distributed, row, i);
        const boost = Math.exp(lambda * strength[row]);
        const predicted = (p * boost) / (p * boost + 1 - p);
        expect(Math.abs(targetMass(dialled, row, i) - predicted)).toBeLessThan(1e-4);
        checked++;
      });
      expect(checked).toBeGreaterThan(10);
    }
  });

  test('raising lambda never lowers first-layer target mass', () => {
    // In layer 0 the undialled attention does not depend on lambda, so the
    // measured target mass itself must be non-decreasing. Deeper layers see
    // inputs that change with lambda; the closed-form test covers them.
    const { active } = fixture.batch.inputs;
    let previous: Float32Array | undefined;
    for (let step = 0; step <= 10; step++) {
      const { dialled } = attentionAt(step / 10);
      if (previous) {
        const before = previous;
        forEachRow((row, layer, i) => {
          if (layer !== 0 || !active[row]) return;
          expect(targetMass(dialled, row, i)).toBeGreaterThanOrEqual(targetMass(before, row, i) - 1e-6);
        });
      }
      previous = dialled;
    }
  });

  test('rows without a rule follow the block concentration law', () => {
    const { active, tokens, batch: B } = fixture.batch.inputs;
    const G = 4;
    const lambda = 0.6;
    const kappa = 4;
    const { distributed, dialled } = attentionAt(lambda, kappa);
    let checked = 0;
    forEachRow((row, _layer, i) => {
      if (active[row]) return;
      const sequence = Math.floor(row / T / H) % B;
      const m = new Float64Array(G);
      const M = new Float64Array(G);
      for (let j = 0; j <= i; j++) {
        const g = fixture.blockTable.blockOf[tokens[sequence * T + j]];
        m[g] += distributed[row * T + j];
        M[g] += dialled[row * T + j];
      }
      // The law holds where no visible block's mass is near the 1e-9 floor.
      if ([...m].some((mass) => mass > 0 && mass < 1e-6)) return;
      const powered = [...m].map((mass) => (mass > 0 ? mass ** (1 + lambda * kappa) : 0));
      const total = powered.reduce((sum, value) => sum + value, 0);
      for (let g = 0; g < G; g++) expect(Math.abs(M[g] - powered[g] / total)).toBeLessThan(1e-4);
      checked++;
    });
    expect(checked).toBeGreaterThan(10);
  });
});

describe('specialist adapters', () => {
  test('start equal to the parent and add 2 L 2 D r parameters', () => {
    const config: ModelConfig = { vocabSize: 30, contextLength: T, layers: L, heads: H, width: 16, blocks: 3 };
    const parent = new LocalistModel(config, 5);
    const specialist = new LocalistModel({ ...config, adapters: { rank: 2, outputBias: false } }, 5);
    const withBias = new LocalistModel({ ...config, adapters: { rank: 2, outputBias: true } }, 5);
    expect(specialist.parameterCount - parent.parameterCount).toBe(2 * L * 2 * 16 * 2);
    expect(withBias.parameterCount - parent.parameterCount).toBe(2 * L * 2 * 16 * 2 + 30);
    const logitsOf = (model: LocalistModel) =>
      tf.tidy(() => model.forward(fixture.batch.inputs, { dial: { lambda: 0.5, kappa: 4 } }).logits.dataSync() as Float32Array);
    expect(logitsOf(specialist)).toEqual(logitsOf(parent));

    // Training moves the up projections off zero, and then the specialist differs.
    const up = specialist.param('layer0.value.adapterUp');
    const { grads } = tf.variableGrads(() => {
      const result = specialist.forward(fixture.batch.inputs, { dial: { lambda: 0.5, kappa: 4 } });
      return objective(result, tf.tensor1d(fixture.batch.targets, 'int32'), 0.5, DEFAULT_OBJECTIVE).loss;
    }, [up]);
    const gradient = grads[up.name];
    expect(tf.max(tf.abs(gradient)).dataSync()[0]).toBeGreaterThan(0);
    up.assign(tf.mul(gradient, -1));
    tf.dispose(Object.values(grads));
    const moved = logitsOf(specialist);
    const plain = logitsOf(parent);
    expect(moved.some((value, k) => Math.abs(value - plain[k]) > 1e-6)).toBe(true);
    for (const model of [parent, specialist, withBias]) model.dispose();
  });
});

describe('model resources', () => {
  test('training steps and inference do not leak tensors', () => {
    const variables = [...fixture.model.params.values()];
    const targets = fixture.batch.targets;
    const step = () => {
      const { value, grads } = tf.variableGrads(() => {
        const result = fixture.model.forward(fixture.batch.inputs, { dial: { lambda: 0.4, kappa: 4 } });
        return objective(result, tf.tensor1d(targets, 'int32'), 0.4, DEFAULT_OBJECTIVE).loss;
      }, variables);
      value.dispose();
      tf.dispose(Object.values(grads));
    };
    step();
    attentionAt(0.3);
    const before = tf.memory().numTensors;
    for (let k = 0; k < 3; k++) {
      step();
      attentionAt(0.3);
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  test('dispose releases every parameter', () => {
    const before = tf.memory().numTensors;
    const other = makeFixture(9);
    tf.tidy(() => {
      other.model.forward(other.batch.inputs, { dial: { lambda: 0.5, kappa: 4 } });
    });
    expect(tf.memory().numTensors).toBeGreaterThan(before);
    other.model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  test('objective penalizes off-target attention', () => {
    const losses = [0, 1].map((lambda) =>
      tf.tidy(() => {
        const result = fixture.model.forward(fixture.batch.inputs, { dial: { lambda, kappa: 4 } });
        const ruleTerm = result.ruleNllSum.dataSync()[0] / result.activeRows;
        return { ruleTerm, blockEntropy: result.blockEntropy.dataSync()[0] };
      }),
    );
    expect(losses[1].ruleTerm).toBeLessThan(losses[0].ruleTerm);
    expect(losses[1].blockEntropy).toBeLessThan(losses[0].blockEntropy);
  });
});
