import { describe, expect, it } from 'vitest';
import { blockTargetCells, tokenTargetCells } from './rule-target-cells';

describe('tokenTargetCells', () => {
  it('maps query to row and key to column once', () => {
    const cells = tokenTargetCells([
      { rule: 'paid-money', query: 5, key: 2 },
      { rule: 'other-rule', query: 5, key: 2 },
      { rule: 'paid-money', query: 5, key: 3 },
    ]);
    expect(cells).toEqual([
      { row: 5, column: 2 },
      { row: 5, column: 3 },
    ]);
  });
});

describe('blockTargetCells', () => {
  it('maps tokens to their blocks once', () => {
    const tokenBlocks = [0, 1, 1, 0, 2, 0];
    const cells = blockTargetCells(
      [
        { rule: 'paid-money', query: 5, key: 1 },
        { rule: 'paid-money', query: 5, key: 2 },
        { rule: 'court-law', query: 3, key: 4 },
      ],
      tokenBlocks,
    );
    expect(cells).toEqual([
      { row: 0, column: 1 },
      { row: 0, column: 2 },
    ]);
  });

  it('skips positions outside the tokens', () => {
    expect(blockTargetCells([{ rule: 'r', query: 9, key: 0 }], [0, 1])).toEqual([]);
  });
});
