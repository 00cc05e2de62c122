import { describe, expect, it } from 'vitest';

import demoBlocks from '../../resources/demo/brown-blocks.json';
import {
  blockTableFromJSON,
  blockTableToBlocksFile,
  blockTableToJSON,
  buildBlockTable,
  computeAnchors,
  parseBlocksFile,
  type BlocksFileInput,
} from './blocks';
import { countTokens, loadBrownCorpus, splitCorpus } from './corpus';
import { ValidationError } from './errors';
import { createRandom } from './random';
import { Tokenizer } from './tokenizer';

const WORDS = ['money', 'paid', 'cost', 'price', 'court', 'judge', 'law', 'church', 'god', 'the'];
const tokenizer = new Tokenizer(['<unk>', '<doc>', ...WORDS]);

function countsOf(entries: Record<string, number>): Float64Array {
  const counts = new Float64Array(tokenizer.size);
  for (const [word, count] of Object.entries(entries)) counts[tokenizer.idOf(word) as number] = count;
  return counts;
}

function validationErrorOf(action: () => unknown): ValidationError {
  try {
    action();
  } catch (error) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  throw new Error('expected a ValidationError, but nothing was thrown');
}

const twoBlocks: BlocksFileInput = {
  version: 1,
  blocks: [
    { id: 'money', name: 'Money', tokens: ['money', 'paid', 'cost', 'price'] },
    { id: 'law', name: 'Law', tokens: ['court', 'judge', 'law'], origin: 'recruited' },
  ],
};

describe('parseBlocksFile', () => {
  it('valid file gets default origin', () => {
    const file = parseBlocksFile(twoBlocks, tokenizer);
    expect(file.blocks[0].origin).toBe('user');
    expect(file.blocks[1].origin).toBe('recruited');
  });

  it('input is not modified', () => {
    const input = structuredClone(twoBlocks);
    parseBlocksFile(input, tokenizer);
    expect(input).toEqual(twoBlocks);
  });

  it('token in two blocks is rejected', () => {
    const file = structuredClone(twoBlocks);
    file.blocks[1].tokens.push('paid');
    const error = validationErrorOf(() => parseBlocksFile(file, tokenizer));
    expect(error.code).toBe('invalid-blocks');
    expect(error.details).toHaveLength(1);
    expect(error.details[0].path).toBe('/blocks/1/tokens/3');
    expect(error.details[0].message).toContain('"paid"');
    expect(error.details[0].message).toContain('"money"');
    expect(error.details[0].message).toContain('"law"');
  });

  it('token outside vocabulary is rejected', () => {
    const file = structuredClone(twoBlocks);
    file.blocks[0].tokens.push('dollars');
    const error = validationErrorOf(() => parseBlocksFile(file, tokenizer));
    expect(error.details[0].path).toBe('/blocks/0/tokens/4');
    expect(error.details[0].message).toContain('"dollars"');
    expect(error.details[0].message).toContain('block "money"');
    expect(error.details[0].message).toContain('remove it');
    expect(error.details[0].message).toContain('vocabulary cap');
  });

  it('capitalized token suggests lower case', () => {
    const file = structuredClone(twoBlocks);
    file.blocks[0].tokens[0] = 'Money';
    const error = validationErrorOf(() => parseBlocksFile(file, tokenizer));
    expect(error.details[0].message).toContain('write "money"');
  });

  it('special token is rejected', () => {
    const file = structuredClone(twoBlocks);
    file.blocks[0].tokens.push('<unk>');
    const error = validationErrorOf(() => parseBlocksFile(file, tokenizer));
    expect(error.details[0].message).toContain('"<unk>"');
  });

  it('background id is reserved', () => {
    const file = structuredClone(twoBlocks);
    file.blocks[1].id = 'background';
    const error = validationErrorOf(() => parseBlocksFile(file, tokenizer));
    expect(error.details[0].path).toBe('/blocks/1/id');
    expect(error.details[0].message).toContain('"background" is reserved');
  });

  it('repeated block id is rejected', () => {
    const file = structuredClone(twoBlocks);
    file.blocks[1].id = 'money';
    const error = validationErrorOf(() => parseBlocksFile(file, tokenizer));
    expect(error.details[0].path).toBe('/blocks/1/id');
    expect(error.details[0].message).toContain('"money" is used by blocks 0 and 1');
  });

  it('token listed twice in one block is rejected', () => {
    const file = structuredClone(twoBlocks);
    file.blocks[0].tokens.push('cost');
    const error = validationErrorOf(() => parseBlocksFile(file, tokenizer));
    expect(error.details[0].message).toContain('"cost" is listed twice in block "money"');
  });

  it('malformed id names the value', () => {
    const file = structuredClone(twoBlocks);
    file.blocks[0].id = 'Money Words';
    const error = validationErrorOf(() => parseBlocksFile(file, tokenizer));
    expect(error.details[0].path).toBe('/blocks/0/id');
    expect(error.details[0].message).toContain('"Money Words"');
    expect(error.details[0].message).toContain('lower-case letters, digits and hyphens');
  });

  it('schema problems name the property', () => {
    const error = validationErrorOf(() =>
      parseBlocksFile({ version: 2, blocks: [{ id: 'money', tokens: ['money'], colour: 'red' }] }, tokenizer),
    );
    const messages = error.details.map((issue) => `${issue.path} ${issue.message}`);
    expect(messages).toContainEqual(expect.stringMatching(/^\/version .*must be 1.*got 2$/));
    expect(messages).toContainEqual(expect.stringMatching(/^\/blocks\/0\/name block "money" name is missing/));
    expect(messages).toContainEqual(expect.stringMatching(/^\/blocks\/0\/colour .*not a known property/));
  });

  it('file that is not an object is rejected', () => {
    for (const json of [null, 3, { version: 1, blocks: {} }]) {
      const error = validationErrorOf(() => parseBlocksFile(json, tokenizer));
      expect(error.code).toBe('invalid-blocks');
      expect(error.details).toHaveLength(1);
    }
  });

  it('every problem is listed', () => {
    const file = structuredClone(twoBlocks);
    file.blocks[0].tokens.push('dollars', 'court');
    file.blocks.push({ id: 'background', name: 'Everything else', tokens: ['the'] });
    file.blocks.push({ id: 'Broken', name: '', tokens: [] });
    const error = validationErrorOf(() => parseBlocksFile(file, tokenizer));
    const paths = error.details.map((issue) => issue.path);
    expect(paths).toContain('/blocks/0/tokens/4');
    expect(paths).toContain('/blocks/1/tokens/0');
    expect(paths).toContain('/blocks/2/id');
    expect(paths).toContain('/blocks/3/id');
    expect(paths).toContain('/blocks/3/name');
    expect(paths).toContain('/blocks/3/tokens');
    expect(error.message).toContain('6 problems');
  });
});

describe('computeAnchors', () => {
  it('anchors cover rho of occurrences', () => {
    const random = createRandom(7);
    for (let trial = 0; trial < 200; trial++) {
      const size = 1 + Math.floor(random() * 20);
      const tokenIds = Array.from({ length: size }, (_, index) => 10 + index * 3);
      const counts = new Float64Array(100);
      for (const id of tokenIds) counts[id] = random() < 0.2 ? 0 : Math.floor(random() * 50);
      counts[tokenIds[0]] += 1;
      const rho = 0.05 + 0.95 * random();
      const maxAnchors = 1 + Math.floor(random() * 10);

      const anchors = computeAnchors(tokenIds, counts, rho, maxAnchors);
      const total = tokenIds.reduce((sum, id) => sum + counts[id], 0);
      const covered = anchors.anchorIds.reduce((sum, id) => sum + counts[id], 0);
      const withoutLast = covered - counts[anchors.anchorIds[anchors.anchorIds.length - 1]];

      expect(anchors.coverage).toBeCloseTo(covered / total, 12);
      expect(anchors.anchorIds.length).toBeLessThanOrEqual(maxAnchors);
      if (anchors.anchorIds.length < maxAnchors) expect(covered).toBeGreaterThanOrEqual(rho * total - 1e-9);
      // Shortest prefix: one anchor fewer would not reach rho.
      expect(withoutLast).toBeLessThan(rho * total);

      const expectedOrder = [...tokenIds].sort((a, b) => counts[b] - counts[a] || a - b);
      expect(anchors.anchorIds).toEqual(expectedOrder.slice(0, anchors.anchorIds.length));

      const entropy = -anchors.anchorIds
        .map((id) => counts[id] / covered)
        .filter((share) => share > 0)
        .reduce((sum, share) => sum + share * Math.log(share), 0);
      expect(anchors.entropy).toBeCloseTo(entropy, 12);
    }
  });

  it('anchors stop at maxAnchors', () => {
    const counts = countsOf({ money: 10, paid: 10, cost: 10, price: 10 });
    const ids = ['money', 'paid', 'cost', 'price'].map((word) => tokenizer.idOf(word) as number);
    const anchors = computeAnchors(ids, counts, 0.9, 2);
    expect(anchors.anchorIds).toHaveLength(2);
    expect(anchors.coverage).toBeCloseTo(0.5, 12);
    expect(anchors.entropy).toBeCloseTo(Math.log(2), 12);
  });

  it('count ties break by smaller id', () => {
    const counts = countsOf({ money: 5, paid: 5, cost: 5 });
    const ids = ['cost', 'paid', 'money'].map((word) => tokenizer.idOf(word) as number);
    const anchors = computeAnchors(ids, counts, 0.5, 8);
    expect(anchors.anchorIds).toEqual([tokenizer.idOf('money'), tokenizer.idOf('paid')]);
  });

  it('unseen block anchors its first token', () => {
    const ids = ['cost', 'paid'].map((word) => tokenizer.idOf(word) as number);
    const anchors = computeAnchors(ids, new Float64Array(tokenizer.size), 0.8, 8);
    expect(anchors.anchorIds).toEqual([tokenizer.idOf('cost')]);
    expect(anchors.coverage).toBe(0);
    expect(anchors.entropy).toBe(0);
  });

  it('invalid rho is rejected', () => {
    expect(() => computeAnchors([2], new Float64Array(3), 0, 8)).toThrow(/rho 0 is invalid/);
    expect(() => computeAnchors([2], new Float64Array(3), 1.5, 8)).toThrow(/rho 1.5 is invalid/);
    expect(() => computeAnchors([2], new Float64Array(3), 0.8, 0)).toThrow(/anchor count 0 is invalid/);
  });
});

describe('buildBlockTable', () => {
  const counts = countsOf({ money: 50, paid: 30, cost: 15, price: 5, court: 10, judge: 0, law: 10, the: 1000 });

  it('blockOf maps unlisted tokens to background', () => {
    const table = buildBlockTable(twoBlocks, tokenizer, counts);
    expect(table.blockOf).toHaveLength(tokenizer.size);
    for (const word of ['money', 'paid', 'cost', 'price']) expect(table.blockOf[tokenizer.idOf(word) as number]).toBe(1);
    for (const word of ['court', 'judge', 'law']) expect(table.blockOf[tokenizer.idOf(word) as number]).toBe(2);
    for (const word of ['<unk>', '<doc>', 'church', 'god', 'the']) expect(table.blockOf[tokenizer.idOf(word) as number]).toBe(0);
  });

  it('block info lists anchors and statistics', () => {
    const table = buildBlockTable(twoBlocks, tokenizer, counts, { rho: 0.8 });
    const [money, law] = table.blocks;
    expect(money.anchors).toEqual(['money', 'paid']);
    expect(money.anchorIds).toEqual([tokenizer.idOf('money'), tokenizer.idOf('paid')]);
    expect(money.anchorCoverage).toBeCloseTo(0.8, 12);
    expect(money.anchorEntropy).toBeCloseTo(-(0.625 * Math.log(0.625) + 0.375 * Math.log(0.375)), 12);
    expect(law.anchors).toEqual(['court', 'law']);
    expect(law.anchorCoverage).toBe(1);
    expect(law.origin).toBe('recruited');
  });

  it('counts of another vocabulary are rejected', () => {
    expect(() => buildBlockTable(twoBlocks, tokenizer, new Float64Array(5))).toThrow(/length 5 but the vocabulary has 12/);
  });

  it('invalid blocks file is rejected', () => {
    const file = structuredClone(twoBlocks);
    file.blocks[1].tokens.push('money');
    expect(() => buildBlockTable(file, tokenizer, counts)).toThrow(ValidationError);
  });

  it('table survives a JSON round trip', () => {
    const table = buildBlockTable(twoBlocks, tokenizer, counts);
    const restored = blockTableFromJSON(JSON.parse(JSON.stringify(blockTableToJSON(table))), tokenizer);
    expect(restored.blocks).toEqual(table.blocks);
    expect(Array.from(restored.blockOf)).toEqual(Array.from(table.blockOf));
  });

  it('table converts back to its blocks file', () => {
    const table = buildBlockTable(twoBlocks, tokenizer, counts);
    expect(blockTableToBlocksFile(table)).toEqual(parseBlocksFile(twoBlocks, tokenizer));
  });

  it('damaged checkpoint table is rejected', () => {
    const json = blockTableToJSON(buildBlockTable(twoBlocks, tokenizer, counts));
    // "judge" is not an anchor of the law block, so only its id entry is damaged.
    json.blocks[1].tokenIds[1] = json.blocks[0].tokenIds[0];
    json.blocks[0].anchorIds[0] = tokenizer.idOf('the') as number;
    const error = validationErrorOf(() => blockTableFromJSON(json));
    expect(error.details.map((issue) => issue.path)).toEqual(['/blocks/0/anchorIds/0', '/blocks/1/tokenIds/1']);
  });

  it('checkpoint table of another tokenizer is rejected', () => {
    const json = blockTableToJSON(buildBlockTable(twoBlocks, tokenizer, counts));
    const other = new Tokenizer(['<unk>', '<doc>', ...[...WORDS].reverse()]);
    const error = validationErrorOf(() => blockTableFromJSON(json, other));
    expect(error.details[0].message).toContain('in the tokenizer but');
  });
});

describe('demo blocks', () => {
  it('demo blocks fit the Brown vocabulary', () => {
    const splits = splitCorpus(loadBrownCorpus(), { seed: 1 });
    const texts = splits.train.map((document) => document.text);
    const brownTokenizer = Tokenizer.fit(texts, 8000);
    const counts = countTokens(brownTokenizer.encodeDocuments(texts), brownTokenizer.size);

    const table = buildBlockTable(demoBlocks as BlocksFileInput, brownTokenizer, counts);
    expect(table.blocks.length).toBeGreaterThanOrEqual(5);
    for (const block of table.blocks) {
      expect(block.tokens.length, block.id).toBeGreaterThanOrEqual(10);
      expect(block.tokens.length, block.id).toBeLessThanOrEqual(40);
      expect(block.anchorCoverage, block.id).toBeGreaterThan(0.5);
      for (const id of block.tokenIds) expect(counts[id], `${block.id} ${brownTokenizer.vocab[id]}`).toBeGreaterThanOrEqual(5);
    }
  });
});
