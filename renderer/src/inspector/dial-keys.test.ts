import { describe, expect, it } from 'vitest';
import { dialValueForKey, formatLambda, roundDial } from './dial-keys';

describe('dialValueForKey', () => {
  const cases: [key: string, from: number, expected: number | null][] = [
    ['ArrowRight', 0.5, 0.51],
    ['ArrowUp', 0.5, 0.51],
    ['ArrowLeft', 0.5, 0.49],
    ['ArrowDown', 0.5, 0.49],
    ['PageUp', 0.5, 0.6],
    ['PageDown', 0.5, 0.4],
    ['Home', 0.37, 0],
    ['End', 0.37, 1],
    ['PageUp', 0.95, 1],
    ['PageDown', 0.05, 0],
    ['ArrowLeft', 0, 0],
    ['ArrowRight', 1, 1],
    ['Enter', 0.5, null],
  ];
  for (const [key, from, expected] of cases) {
    it(`${key} from ${from}`, () => {
      expect(dialValueForKey(key, from)).toBe(expected);
    });
  }

  it('steps without float drift', () => {
    let value = 0;
    for (let step = 0; step < 100; step += 1) value = dialValueForKey('ArrowRight', value)!;
    expect(value).toBe(1);
    for (let step = 0; step < 7; step += 1) value = dialValueForKey('ArrowLeft', value)!;
    expect(value).toBe(0.93);
  });
});

describe('roundDial', () => {
  it('clamps to the unit interval', () => {
    expect(roundDial(-0.2)).toBe(0);
    expect(roundDial(1.7)).toBe(1);
  });

  it('rounds to the step', () => {
    expect(roundDial(0.123)).toBe(0.12);
    expect(roundDial(0.1 + 0.2)).toBe(0.3);
  });
});

describe('formatLambda', () => {
  it('shows two decimals', () => {
    expect(formatLambda(0.8)).toBe('0.80');
    expect(formatLambda(0)).toBe('0.00');
  });
});
