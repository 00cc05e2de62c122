import { describe, expect, it } from 'vitest';

import demoBlocks from '../../resources/demo/brown-blocks.json';
import demoRules from '../../resources/demo/brown-rules.json';
import { buildBlockTable, type BlockTable, type BlocksFileInput } from './blocks';
import { countTokens, loadBrownCorpus, splitCorpus } from './corpus';
import { ValidationError } from './errors';
import { createRandom, type Random } from './random';
import {
  buildRuleMasks,
  compileRules,
  findRuleOverlaps,
  parseRulesFile,
  rulesFromJSON,
  rulesToJSON,
  type ModelShape,
  type RuleInput,
  type RuleMasks,
  type RulesFileInput,
} from './rules';
import { Tokenizer } from './tokenizer';

const WORDS = ['money', 'paid', 'cost', 'price', 'court', 'judge', 'law', 'church', 'god', 'the', 'a', 'of'];
const tokenizer = new Tokenizer(['<unk>', '<doc>', ...WORDS]);
const shape: ModelShape = { layers: 2, heads: 4 };

function idOf(word: string): number {
  const id = tokenizer.idOf(word);
  if (id === undefined) throw new Error(`test word "${word}" is not in the test vocabulary`);
  return id;
}

function countsOf(entries: Record<string, number>): Float64Array {
  const counts = new Float64Array(tokenizer.size);
  for (const [word, count] of Object.entries(entries)) counts[idOf(word)] = count;
  return counts;
}

const table = buildBlockTable(
  {
    version: 1,
    blocks: [
      { id: 'money', name: 'Money', tokens: ['money', 'paid', 'cost', 'price'] },
      { id: 'law', name: 'Law', tokens: ['court', 'judge', 'law'] },
      { id: 'religion', name: 'Religion', tokens: ['church', 'god'] },
    ],
  },
  tokenizer,
  countsOf({ money: 60, paid: 30, cost: 5, price: 5, court: 10, judge: 2, law: 8, church: 3, god: 3 }),
);

function rulesFile(...rules: RuleInput[]): RulesFileInput {
  return { version: 1, rules };
}

const payRule: RuleInput = { id: 'pay-to-money', name: 'Payment', trigger: { tokens: ['paid'] }, target: 'money' };

function validationErrorOf(action: () => unknown): ValidationError {
  try {
    action();
  } catch (error) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  throw new Error('expected a ValidationError, but nothing was thrown');
}

describe('parseRulesFile', () => {
  it('omitted fields take their defaults', () => {
    const file = parseRulesFile(rulesFile(payRule), table, tokenizer, shape);
    expect(file.rules[0]).toEqual({
      ...payRule,
      scope: 'block',
      strength: 6,
      layers: 'all',
      heads: 'all',
      requiredFidelity: 0.9,
      enabled: true,
    });
  });

  it('unknown trigger block is named', () => {
    const rule = { ...payRule, trigger: { block: 'commerce' } };
    const error = validationErrorOf(() => parseRulesFile(rulesFile(rule), table, tokenizer, shape));
    expect(error.code).toBe('invalid-rules');
    expect(error.details[0].path).toBe('/rules/0/trigger/block');
    expect(error.details[0].message).toContain('"commerce"');
    expect(error.details[0].message).toContain('rule "pay-to-money"');
    expect(error.details[0].message).toContain('"money", "law", "religion"');
  });

  it('unknown target block is named', () => {
    const error = validationErrorOf(() => parseRulesFile(rulesFile({ ...payRule, target: 'finance' }), table, tokenizer, shape));
    expect(error.details[0].path).toBe('/rules/0/target');
    expect(error.details[0].message).toContain('target block "finance" is not in the block table');
  });

  it('background target is rejected', () => {
    const error = validationErrorOf(() => parseRulesFile(rulesFile({ ...payRule, target: 'background' }), table, tokenizer, shape));
    expect(error.details[0].message).toContain('"background" is the tokens in no block');
  });

  it('unknown trigger token is named', () => {
    const rule = { ...payRule, trigger: { tokens: ['paid', 'bought'] } };
    const error = validationErrorOf(() => parseRulesFile(rulesFile(rule), table, tokenizer, shape));
    expect(error.details[0].path).toBe('/rules/0/trigger/tokens/1');
    expect(error.details[0].message).toContain('"bought"');
    expect(error.details[0].message).toContain('rule "pay-to-money" trigger');
  });

  it('layer out of range is rejected', () => {
    const error = validationErrorOf(() => parseRulesFile(rulesFile({ ...payRule, layers: [0, 2] }), table, tokenizer, shape));
    expect(error.details[0].path).toBe('/rules/0/layers/1');
    expect(error.details[0].message).toContain('layer 2 is out of range; the model has 2 layers, numbered 0 to 1');
  });

  it('head out of range is rejected', () => {
    const error = validationErrorOf(() => parseRulesFile(rulesFile({ ...payRule, heads: [4] }), table, tokenizer, shape));
    expect(error.details[0].path).toBe('/rules/0/heads/0');
    expect(error.details[0].message).toContain('head 4 is out of range; the model has 4 heads');
  });

  it('one-layer model is counted in the singular', () => {
    const rule = { ...payRule, layers: [1], heads: [1] };
    const error = validationErrorOf(() => parseRulesFile(rulesFile(rule), table, tokenizer, { layers: 1, heads: 1 }));
    expect(error.details.map((issue) => issue.message)).toEqual([
      'rule "pay-to-money" head 1 is out of range; the model has 1 head, numbered 0 to 0',
      'rule "pay-to-money" layer 1 is out of range; the model has 1 layer, numbered 0 to 0',
    ]);
  });

  it('malformed layer list names the value', () => {
    const rule = { ...payRule, layers: [0, 'one'] } as unknown as RuleInput;
    const error = validationErrorOf(() => parseRulesFile(rulesFile(rule), table, tokenizer, shape));
    expect(error.details).toHaveLength(1);
    expect(error.details[0].path).toBe('/rules/0/layers');
    expect(error.details[0].message).toContain('"all" or a non-empty list of distinct layer indices');
    expect(error.details[0].message).toContain('[0,"one"]');
  });

  it('required fidelity outside (0, 1) is rejected', () => {
    for (const requiredFidelity of [0, 1, 1.5, -0.1]) {
      const error = validationErrorOf(() => parseRulesFile(rulesFile({ ...payRule, requiredFidelity }), table, tokenizer, shape));
      expect(error.details[0].path).toBe('/rules/0/requiredFidelity');
      expect(error.details[0].message).toContain('strictly between 0 and 1');
      expect(error.details[0].message).toContain(`got ${requiredFidelity}`);
    }
  });

  it('non-positive or infinite strength is rejected', () => {
    for (const strength of [0, -2, Number.POSITIVE_INFINITY, Number.NaN]) {
      const error = validationErrorOf(() => parseRulesFile(rulesFile({ ...payRule, strength }), table, tokenizer, shape));
      expect(error.details[0].path).toBe('/rules/0/strength');
      expect(error.details[0].message).toContain('positive number of nats');
      expect(error.details[0].message).toContain(`got ${strength}`);
    }
  });

  it('strength above 50 nats is rejected', () => {
    for (const strength of [1e39, 50.5]) {
      const error = validationErrorOf(() => parseRulesFile(rulesFile({ ...payRule, strength }), table, tokenizer, shape));
      expect(error.details).toHaveLength(1);
      expect(error.details[0].path).toBe('/rules/0/strength');
      expect(error.details[0].message).toContain('up to 50');
      expect(error.details[0].message).toContain(`got ${JSON.stringify(strength)}`);
    }
    expect(parseRulesFile(rulesFile({ ...payRule, strength: 50 }), table, tokenizer, shape).rules[0].strength).toBe(50);
  });

  it('trigger with both forms is rejected', () => {
    const rule = { ...payRule, trigger: { block: 'money', tokens: ['paid'] } } as unknown as RuleInput;
    const error = validationErrorOf(() => parseRulesFile(rulesFile(rule), table, tokenizer, shape));
    expect(error.details).toHaveLength(1);
    expect(error.details[0].path).toBe('/rules/0/trigger');
    expect(error.details[0].message).toContain('either "block"');
  });

  it('repeated rule id is rejected', () => {
    const error = validationErrorOf(() => parseRulesFile(rulesFile(payRule, { ...payRule }), table, tokenizer, shape));
    expect(error.details[0].path).toBe('/rules/1/id');
    expect(error.details[0].message).toContain('"pay-to-money" is used by rules 0 and 1');
  });

  it('every problem is listed', () => {
    const file = rulesFile(
      { ...payRule, target: 'finance', strength: -1 },
      { ...payRule, trigger: { tokens: ['bought'] }, heads: [9] },
      { id: 'court-to-law', name: 'Court', trigger: { block: 'courts' }, target: 'law', requiredFidelity: 1 },
    );
    const error = validationErrorOf(() => parseRulesFile(file, table, tokenizer, shape));
    expect(error.details.map((issue) => issue.path).sort()).toEqual(
      [
        '/rules/0/strength',
        '/rules/1/id',
        '/rules/1/trigger/tokens/0',
        '/rules/1/heads/0',
        '/rules/0/target',
        '/rules/2/requiredFidelity',
        '/rules/2/trigger/block',
      ].sort(),
    );
  });

  it('file that is not an object is rejected', () => {
    for (const json of [null, [], 'rules']) {
      const error = validationErrorOf(() => parseRulesFile(json, table, tokenizer, shape));
      expect(error.details[0].path).toBe('');
      expect(error.details[0].message).toContain('rules file must be a rules file: an object with "version": 1');
    }
  });

  it('rules survive a JSON round trip', () => {
    const file = parseRulesFile(rulesFile(payRule, { ...payRule, id: 'second', layers: [1], enabled: false }), table, tokenizer, shape);
    expect(rulesFromJSON(JSON.parse(JSON.stringify(rulesToJSON(file))))).toEqual(file);
  });

  it('rulesFromJSON checks the schema', () => {
    expect(() => rulesFromJSON({ version: 1, rules: [{ ...payRule, scope: 'tokens' }] })).toThrow(/must be "block".*got "tokens"/s);
  });
});

describe('compileRules', () => {
  it('disabled rules are not compiled', () => {
    const compiled = compileRules(rulesFile(payRule, { ...payRule, id: 'off', enabled: false }), table, tokenizer, shape);
    expect(compiled.rules.map((rule) => rule.id)).toEqual(['pay-to-money']);
    expect(compiled.rules[0].fileIndex).toBe(0);
  });

  it('anchor scope targets only anchors', () => {
    const compiled = compileRules(rulesFile({ ...payRule, scope: 'anchors' }), table, tokenizer, shape);
    const targets = WORDS.filter((word) => compiled.rules[0].targetMembership[idOf(word)]);
    expect(targets).toEqual(['money', 'paid']);
  });

  it('block trigger covers the whole block', () => {
    const compiled = compileRules(rulesFile({ ...payRule, trigger: { block: 'law' }, layers: [1], heads: [0, 3] }), table, tokenizer, shape);
    const rule = compiled.rules[0];
    expect(rule.triggerTokens).toEqual(['court', 'judge', 'law']);
    expect(Array.from(rule.layerMembership)).toEqual([0, 1]);
    expect(Array.from(rule.headMembership)).toEqual([1, 0, 0, 1]);
  });
});

// ---------------------------------------------------------------------------
// Masks against a brute-force reference

/** Applies the definition row by row: the slow, obviously correct version. */
function referenceMasks(rules: RuleInput[], blockTable: BlockTable, tokens: Int32Array, batch: number, time: number): RuleMasks {
  const { layers, heads } = shape;
  const blockTokens = (id: string, anchorsOnly: boolean): Set<number> => {
    const block = blockTable.blocks.find((candidate) => candidate.id === id);
    if (!block) throw new Error(`reference: no block "${id}"`);
    return new Set(anchorsOnly ? block.anchorIds : block.tokenIds);
  };
  const enabled = rules.filter((rule) => rule.enabled ?? true);
  const definitions = enabled.map((rule) => ({
    trigger: 'block' in rule.trigger ? blockTokens(rule.trigger.block, false) : new Set(rule.trigger.tokens.map(idOf)),
    target: blockTokens(rule.target, rule.scope === 'anchors'),
    strength: rule.strength ?? 6,
    layers: rule.layers ?? 'all',
    heads: rule.heads ?? 'all',
  }));

  const rowCount = layers * batch * heads * time;
  const masks: RuleMasks = {
    targetMask: new Float32Array(rowCount * time),
    strength: new Float32Array(rowCount),
    active: new Uint8Array(rowCount),
    ruleRows: enabled.map(() => new Uint8Array(rowCount)),
    layers,
    batch,
    heads,
    time,
  };
  for (let l = 0; l < layers; l++) {
    for (let b = 0; b < batch; b++) {
      for (let h = 0; h < heads; h++) {
        for (let i = 0; i < time; i++) {
          const row = ((l * batch + b) * heads + h) * time + i;
          definitions.forEach((rule, r) => {
            const inScope = (rule.layers === 'all' || rule.layers.includes(l)) && (rule.heads === 'all' || rule.heads.includes(h));
            if (!inScope || !rule.trigger.has(tokens[b * time + i])) return;
            const targetSet: number[] = [];
            for (let j = 0; j <= i; j++) if (rule.target.has(tokens[b * time + j])) targetSet.push(j);
            if (targetSet.length === 0) return;

            masks.ruleRows[r][row] = 1;
            masks.active[row] = 1;
            masks.strength[row] = Math.max(masks.strength[row], rule.strength);
            for (const j of targetSet) masks.targetMask[row * time + j] = 1;
          });
        }
      }
    }
  }
  return masks;
}

function randomSubset(random: Random, count: number, probability: number): number[] {
  const chosen = Array.from({ length: count }, (_, index) => index).filter(() => random() < probability);
  return chosen.length > 0 ? chosen : [Math.floor(random() * count)];
}

function randomRule(random: Random, index: number, blockTable: BlockTable): RuleInput {
  const blockIds = blockTable.blocks.map((block) => block.id);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const trigger =
    random() < 0.4
      ? { block: pick(blockIds) }
      : { tokens: randomSubset(random, WORDS.length, 0.25).map((wordIndex) => WORDS[wordIndex]) };
  return {
    id: `rule-${index}`,
    name: `Rule ${index}`,
    trigger,
    target: pick(blockIds),
    scope: random() < 0.5 ? 'anchors' : 'block',
    strength: Math.round((0.5 + random() * 8) * 4) / 4,
    layers: random() < 0.4 ? 'all' : randomSubset(random, shape.layers, 0.5),
    heads: random() < 0.4 ? 'all' : randomSubset(random, shape.heads, 0.5),
    enabled: random() < 0.85,
  };
}

function expectMasksEqual(actual: RuleMasks, expected: RuleMasks, label: string): void {
  expect(actual.ruleRows.length, label).toBe(expected.ruleRows.length);
  // Compare as arrays of indices where set, so a failure lists the differing positions.
  const setPositions = (values: ArrayLike<number>): number[] => {
    const positions: number[] = [];
    for (let index = 0; index < values.length; index++) if (values[index] !== 0) positions.push(index);
    return positions;
  };
  expect(setPositions(actual.targetMask), `${label} targetMask`).toEqual(setPositions(expected.targetMask));
  expect(Array.from(actual.strength), `${label} strength`).toEqual(Array.from(expected.strength));
  expect(setPositions(actual.active), `${label} active`).toEqual(setPositions(expected.active));
  actual.ruleRows.forEach((rows, r) => {
    expect(setPositions(rows), `${label} ruleRows[${r}]`).toEqual(setPositions(expected.ruleRows[r]));
  });
}

describe('buildRuleMasks', () => {
  it('rule masks match a brute-force reference', () => {
    const random = createRandom(2024);
    let activeRowsSeen = 0;
    for (let trial = 0; trial < 60; trial++) {
      const ruleCount = 1 + Math.floor(random() * 4);
      const rules = Array.from({ length: ruleCount }, (_, index) => randomRule(random, index, table));
      const batch = 1 + Math.floor(random() * 3);
      const time = 1 + Math.floor(random() * 12);
      // Ids 0..13 cover the special tokens, block tokens and background words.
      const tokens = Int32Array.from({ length: batch * time }, () => Math.floor(random() * tokenizer.size));

      const compiled = compileRules(rulesFile(...rules), table, tokenizer, shape);
      const actual = buildRuleMasks(compiled, tokens, batch, time);
      const expected = referenceMasks(rules, table, tokens, batch, time);
      expectMasksEqual(actual, expected, `trial ${trial}`);
      activeRowsSeen += expected.active.reduce((sum, value) => sum + value, 0);
    }
    // The comparison means little unless the random cases activate rules.
    expect(activeRowsSeen).toBeGreaterThan(500);
  });

  it('target mask never sets future keys', () => {
    const compiled = compileRules(rulesFile({ ...payRule, trigger: { tokens: ['paid', 'the'] } }), table, tokenizer, shape);
    const words = ['money', 'the', 'paid', 'cost', 'the', 'price'];
    const masks = buildRuleMasks(compiled, Int32Array.from(words.map(idOf)), 1, words.length);
    const time = words.length;
    for (let row = 0; row < masks.active.length; row++) {
      const i = row % time;
      for (let j = i + 1; j < time; j++) expect(masks.targetMask[row * time + j]).toBe(0);
    }
    // Row 4 ("the") has targets at 0, 2 and 3 but not at the later "price".
    expect(Array.from(masks.targetMask.subarray(4 * time, 5 * time))).toEqual([1, 0, 1, 1, 0, 0]);
  });

  it('rule without a visible target is inactive', () => {
    const compiled = compileRules(rulesFile({ ...payRule, trigger: { tokens: ['the'] } }), table, tokenizer, shape);
    const words = ['the', 'a', 'money', 'the'];
    const masks = buildRuleMasks(compiled, Int32Array.from(words.map(idOf)), 1, words.length);
    // Rows are laid out [L, B, H, T], so the first T rows are layer 0, head 0.
    expect(Array.from(masks.active.subarray(0, 4))).toEqual([0, 0, 0, 1]);
    expect(Array.from(masks.strength.subarray(0, 4))).toEqual([0, 0, 0, 6]);
  });

  it('trigger that is a target activates itself', () => {
    const compiled = compileRules(rulesFile(payRule), table, tokenizer, shape);
    const masks = buildRuleMasks(compiled, Int32Array.from([idOf('paid')]), 1, 1);
    expect(masks.active[0]).toBe(1);
    expect(masks.targetMask[0]).toBe(1);
  });

  it('overlapping rules join targets, max strength', () => {
    const rules = rulesFile(
      { ...payRule, strength: 3 },
      { id: 'pay-to-law', name: 'Payment to law', trigger: { tokens: ['paid'] }, target: 'law', strength: 5, heads: [1] },
    );
    const compiled = compileRules(rules, table, tokenizer, shape);
    const words = ['court', 'money', 'paid'];
    const masks = buildRuleMasks(compiled, Int32Array.from(words.map(idOf)), 1, words.length);
    const time = words.length;
    const rowOf = (layer: number, head: number, i: number): number => (layer * shape.heads + head) * time + i;

    // Head 0 has only the money rule, and head 1 has both.
    expect(Array.from(masks.targetMask.subarray(rowOf(0, 0, 2) * time, rowOf(0, 0, 2) * time + time))).toEqual([0, 1, 1]);
    expect(masks.strength[rowOf(0, 0, 2)]).toBe(3);
    expect(Array.from(masks.targetMask.subarray(rowOf(1, 1, 2) * time, rowOf(1, 1, 2) * time + time))).toEqual([1, 1, 1]);
    expect(masks.strength[rowOf(1, 1, 2)]).toBe(5);
    expect(masks.ruleRows[1][rowOf(1, 0, 2)]).toBe(0);
    expect(masks.ruleRows[1][rowOf(1, 1, 2)]).toBe(1);
  });

  it('batch of the wrong length is rejected', () => {
    const compiled = compileRules(rulesFile(payRule), table, tokenizer, shape);
    expect(() => buildRuleMasks(compiled, new Int32Array(5), 2, 3)).toThrow(/has 5 ids but batch 2 x time 3 needs 6/);
    expect(() => buildRuleMasks(compiled, Int32Array.from([0, 99]), 1, 2)).toThrow(/token id 99 at position 1/);
  });

  it('masks build in milliseconds at training size', () => {
    const random = createRandom(5);
    const rules = Array.from({ length: 6 }, (_, index) => randomRule(random, index, table));
    const compiled = compileRules(rulesFile(...rules), table, tokenizer, shape);
    const [batch, time] = [32, 64];
    const tokens = Int32Array.from({ length: batch * time }, () => Math.floor(random() * tokenizer.size));

    buildRuleMasks(compiled, tokens, batch, time);
    const durations: number[] = [];
    for (let run = 0; run < 30; run++) {
      const start = performance.now();
      buildRuleMasks(compiled, tokens, batch, time);
      durations.push(performance.now() - start);
    }
    durations.sort((a, b) => a - b);
    const median = durations[Math.floor(durations.length / 2)];
    console.log(`buildRuleMasks L=2 B=32 H=4 T=64, ${compiled.rules.length} rules: median ${median.toFixed(2)} ms`);
    // The bound leaves room for a loaded machine. On a 2-core development
    // container with 6 random rules the median was about 2 ms.
    expect(median).toBeLessThan(25);
  });
});

describe('findRuleOverlaps', () => {
  it('rules sharing a trigger and a head overlap', () => {
    const rules = rulesFile(
      { ...payRule, trigger: { tokens: ['paid', 'cost'] } },
      { id: 'money-to-law', name: 'Money to law', trigger: { block: 'money' }, target: 'law', layers: [1], heads: [2, 3] },
      { id: 'cost-in-layer-0', name: 'Cost', trigger: { tokens: ['cost'] }, target: 'law', layers: [0], heads: [2] },
      { id: 'god-to-church', name: 'God', trigger: { tokens: ['god'] }, target: 'religion' },
    );
    const overlaps = findRuleOverlaps(compileRules(rules, table, tokenizer, shape));
    expect(overlaps).toEqual([
      { first: 'pay-to-money', second: 'money-to-law', sharedTriggerTokens: ['paid', 'cost'], layers: [1], heads: [2, 3] },
      { first: 'pay-to-money', second: 'cost-in-layer-0', sharedTriggerTokens: ['cost'], layers: [0], heads: [2] },
    ]);
  });

  it('disjoint scopes do not overlap', () => {
    const rules = rulesFile({ ...payRule, layers: [0] }, { ...payRule, id: 'upper', layers: [1] });
    expect(findRuleOverlaps(compileRules(rules, table, tokenizer, shape))).toEqual([]);
  });
});

// ---------------------------------------------------------------------------
// Demo set on the Brown corpus

describe('demo rules', () => {
  it('every demo rule is active on validation text', () => {
    const splits = splitCorpus(loadBrownCorpus(), { seed: 1 });
    const trainTexts = splits.train.map((document) => document.text);
    const brownTokenizer = Tokenizer.fit(trainTexts, 8000);
    const counts = countTokens(brownTokenizer.encodeDocuments(trainTexts), brownTokenizer.size);
    const brownTable = buildBlockTable(demoBlocks as BlocksFileInput, brownTokenizer, counts);
    const compiled = compileRules(demoRules as RulesFileInput, brownTable, brownTokenizer, shape);
    expect(compiled.rules.length).toBeGreaterThanOrEqual(4);
    expect(findRuleOverlaps(compiled)).toEqual([]);

    // Non-overlapping windows of the validation stream, as an evaluation pass reads it.
    const time = 64;
    const stream = brownTokenizer.encodeDocuments(splits.validation.map((document) => document.text));
    const batch = Math.floor((stream.length - 1) / time);
    const masks = buildRuleMasks(compiled, stream.subarray(0, batch * time), batch, time);

    const activeRows = compiled.rules.map((rule, r) => [rule.id, masks.ruleRows[r].reduce((sum, value) => sum + value, 0)] as const);
    console.log(`demo rule active rows on ${batch} validation windows:`, Object.fromEntries(activeRows));
    for (const [id, count] of activeRows) expect(count, id).toBeGreaterThan(0);
  });
});
