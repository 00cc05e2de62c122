import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { initBackend } from './backend';
import { AdamW, DEFAULT_OPTIMIZER, learningRateAt } from './optimizer';

beforeAll(async () => {
  await initBackend();
});

const config = { ...DEFAULT_OPTIMIZER, learningRate: 1e-3, warmupSteps: 10, totalSteps: 110 };

describe('learning rate schedule', () => {
  test('warms up linearly', () => {
    expect(learningRateAt(config, 0)).toBeCloseTo(1e-4, 12);
    expect(learningRateAt(config, 9)).toBeCloseTo(1e-3, 12);
  });

  test('decays by cosine to a tenth of the peak', () => {
    expect(learningRateAt(config, 10)).toBeCloseTo(1e-3, 12);
    expect(learningRateAt(config, 60)).toBeCloseTo(1e-3 * (0.1 + 0.9 * 0.5), 12);
    expect(learningRateAt(config, 110)).toBeCloseTo(1e-4, 12);
  });

  test('follows the larger of step and time progress', () => {
    expect(learningRateAt(config, 20, 1)).toBeCloseTo(1e-4, 12);
    expect(learningRateAt(config, 60, 0)).toBeCloseTo(learningRateAt(config, 60), 12);
  });
});

describe('AdamW resources', () => {
  test('dispose releases every moment tensor', () => {
    const params = new Map([['layer.kernel', tf.variable(tf.ones([3, 2]), true, 'optimizer-test-kernel')]]);
    const before = tf.memory().numTensors;
    const optimizer = new AdamW({ ...config }, params);
    expect(tf.memory().numTensors).toBe(before + 2);
    optimizer.dispose();
    expect(tf.memory().numTensors).toBe(before);
    params.get('layer.kernel')!.dispose();
  });
});
