/**
 * Rules: analyst-written pointers from query tokens (the trigger) to a
 * target block, read at every forward pass.
 *
 * Rule r is active on query row (l, h, i) when layer l and head h are in its
 * scope, token x_i is in its trigger, and its target set
 * T_r(i) = { j <= i : x_j is a target token } is not empty. Where several
 * rules are active on one row, attention is pulled toward the union of their
 * target sets by the maximum of their strengths.
 */

import Ajv from 'ajv';

import rulesSchema from '../../resources/schemas/rules.schema.json';
import { blockIndexOf, vocabularyProblem, BACKGROUND_BLOCK_ID, type BlockTable } from './blocks';
import { ValidationError, schemaIssues, type ValidationIssue } from './errors';
import type { Tokenizer } from './tokenizer';

/** Default rule strength beta, in nats. */
export const DEFAULT_RULE_STRENGTH = 6;

/** Default required pointer fidelity phi. */
export const DEFAULT_REQUIRED_FIDELITY = 0.9;

/** Query tokens that activate a rule: every token of a block, or a list of words. */
export type RuleTrigger = { block: string } | { tokens: string[] };

/** Part of the target block a rule points at: all of its tokens, or only its anchors. */
export type RuleScope = 'block' | 'anchors';

/** Layer or head indices, counted from 0, or "all". */
export type IndexSelection = 'all' | number[];

/** One rule after validation, with defaults filled in. */
export interface Rule {
  id: string;
  name: string;
  trigger: RuleTrigger;
  /** Id of the target block. */
  target: string;
  scope: RuleScope;
  /** Logit boost beta of the target keys at full dial, in nats. */
  strength: number;
  layers: IndexSelection;
  heads: IndexSelection;
  /** Pointer fidelity the rule must reach, in (0, 1). */
  requiredFidelity: number;
  enabled: boolean;
  rationale?: string;
  author?: string;
}

export interface RulesFile {
  version: 1;
  rules: Rule[];
}

/** A rule as written by hand, where omitted fields take their defaults. */
export type RuleInput = Pick<Rule, 'id' | 'name' | 'trigger' | 'target' | 'rationale' | 'author'> &
  Partial<Pick<Rule, 'scope' | 'strength' | 'layers' | 'heads' | 'requiredFidelity' | 'enabled'>>;

export interface RulesFileInput {
  version: 1;
  rules: RuleInput[];
}

/** Number of layers and attention heads per layer of the model the rules apply to. */
export interface ModelShape {
  layers: number;
  heads: number;
}

/** An enabled rule as membership tables, ready for building masks. */
export interface CompiledRule {
  id: string;
  name: string;
  /** Position of the rule in its rules file, counting disabled rules. */
  fileIndex: number;
  /** 1 for the vocabulary ids that activate the rule. [V] */
  triggerMembership: Uint8Array;
  /** Trigger ids in increasing order. */
  triggerIds: number[];
  /** Trigger words, in the order of `triggerIds`. */
  triggerTokens: string[];
  /** 1 for the vocabulary ids the rule points at: the target block's tokens, or only its anchors. [V] */
  targetMembership: Uint8Array;
  /** Index 1..K of the target block in the block table. */
  targetBlock: number;
  scope: RuleScope;
  /** Strength beta, in nats. */
  strength: number;
  requiredFidelity: number;
  /** 1 for the layers the rule applies to. [L] */
  layerMembership: Uint8Array;
  /** 1 for the heads the rule applies to. [H] */
  headMembership: Uint8Array;
}

export interface CompiledRules {
  /** Enabled rules, in rules file order. */
  rules: CompiledRule[];
  shape: ModelShape;
  vocabSize: number;
}

/**
 * Rule masks for one batch. Row (l, b, h, i) is query position i of
 * sequence b in layer l and head h. Keys j > i are never set, because
 * attention is causal.
 */
export interface RuleMasks {
  /** 1 where key j is in the union target set of the row's active rules. [L, B, H, T, T] */
  targetMask: Float32Array;
  /** Maximum strength of the row's active rules in nats, 0 when none is active. [L, B, H, T] */
  strength: Float32Array;
  /** 1 where at least one rule is active. [L, B, H, T] */
  active: Uint8Array;
  /** Per compiled rule, in `CompiledRules.rules` order: 1 where that rule is active. [L, B, H, T] each */
  ruleRows: Uint8Array[];
  layers: number;
  batch: number;
  heads: number;
  time: number;
}

/** Two enabled rules that can be active on the same row, which the editor warns about. */
export interface RuleOverlap {
  first: string;
  second: string;
  /** Trigger words the two rules share, in vocabulary order. */
  sharedTriggerTokens: string[];
  /** Layers both rules apply to. */
  layers: number[];
  /** Heads both rules apply to. */
  heads: number[];
}

// ---------------------------------------------------------------------------
// Validation

const ajv = new Ajv({ allErrors: true, verbose: true, useDefaults: true, strictNumbers: true });
const validateRulesSchema = ajv.compile<RulesFile>(rulesSchema);

/**
 * Validates a rules file against its JSON Schema and returns a copy with
 * defaults filled in. Checks what the file alone can show (structure,
 * ranges, repeated ids), not the names of blocks and tokens, which
 * `parseRulesFile` also checks. Throws a `ValidationError` with code
 * `invalid-rules` listing every problem.
 */
export function rulesFromJSON(json: unknown): RulesFile {
  const { data, issues } = checkRulesSchema(json);
  if (issues.length > 0) throw new ValidationError('invalid-rules', 'rules file', issues);
  return data as RulesFile;
}

/**
 * Validates a rules file against its JSON Schema, the block table, the
 * tokenizer and the model shape, and returns a copy with defaults filled in.
 * Throws a `ValidationError` with code `invalid-rules` listing every
 * problem: schema violations, repeated ids, unknown blocks or trigger words,
 * and layers or heads the model does not have.
 */
export function parseRulesFile(json: unknown, blockTable: BlockTable, tokenizer: Tokenizer, shape: ModelShape): RulesFile {
  validateModelShape(shape);
  const { data, issues } = checkRulesSchema(json);

  // The model checks guard each field's type themselves, so they also run on
  // rules the schema rejected and every problem is reported at once.
  const rules = (data as { rules?: unknown } | null)?.rules;
  if (Array.isArray(rules)) {
    rules.forEach((rule: unknown, index) => issues.push(...ruleModelIssues(rule, index, blockTable, tokenizer, shape)));
  }

  if (issues.length > 0) throw new ValidationError('invalid-rules', 'rules file', issues);
  return data as RulesFile;
}

/** Returns a copy of the rules with every field written out, for a checkpoint. */
export function rulesToJSON(rules: RulesFile): RulesFile {
  return structuredClone(rules);
}

function checkRulesSchema(json: unknown): { data: unknown; issues: ValidationIssue[] } {
  const data: unknown = structuredClone(json);
  const issues: ValidationIssue[] = [];
  if (!validateRulesSchema(data)) {
    issues.push(...schemaIssues(validateRulesSchema.errors ?? [], data, (path) => describeRulesPath(data, path)));
  }

  const rules = (data as { rules?: unknown } | null)?.rules;
  if (Array.isArray(rules)) {
    const firstIndexOfId = new Map<string, number>();
    rules.forEach((rule: unknown, index) => {
      const id = (rule as { id?: unknown } | null)?.id;
      if (typeof id !== 'string') return;
      const earlier = firstIndexOfId.get(id);
      if (earlier === undefined) {
        firstIndexOfId.set(id, index);
        return;
      }
      issues.push({
        path: `/rules/${index}/id`,
        message: `rule id "${id}" is used by rules ${earlier} and ${index}; give each rule its own id`,
      });
    });
  }
  return { data, issues };
}

function describeRulesPath(data: unknown, path: string): string {
  const match = /^\/rules\/(\d+)(?:\/(.*))?$/.exec(path);
  if (!match) return path === '' ? 'rules file' : `rules file ${path.slice(1).replace(/\//g, '.')}`;

  const rule = (data as { rules: unknown[] }).rules[Number(match[1])] as { id?: unknown } | undefined;
  const label = typeof rule?.id === 'string' ? `rule "${rule.id}"` : `rule ${match[1]}`;
  return match[2] === undefined ? label : `${label} ${match[2].replace(/\//g, '.')}`;
}

function validateModelShape(shape: ModelShape): void {
  for (const [name, value] of [['layers', shape.layers], ['heads', shape.heads]] as const) {
    if (!Number.isInteger(value) || value < 1) {
      throw new RangeError(`model shape ${name} ${value} is invalid; use a positive integer`);
    }
  }
}

/**
 * Checks one rule's block and token names and its layer and head indices.
 * Fields of the wrong type are skipped, because the schema reports them.
 */
function ruleModelIssues(rule: unknown, index: number, blockTable: BlockTable, tokenizer: Tokenizer, shape: ModelShape): ValidationIssue[] {
  if (rule === null || typeof rule !== 'object') return [];
  const { id, trigger, target } = rule as { id?: unknown; trigger?: unknown; target?: unknown };
  const issues: ValidationIssue[] = [];
  const label = typeof id === 'string' ? `rule "${id}"` : `rule ${index}`;

  if (trigger !== null && typeof trigger === 'object') {
    const { block, tokens } = trigger as { block?: unknown; tokens?: unknown };
    if (typeof block === 'string' && block !== '') {
      const problem = unknownBlockProblem(block, `${label} trigger`, blockTable);
      if (problem !== null) issues.push({ path: `/rules/${index}/trigger/block`, message: problem });
    }
    if (Array.isArray(tokens)) {
      tokens.forEach((token: unknown, tokenIndex) => {
        if (typeof token !== 'string' || token === '') return;
        const problem = vocabularyProblem(token, `${label} trigger`, tokenizer);
        if (problem !== null) issues.push({ path: `/rules/${index}/trigger/tokens/${tokenIndex}`, message: problem });
      });
    }
  }

  if (typeof target === 'string' && target !== '') {
    const problem = unknownBlockProblem(target, `${label} target`, blockTable);
    if (problem !== null) issues.push({ path: `/rules/${index}/target`, message: problem });
  }

  for (const [field, count] of [['layers', shape.layers], ['heads', shape.heads]] as const) {
    const selection = (rule as Record<string, unknown>)[field];
    if (!Array.isArray(selection)) continue;
    const noun = field === 'layers' ? 'layer' : 'head';
    selection.forEach((value: unknown, position) => {
      if (!Number.isInteger(value) || (value as number) < count) return;
      issues.push({
        path: `/rules/${index}/${field}/${position}`,
        message: `${label} ${noun} ${value as number} is out of range; the model has ${count} ${count === 1 ? noun : field}, numbered 0 to ${count - 1}`,
      });
    });
  }
  return issues;
}

function unknownBlockProblem(id: string, owner: string, blockTable: BlockTable): string | null {
  if (blockIndexOf(blockTable, id) !== undefined) return null;
  const known = blockTable.blocks.map((block) => `"${block.id}"`).join(', ') || 'none';
  if (id === BACKGROUND_BLOCK_ID) {
    return `${owner} "${id}" is the tokens in no block, which a rule cannot name; use a named block (known: ${known})`;
  }
  return `${owner} block "${id}" is not in the block table; use one of the known blocks (${known}) or add it to the blocks file`;
}

// ---------------------------------------------------------------------------
// Compilation

/**
 * Validates the rules (see `parseRulesFile`) and compiles each enabled rule
 * into membership tables over the vocabulary, layers and heads.
 */
export function compileRules(
  rules: RulesFileInput,
  blockTable: BlockTable,
  tokenizer: Tokenizer,
  shape: ModelShape,
): CompiledRules {
  if (blockTable.blockOf.length !== tokenizer.size) {
    throw new RangeError(
      `block table covers ${blockTable.blockOf.length} vocabulary ids but the tokenizer has ${tokenizer.size}; build both from the same tokenizer`,
    );
  }
  const file = parseRulesFile(rules, blockTable, tokenizer, shape);
  const vocabSize = tokenizer.size;

  const compiled: CompiledRule[] = [];
  file.rules.forEach((rule, fileIndex) => {
    if (!rule.enabled) return;

    const triggerMembership = new Uint8Array(vocabSize);
    const triggerSource =
      'block' in rule.trigger
        ? blockTable.blocks[(blockIndexOf(blockTable, rule.trigger.block) as number) - 1].tokenIds
        : rule.trigger.tokens.map((token) => tokenizer.idOf(token) as number);
    for (const id of triggerSource) triggerMembership[id] = 1;

    const targetBlock = blockIndexOf(blockTable, rule.target) as number;
    const target = blockTable.blocks[targetBlock - 1];
    const targetMembership = new Uint8Array(vocabSize);
    for (const id of rule.scope === 'anchors' ? target.anchorIds : target.tokenIds) targetMembership[id] = 1;

    const triggerIds = [...new Set(triggerSource)].sort((a, b) => a - b);
    compiled.push({
      id: rule.id,
      name: rule.name,
      fileIndex,
      triggerMembership,
      triggerIds,
      triggerTokens: triggerIds.map((id) => tokenizer.vocab[id]),
      targetMembership,
      targetBlock,
      scope: rule.scope,
      strength: rule.strength,
      requiredFidelity: rule.requiredFidelity,
      layerMembership: selectionMembership(rule.layers, shape.layers),
      headMembership: selectionMembership(rule.heads, shape.heads),
    });
  });
  return { rules: compiled, shape: { ...shape }, vocabSize };
}

function selectionMembership(selection: IndexSelection, count: number): Uint8Array {
  const membership = new Uint8Array(count);
  if (selection === 'all') membership.fill(1);
  else for (const index of selection) membership[index] = 1;
  return membership;
}

// ---------------------------------------------------------------------------
// Masks

/**
 * Builds the rule masks of one batch of token ids.
 *
 * Work is shared in two ways: each rule's active positions are computed once
 * per sequence for all layers and heads, and the (layer, head) cells whose
 * set of applicable rules is equal share one computation of their rows,
 * which is then copied into each cell.
 *
 * @param tokens token ids, row-major [B, T]
 */
export function buildRuleMasks(compiled: CompiledRules, tokens: Int32Array, batch: number, time: number): RuleMasks {
  validateBatch(compiled, tokens, batch, time);
  const { layers, heads } = compiled.shape;
  const rowCount = layers * batch * heads * time;

  const masks: RuleMasks = {
    targetMask: new Float32Array(rowCount * time), // [L, B, H, T, T]
    strength: new Float32Array(rowCount), // [L, B, H, T]
    active: new Uint8Array(rowCount), // [L, B, H, T]
    ruleRows: compiled.rules.map(() => new Uint8Array(rowCount)), // R x [L, B, H, T]
    layers,
    batch,
    heads,
    time,
  };
  const positions = compiled.rules.map((rule) => findRulePositions(rule, tokens, batch, time));

  compiled.rules.forEach((rule, ruleIndex) => {
    const { activeAt, sequenceActive } = positions[ruleIndex];
    forEachCell(rule.layerMembership, rule.headMembership, (layer, head) => {
      for (let b = 0; b < batch; b++) {
        if (!sequenceActive[b]) continue;
        const rowOffset = ((layer * batch + b) * heads + head) * time;
        masks.ruleRows[ruleIndex].set(activeAt.subarray(b * time, (b + 1) * time), rowOffset);
      }
    });
  });

  for (const group of groupCellsByRules(compiled)) {
    fillGroupRows(masks, group, compiled.rules, positions);
  }
  return masks;
}

function validateBatch(compiled: CompiledRules, tokens: Int32Array, batch: number, time: number): void {
  if (!Number.isInteger(batch) || batch < 1 || !Number.isInteger(time) || time < 1) {
    throw new RangeError(`batch ${batch} and time ${time} are invalid; use positive integers`);
  }
  if (tokens.length !== batch * time) {
    throw new RangeError(`token batch has ${tokens.length} ids but batch ${batch} x time ${time} needs ${batch * time}`);
  }
  for (let index = 0; index < tokens.length; index++) {
    const id = tokens[index];
    if (id < 0 || id >= compiled.vocabSize) {
      throw new RangeError(
        `token id ${id} at position ${index} is outside the vocabulary of size ${compiled.vocabSize}; encode with the tokenizer the rules were compiled with`,
      );
    }
  }
}

/** Where one rule is active and where its targets are, for every layer and head in its scope. */
interface RulePositions {
  /** 1 where x_i is a trigger token and some j <= i holds a target token. [B, T] */
  activeAt: Uint8Array;
  /** Per sequence b, the positions j holding a target token, in increasing order. */
  targetPositions: number[][];
  /** 1 for the sequences where the rule is active somewhere. [B] */
  sequenceActive: Uint8Array;
}

function findRulePositions(rule: CompiledRule, tokens: Int32Array, batch: number, time: number): RulePositions {
  const activeAt = new Uint8Array(batch * time);
  const targetPositions: number[][] = [];
  const sequenceActive = new Uint8Array(batch);

  for (let b = 0; b < batch; b++) {
    const targets: number[] = [];
    for (let i = 0; i < time; i++) {
      const id = tokens[b * time + i];
      if (rule.targetMembership[id]) targets.push(i);
      // Key j = i is visible to query i, so a token that is both trigger and target activates its own row.
      if (targets.length > 0 && rule.triggerMembership[id]) {
        activeAt[b * time + i] = 1;
        sequenceActive[b] = 1;
      }
    }
    targetPositions.push(targets);
  }
  return { activeAt, targetPositions, sequenceActive };
}

function forEachCell(layerMembership: Uint8Array, headMembership: Uint8Array, visit: (layer: number, head: number) => void): void {
  for (let layer = 0; layer < layerMembership.length; layer++) {
    if (!layerMembership[layer]) continue;
    for (let head = 0; head < headMembership.length; head++) {
      if (headMembership[head]) visit(layer, head);
    }
  }
}

/** (layer, head) cells that the same rules apply to. */
interface CellGroup {
  ruleIndices: number[];
  cells: Array<[layer: number, head: number]>;
}

function groupCellsByRules(compiled: CompiledRules): CellGroup[] {
  const groups = new Map<string, CellGroup>();
  for (let layer = 0; layer < compiled.shape.layers; layer++) {
    for (let head = 0; head < compiled.shape.heads; head++) {
      const ruleIndices: number[] = [];
      compiled.rules.forEach((rule, ruleIndex) => {
        if (rule.layerMembership[layer] && rule.headMembership[head]) ruleIndices.push(ruleIndex);
      });
      if (ruleIndices.length === 0) continue;

      const key = ruleIndices.join(',');
      const group = groups.get(key);
      if (group) group.cells.push([layer, head]);
      else groups.set(key, { ruleIndices, cells: [[layer, head]] });
    }
  }
  return [...groups.values()];
}

/** Computes the rows of one group of cells once, then copies them into each cell of the group. */
function fillGroupRows(
  masks: RuleMasks,
  group: CellGroup,
  rules: readonly CompiledRule[],
  positions: readonly RulePositions[],
): void {
  const { batch, heads, time } = masks;
  const { ruleIndices } = group;

  for (let b = 0; b < batch; b++) {
    if (!ruleIndices.some((ruleIndex) => positions[ruleIndex].sequenceActive[b])) continue;

    const targetRows = new Float32Array(time * time); // [T, T]
    const strengthRow = new Float32Array(time); // [T]
    const activeRow = new Uint8Array(time); // [T]
    for (let i = 0; i < time; i++) {
      for (const ruleIndex of ruleIndices) {
        const rulePositions = positions[ruleIndex];
        if (!rulePositions.activeAt[b * time + i]) continue;

        activeRow[i] = 1;
        strengthRow[i] = Math.max(strengthRow[i], rules[ruleIndex].strength);
        for (const j of rulePositions.targetPositions[b]) {
          if (j > i) break;
          targetRows[i * time + j] = 1;
        }
      }
    }

    for (const [layer, head] of group.cells) {
      const rowOffset = ((layer * batch + b) * heads + head) * time;
      masks.targetMask.set(targetRows, rowOffset * time);
      masks.strength.set(strengthRow, rowOffset);
      masks.active.set(activeRow, rowOffset);
    }
  }
}

// ---------------------------------------------------------------------------
// Overlaps

/**
 * Finds the pairs of enabled rules that can be active on the same row:
 * their triggers share a token and their layer and head scopes intersect.
 * On such a row the target sets are joined and the larger strength is used.
 */
export function findRuleOverlaps(compiled: CompiledRules): RuleOverlap[] {
  const overlaps: RuleOverlap[] = [];
  const { rules } = compiled;
  for (let a = 0; a < rules.length; a++) {
    for (let b = a + 1; b < rules.length; b++) {
      const first = rules[a];
      const second = rules[b];
      const sharedTokens = first.triggerTokens.filter((_, position) => second.triggerMembership[first.triggerIds[position]]);
      const layers = sharedIndices(first.layerMembership, second.layerMembership);
      const heads = sharedIndices(first.headMembership, second.headMembership);
      if (sharedTokens.length === 0 || layers.length === 0 || heads.length === 0) continue;

      overlaps.push({
        first: first.id,
        second: second.id,
        sharedTriggerTokens: sharedTokens,
        layers,
        heads,
      });
    }
  }
  return overlaps;
}

function sharedIndices(first: Uint8Array, second: Uint8Array): number[] {
  const shared: number[] = [];
  for (let index = 0; index < first.length; index++) {
    if (first[index] && second[index]) shared.push(index);
  }
  return shared;
}
