import { describe, expect, test } from 'vitest';
import { DEFAULT_OPTIMIZER, learningRateAt } from './optimizer';

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
