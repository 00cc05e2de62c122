/**
 * Summaries of one window's attention for the inspector, computed on the
 * host from the dialled attention of every layer and head. The window has
 * `length` real tokens at positions 0 .. length - 1, followed by padding
 * that causal attention never lets a real row see, so every summary reads
 * rows and keys below `length` only.
 */
import type { AttentionSelection, RuleTargetCell } from '../../common/api';
import type { CompiledRules } from './rules';

/** Dialled attention of one window, [L, H, T, T] row-major, and where its real tokens end. */
export interface WindowAttention {
  values: Float32Array;
  layers: number;
  heads: number;
  /** Context length T of the model. */
  contextLength: number;
  /** Real tokens at the start of the window; rows and keys from here on are padding. */
  length: number;
}

/** Rule masks of the same window, [L, 1, H, T] per row and [L, 1, H, T, T] for targets, as `assembleBatch` builds them. */
export interface WindowRuleMasks {
  active: Uint8Array;
  targetMask: Float32Array;
  /** Per compiled rule, 1 where that rule is active on the row. */
  ruleRows: Uint8Array[];
}

function rowOffset(attention: WindowAttention, layer: number, head: number, query: number): number {
  const { heads, contextLength: T } = attention;
  return ((layer * heads + head) * T + query) * T;
}

/** Mean entropy of the attention rows over real rows, layers and heads, in bits. */
export function meanAttentionEntropyBits(attention: WindowAttention): number {
  const { layers, heads, length } = attention;
  let sum = 0;
  for (let l = 0; l < layers; l++) {
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < length; i++) {
        const base = rowOffset(attention, l, h, i);
        for (let j = 0; j <= i; j++) {
          const a = attention.values[base + j];
          if (a > 0) sum -= a * Math.log(a);
        }
      }
    }
  }
  return sum / (layers * heads * length) / Math.LN2;
}

/**
 * Mean attention mass on the rule targets over the real rows where a rule is
 * active, all layers and heads, or null when no rule is active. As in
 * `evaluate`, a row with several active rules counts the mass on the union
 * of their targets.
 */
export function meanPointerFidelity(attention: WindowAttention, masks: WindowRuleMasks): number | null {
  const { layers, heads, contextLength: T, length } = attention;
  let sum = 0;
  let rows = 0;
  for (let l = 0; l < layers; l++) {
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < length; i++) {
        const row = (l * heads + h) * T + i;
        if (!masks.active[row]) continue;
        const base = row * T;
        let targetMass = 0;
        for (let j = 0; j <= i; j++) if (masks.targetMask[base + j] > 0) targetMass += attention.values[base + j];
        sum += targetMass;
        rows++;
      }
    }
  }
  return rows > 0 ? sum / rows : null;
}

/** Layer and head indices a selection covers: one index, or all of them for "mean". */
export function selectedCells(selection: AttentionSelection, layers: number, heads: number): Array<[layer: number, head: number]> {
  const layerIndices = selection.layer === 'mean' ? Array.from({ length: layers }, (_, l) => l) : [selection.layer];
  const headIndices = selection.head === 'mean' ? Array.from({ length: heads }, (_, h) => h) : [selection.head];
  return layerIndices.flatMap((layer) => headIndices.map((head): [number, number] => [layer, head]));
}

/** Token-by-token attention of the selection over the real tokens, [query][key]: one head's matrix or the mean of several. */
export function selectTokenAttention(attention: WindowAttention, selection: AttentionSelection): number[][] {
  const cells = selectedCells(selection, attention.layers, attention.heads);
  const { length } = attention;
  const matrix = Array.from({ length }, () => new Array<number>(length).fill(0));
  for (const [layer, head] of cells) {
    for (let i = 0; i < length; i++) {
      const base = rowOffset(attention, layer, head, i);
      const row = matrix[i];
      for (let j = 0; j < length; j++) row[j] += attention.values[base + j];
    }
  }
  if (cells.length > 1) {
    for (const row of matrix) for (let j = 0; j < row.length; j++) row[j] /= cells.length;
  }
  return matrix;
}

/**
 * Block-by-block attention, [query block][key block]: for each query block,
 * the mean over its rows of the attention mass on each key block's tokens.
 * Rows of blocks absent from the window are zeros.
 */
export function blockAttention(tokenAttention: number[][], tokenBlocks: readonly number[], blockCount: number): number[][] {
  const sums = Array.from({ length: blockCount }, () => new Array<number>(blockCount).fill(0));
  const rows = new Array<number>(blockCount).fill(0);
  tokenAttention.forEach((row, query) => {
    const queryBlock = tokenBlocks[query];
    rows[queryBlock]++;
    row.forEach((weight, key) => {
      sums[queryBlock][tokenBlocks[key]] += weight;
    });
  });
  return sums.map((row, block) => (rows[block] > 0 ? row.map((sum) => sum / rows[block]) : row));
}

/**
 * Cells (query, key) of the real tokens where a rule active on the query row
 * of a selected layer and head targets the key. For a "mean" selection a
 * rule active on the row in any of the averaged layers and heads counts.
 * Cells come in rule, query, key order, each once.
 */
export function ruleTargetCells(
  compiled: CompiledRules,
  masks: WindowRuleMasks,
  tokens: ArrayLike<number>,
  attention: Pick<WindowAttention, 'layers' | 'heads' | 'contextLength' | 'length'>,
  selection: AttentionSelection,
): RuleTargetCell[] {
  const { heads, contextLength: T, length } = attention;
  const cells = selectedCells(selection, attention.layers, heads);
  const result: RuleTargetCell[] = [];
  compiled.rules.forEach((rule, ruleIndex) => {
    const rows = masks.ruleRows[ruleIndex];
    if (!rows) return;
    for (let i = 0; i < length; i++) {
      const active = cells.some(([layer, head]) => rows[(layer * heads + head) * T + i] === 1);
      if (!active) continue;
      for (let j = 0; j <= i; j++) {
        if (rule.targetMembership[tokens[j]]) result.push({ rule: rule.id, query: i, key: j });
      }
    }
  });
  return result;
}
