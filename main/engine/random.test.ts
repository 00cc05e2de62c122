import { describe, expect, it } from 'vitest';

import { createRandom, shuffleInPlace } from './random';

function draw(seed: number, count: number): number[] {
  const random = createRandom(seed);
  return Array.from({ length: count }, () => random());
}

describe('createRandom', () => {
  it('same seed repeats the sequence', () => {
    expect(draw(42, 20)).toEqual(draw(42, 20));
  });

  it('different seeds give different sequences', () => {
    expect(draw(1, 20)).not.toEqual(draw(2, 20));
  });

  it('values are uniform in [0, 1)', () => {
    const values = draw(3, 100_000);
    const bins = new Array<number>(10).fill(0);
    for (const value of values) bins[Math.floor(value * 10)]++;
    expect(values.reduce((low, value) => Math.min(low, value), 1)).toBeGreaterThanOrEqual(0);
    expect(values.reduce((high, value) => Math.max(high, value), 0)).toBeLessThan(1);
    // Each bin expects 10,000 draws with a standard deviation of about 95.
    for (const count of bins) {
      expect(count).toBeGreaterThan(9_600);
      expect(count).toBeLessThan(10_400);
    }
  });

  it('rejects a seed that is not an integer', () => {
    expect(() => createRandom(0.5)).toThrow('random seed 0.5 is invalid');
    expect(() => createRandom(Number.NaN)).toThrow('random seed NaN is invalid');
  });
});

describe('shuffleInPlace', () => {
  it('shuffle is a permutation', () => {
    const array = Array.from({ length: 100 }, (_, i) => i);
    const shuffled = shuffleInPlace(array, createRandom(5));
    expect(shuffled).toBe(array);
    expect([...shuffled].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(shuffled).not.toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('shuffle is deterministic for a seed', () => {
    const first = shuffleInPlace(Int32Array.from({ length: 50 }, (_, i) => i), createRandom(9));
    const second = shuffleInPlace(Int32Array.from({ length: 50 }, (_, i) => i), createRandom(9));
    expect([...second]).toEqual([...first]);
  });

  it('shuffle moves every item to every place', () => {
    // Over many shuffles of three items, all six orders appear about equally.
    const random = createRandom(11);
    const orders = new Map<string, number>();
    for (let i = 0; i < 60_000; i++) {
      const key = shuffleInPlace(['a', 'b', 'c'], random).join('');
      orders.set(key, (orders.get(key) ?? 0) + 1);
    }
    expect(orders.size).toBe(6);
    for (const count of orders.values()) {
      expect(count).toBeGreaterThan(9_500);
      expect(count).toBeLessThan(10_500);
    }
  });
});
