import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { initBackend } from './backend';
import { addBias, embeddingLookup, matMul, matMulConstant, scaleShift, softmaxCrossEntropy } from './ops';

beforeAll(async () => {
  await initBackend();
});

function expectClose(actual: tf.Tensor, expected: tf.Tensor, tolerance = 1e-4): void {
  expect(actual.shape).toEqual(expected.shape);
  const a = actual.dataSync();
  const e = expected.dataSync();
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - e[i]) / (1 + Math.abs(e[i])));
  expect(worst).toBeLessThan(tolerance);
}

/** Gradients of sum(f(inputs) * weights) with respect to every input, so each output element gets a distinct weight. */
function weightedGrads(f: (...xs: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[], weights: tf.Tensor): tf.Tensor[] {
  return tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(f(...xs), weights)))(inputs);
}

describe('custom gradients match stock compositions', () => {
  test('matMul on rank-2 operands', () => {
    const a = tf.randomNormal([5, 7], 0, 1, 'float32', 1);
    const b = tf.randomNormal([7, 3], 0, 1, 'float32', 2);
    const w = tf.randomNormal([5, 3], 0, 1, 'float32', 3);
    expectClose(matMul(a, b), tf.matMul(a, b));
    const ours = weightedGrads(matMul, [a, b], w);
    const stock = weightedGrads((x, y) => tf.matMul(x, y), [a, b], w);
    expectClose(ours[0], stock[0]);
    expectClose(ours[1], stock[1]);
  });

  test('matMul with broadcast leading batch axis', () => {
    const a = tf.randomNormal([2, 3, 4, 5], 0, 1, 'float32', 4);
    const b = tf.randomNormal([1, 3, 5, 6], 0, 1, 'float32', 5);
    const w = tf.randomNormal([2, 3, 4, 6], 0, 1, 'float32', 6);
    expectClose(matMul(a, b), tf.matMul(a, tf.tile(b, [2, 1, 1, 1])));
    const ours = weightedGrads(matMul, [a, b], w);
    const stock = weightedGrads((x, y) => tf.matMul(x, tf.tile(y, [2, 1, 1, 1])), [a, b], w);
    expect(ours[1].shape).toEqual([1, 3, 5, 6]);
    expectClose(ours[0], stock[0]);
    expectClose(ours[1], stock[1]);
  });

  test('matMul rejects broadcasts tfjs computes wrongly', () => {
    const a = tf.zeros([2, 3, 4, 5]);
    const b = tf.zeros([2, 1, 5, 6]);
    expect(() => matMul(a, b)).toThrow(/broadcasts these batch axes wrongly/);
  });

  test('matMulConstant passes gradient only to its left operand', () => {
    const a = tf.randomNormal([2, 12, 4], 0, 1, 'float32', 7);
    const constant = tf.randomNormal([2, 4, 3], 0, 1, 'float32', 8);
    const constantT = tf.transpose(constant, [0, 2, 1]);
    const w = tf.randomNormal([2, 12, 3], 0, 1, 'float32', 9);
    expectClose(matMulConstant(a, constant, constantT), tf.matMul(a, constant));
    const [ours] = weightedGrads((x) => matMulConstant(x, constant, constantT), [a], w);
    const [stock] = weightedGrads((x) => tf.matMul(x, constant), [a], w);
    expectClose(ours, stock);
  });

  test('embeddingLookup sums gradients of repeated ids', () => {
    const table = tf.randomNormal([6, 4], 0, 1, 'float32', 10) as tf.Tensor2D;
    const ids = tf.tensor1d([0, 3, 3, 5, 0, 3], 'int32');
    const w = tf.randomNormal([6, 4], 0, 1, 'float32', 11);
    expectClose(embeddingLookup(table, ids), tf.gather(table, ids));
    const [ours] = weightedGrads((t) => embeddingLookup(t as tf.Tensor2D, ids), [table], w);
    // Stock reference: one-hot rows times the table, whose gradient is a matMul.
    const [stock] = weightedGrads((t) => tf.matMul(tf.oneHot(ids, 6), t), [table], w);
    expectClose(ours, stock);
    // Row 3 is used three times, row 1 never.
    expect(Math.abs(ours.slice([1, 0], [1, 4]).sum().dataSync()[0])).toBe(0);
  });

  test('addBias sums the bias gradient over rows', () => {
    const x = tf.randomNormal([6, 5], 0, 1, 'float32', 13);
    const bias = tf.randomNormal([5], 0, 1, 'float32', 14);
    const w = tf.randomNormal([6, 5], 0, 1, 'float32', 15);
    expectClose(addBias(x, bias), tf.add(x, bias));
    const ours = weightedGrads(addBias, [x, bias], w);
    const stock = weightedGrads((a, b) => tf.add(a, b), [x, bias], w);
    expectClose(ours[0], stock[0]);
    expectClose(ours[1], stock[1]);
  });

  test('scaleShift matches multiply then add', () => {
    const x = tf.randomNormal([7, 4], 0, 1, 'float32', 16);
    const gamma = tf.randomNormal([4], 1, 0.5, 'float32', 17);
    const beta = tf.randomNormal([4], 0, 1, 'float32', 18);
    const w = tf.randomNormal([7, 4], 0, 1, 'float32', 19);
    expectClose(scaleShift(x, gamma, beta), tf.add(tf.mul(x, gamma), beta));
    const ours = weightedGrads(scaleShift, [x, gamma, beta], w);
    const stock = weightedGrads((a, g, b) => tf.add(tf.mul(a, g), b), [x, gamma, beta], w);
    for (let k = 0; k < 3; k++) expectClose(ours[k], stock[k]);
  });

  test('softmaxCrossEntropy equals log-softmax cross-entropy', () => {
    const logits = tf.mul(tf.randomNormal([9, 11], 0, 1, 'float32', 12), 3) as tf.Tensor2D;
    const labels = tf.tensor1d([0, 1, 2, 3, 4, 5, 10, 10, 7], 'int32');
    const stockLoss = (x: tf.Tensor) => tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(x), tf.oneHot(labels, 11)), 1)));
    expectClose(softmaxCrossEntropy(logits, labels), stockLoss(logits), 1e-5);
    const ours = tf.grad((x: tf.Tensor) => tf.mul(softmaxCrossEntropy(x as tf.Tensor2D, labels), 2.5))(logits);
    const stock = tf.grad((x: tf.Tensor) => tf.mul(stockLoss(x), 2.5))(logits);
    expectClose(ours, stock, 1e-5);
  });
});

describe('custom ops do not leak tensors', () => {
  test('forward and backward leave no tensor behind', () => {
    const a = tf.randomNormal([3, 4]);
    const b = tf.randomNormal([4, 5]);
    const ids = tf.tensor1d([1, 2, 1], 'int32');
    const labels = tf.tensor1d([0, 4, 2], 'int32');
    const before = tf.memory().numTensors;
    for (let round = 0; round < 3; round++) {
      tf.tidy(() => {
        const [ga, gb] = tf.grads((x: tf.Tensor, y: tf.Tensor) => {
          const product = matMul(x, y) as tf.Tensor2D;
          const looked = embeddingLookup(product, ids);
          return softmaxCrossEntropy(looked as tf.Tensor2D, labels);
        })([a, b]);
        ga.dataSync();
        gb.dataSync();
      });
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});
