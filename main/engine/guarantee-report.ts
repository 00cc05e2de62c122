/**
 * The guarantees of the dial set beside what a model measures on held-out
 * text: per active rule row, per rule (fidelity threshold lambda*, entropy
 * bound, verdict) and the stationary-point check of the rule penalty.
 */
import * as tf from '@tensorflow/tfjs';
import { assembleBatch, evaluationOffsets, type Batch, type RuleMaskBuilder } from './batch';
import type { BlockTable } from './blocks';
import {
  dialThreshold,
  entropyBound,
  entropyBoundPeak,
  predictedFidelity,
  strengthNeeded,
  summarize,
} from './guarantees';
import { objective, type LocalistModel, type ObjectiveWeights } from './model';
import type { CompiledRules } from './rules';

/** One active rule row: query position `position` of window `window` in layer `layer`, head `head`. */
export interface RuleRow {
  /** Ids of the rules active on the row; their targets are united. */
  rules: string[];
  layer: number;
  head: number;
  window: number;
  position: number;
  /** Undialled attention mass on the targets. */
  p: number;
  /** Visible target keys b and other visible keys m. */
  targets: number;
  others: number;
  /** Strength beta of the row in nats: the largest of its active rules'. */
  strength: number;
  predictedFidelity: number;
  measuredFidelity: number;
  /** Entropy bound at the row's own off-target share, and the measured attention entropy, in nats. */
  entropyBound: number;
  measuredEntropy: number;
}

export type Verdict = 'PASS' | 'FAIL' | 'NOT EXERCISED';

export interface StationaryCheck {
  layer: number;
  head: number;
  /** Rows of the rule in this layer and head (N_r) and active rule rows of the whole set (|R|). */
  ruleRows: number;
  allRuleRows: number;
  /** dL/db_k by autodiff, and dG/db_k = dL/db_k + lambda_train mu_rule / |R| * sum (1 - A_T). */
  lossGradient: number;
  gradientWithoutRule: number;
  /** |R| |dG/db_k| / (lambda_train mu_rule N_r): the mean off-target mass a stationary point implies. */
  impliedOffTarget: number;
  measuredOffTarget: number;
  /** mu_rule that would hold mean off-target mass at eps = 1 - required fidelity with this gradient. */
  muRuleNeeded: number;
  /** |dL/db_k| <= 0.1 |dG/db_k|: close enough to a stationary point for the implied value to apply. */
  nearStationary: boolean;
}

export interface RuleGuarantee {
  id: string;
  name: string;
  requiredFidelity: number;
  strength: number;
  scope: 'block' | 'anchors';
  activeRows: number;
  /** Smallest undialled target mass over the rule's rows; null without rows. */
  pMin: number | null;
  /** Dial threshold lambda* for the required fidelity; null without rows, Infinity when p_min = 0. */
  lambdaStar: number | null;
  /** Whether some lambda in [0, 1] reaches the required fidelity on every row. */
  reachable: boolean | null;
  /** Strength that reaches it at lambda = 1, given when the dial cannot. */
  strengthNeeded: number | null;
  /** Measured fidelity at the report's lambda over the rule's rows. */
  fidelity: { mean: number; minimum: number; interval: [number, number]; count: number } | null;
  /** Entropy of rows at or above their threshold with eps < m / (m + b), against the bound at eps. */
  entropy: { rows: number; boundMean: number; measuredMean: number; measuredMax: number; violations: number } | null;
  verdict: Verdict;
  /** Stationary-point checks per layer and head, for rules that point at a whole block. */
  stationary: StationaryCheck[];
}

export interface GuaranteeReport {
  lambda: number;
  kappa: number;
  tokens: number;
  /** Largest |predicted - measured| fidelity over all rows: float32 rounding only. */
  largestFormulaError: number;
  /** Rows whose measured entropy exceeds the bound at their own off-target share. */
  entropyBoundViolations: number;
  rules: RuleGuarantee[];
  /** The lambda and objective weights of the stationary-point check; an estimate when training drew lambda per batch. */
  stationary: { lambdaTrain: number; estimate: boolean; muRule: number } | null;
  rows?: RuleRow[];
}

export interface GuaranteeInputs {
  model: LocalistModel;
  stream: Int32Array;
  blockTable: BlockTable;
  compiled: CompiledRules;
  buildMasks: RuleMaskBuilder;
  /** Training settings, for the stationary-point check. */
  training: { lambdaTrain: number | 'uniform'; objective: ObjectiveWeights };
}

export interface GuaranteeOptions {
  lambda: number;
  kappa: number;
  maxTokens?: number;
  batchSize?: number;
  includeRows?: boolean;
  /** Skip the stationary-point check (it costs one backward pass per batch). */
  skipStationary?: boolean;
  signal?: AbortSignal;
  onProgress?: (stage: string, done: number, total: number) => void;
}

const ENTROPY_TOLERANCE = 1e-4;

function batches(inputs: GuaranteeInputs, options: GuaranteeOptions): Batch[] {
  const { contextLength: T, layers: L, heads: H, blocks: K } = inputs.model.config;
  const maxWindows = options.maxTokens ? Math.max(1, Math.floor(options.maxTokens / T)) : Infinity;
  const offsets = evaluationOffsets(inputs.stream.length, T, maxWindows);
  if (offsets.length === 0) {
    throw new RangeError(`held-out text has ${inputs.stream.length} tokens, fewer than one window of ${T + 1}; add documents to the held-out split`);
  }
  const size = options.batchSize ?? 32;
  const result: Batch[] = [];
  for (let start = 0; start < offsets.length; start += size) {
    result.push(
      assembleBatch(inputs.stream, offsets.slice(start, start + size), { contextLength: T, layers: L, heads: H, blockCount: K + 1 }, inputs.blockTable.blockOf, inputs.buildMasks),
    );
  }
  return result;
}

/** Collects every active rule row of the evaluation windows at one dial setting. */
export async function collectRuleRows(inputs: GuaranteeInputs, options: GuaranteeOptions, prepared = batches(inputs, options)): Promise<RuleRow[]> {
  const { contextLength: T, layers: L, heads: H } = inputs.model.config;
  const rules = inputs.compiled.rules;
  const rows: RuleRow[] = [];
  let windowBase = 0;
  for (const [index, batch] of prepared.entries()) {
    if (options.signal?.aborted) throw new DOMException('guarantee check cancelled', 'AbortError');
    const B = batch.inputs.batch;
    const read = tf.tidy(() => {
      const result = inputs.model.forward(batch.inputs, { dial: { lambda: options.lambda, kappa: options.kappa }, keepAttention: true });
      return { distributed: tf.stack(result.distributed ?? []), dialled: tf.stack(result.dialled ?? []) }; // [L, B, H, T, T]
    });
    const distributed = (await read.distributed.data()) as Float32Array;
    const dialled = (await read.dialled.data()) as Float32Array;
    tf.dispose([read.distributed, read.dialled]);
    const { active, targetMask, strength } = batch.inputs;
    for (let l = 0; l < L; l++) {
      for (let b = 0; b < B; b++) {
        for (let h = 0; h < H; h++) {
          for (let i = 0; i < T; i++) {
            const row = ((l * B + b) * H + h) * T + i;
            if (!active[row]) continue;
            const base = row * T;
            let p = 0;
            let measured = 0;
            let targets = 0;
            let entropy = 0;
            for (let j = 0; j <= i; j++) {
              const a = dialled[base + j];
              if (a > 0) entropy -= a * Math.log(a);
              if (!targetMask[base + j]) continue;
              p += distributed[base + j];
              measured += a;
              targets++;
            }
            const others = i + 1 - targets;
            rows.push({
              rules: rules.filter((_, r) => batch.ruleRows[r][row]).map((rule) => rule.id),
              layer: l,
              head: h,
              window: windowBase + b,
              position: i,
              p,
              targets,
              others,
              strength: strength[row],
              predictedFidelity: predictedFidelity(p, options.lambda, strength[row]),
              measuredFidelity: measured,
              entropyBound: entropyBound(Math.min(1, Math.max(0, 1 - measured)), targets, others),
              measuredEntropy: entropy,
            });
          }
        }
      }
    }
    windowBase += B;
    options.onProgress?.('rows', index + 1, prepared.length);
    await new Promise((resolve) => setImmediate(resolve));
  }
  return rows;
}

/** Summarizes one rule's rows at the report's lambda. */
export function summarizeRule(rule: CompiledRules['rules'][number], rows: RuleRow[], lambda: number): Omit<RuleGuarantee, 'stationary'> {
  const mine = rows.filter((row) => row.rules.includes(rule.id));
  const base = { id: rule.id, name: rule.name, requiredFidelity: rule.requiredFidelity, strength: rule.strength, scope: rule.scope, activeRows: mine.length };
  if (mine.length === 0) {
    return { ...base, pMin: null, lambdaStar: null, reachable: null, strengthNeeded: null, fidelity: null, entropy: null, verdict: 'NOT EXERCISED' };
  }
  const eps = 1 - rule.requiredFidelity;
  let pMin = Infinity;
  let lambdaStar = 0;
  for (const row of mine) {
    pMin = Math.min(pMin, row.p);
    // Rows where several rules are active use the largest strength, so the threshold is taken per row.
    lambdaStar = Math.max(lambdaStar, dialThreshold(eps, row.p, row.strength));
  }
  const reachable = lambdaStar <= 1;
  let entropyRows = 0;
  let boundSum = 0;
  let measuredSum = 0;
  let measuredMax = 0;
  let violations = 0;
  for (const row of mine) {
    if (lambda < dialThreshold(eps, row.p, row.strength) || !(eps < entropyBoundPeak(row.targets, row.others))) continue;
    const bound = entropyBound(eps, row.targets, row.others);
    entropyRows++;
    boundSum += bound;
    measuredSum += row.measuredEntropy;
    measuredMax = Math.max(measuredMax, row.measuredEntropy);
    if (row.measuredEntropy > bound + ENTROPY_TOLERANCE) violations++;
  }
  const fidelity = summarize(mine.map((row) => row.measuredFidelity));
  return {
    ...base,
    pMin,
    lambdaStar,
    reachable,
    strengthNeeded: reachable ? null : strengthNeeded(eps, pMin),
    fidelity,
    entropy: entropyRows > 0 ? { rows: entropyRows, boundMean: boundSum / entropyRows, measuredMean: measuredSum / entropyRows, measuredMax, violations } : null,
    verdict: fidelity && fidelity.minimum >= rule.requiredFidelity ? 'PASS' : 'FAIL',
  };
}

/**
 * The stationary-point check of the rule penalty, for rules that point at a
 * whole block k. G is the objective L without the rule's own share of the
 * rule term. In layer l and head h, raising the block key bias b_k raises
 * ln A_T on each of the rule's rows by (1 - A_T) times the step. That is
 * exact because those rows depend on layer l's biases only through their
 * own logits. So dG/db_k = dL/db_k + lambda_train mu_rule / |R| * sum (1 - A_T),
 * with dL/db_k from autodiff over the evaluation set. At a stationary point
 * dL/db_k = 0, and the mean off-target mass over the rule's N_r rows is
 * |R| |dG/db_k| / (lambda_train mu_rule N_r).
 */
export async function stationaryChecks(
  inputs: GuaranteeInputs,
  options: GuaranteeOptions,
  prepared: Batch[],
): Promise<{ checks: Map<string, StationaryCheck[]>; meta: GuaranteeReport['stationary'] }> {
  const checks = new Map<string, StationaryCheck[]>();
  const { lambdaTrain: setting, objective: weights } = inputs.training;
  const lambdaTrain = setting === 'uniform' ? 0.5 : setting;
  const meta = { lambdaTrain, estimate: setting === 'uniform', muRule: weights.muRule };
  const { model } = inputs;
  const { contextLength: T, layers: L, heads: H, blocks: K } = model.config;
  const candidates = inputs.compiled.rules.filter((rule) => rule.scope === 'block');
  if (K === 0 || candidates.length === 0 || lambdaTrain <= 0 || weights.muRule <= 0) return { checks, meta: null };

  let tokens = 0;
  let allRows = 0;
  let ruleRowsTotal = 0;
  for (const batch of prepared) {
    tokens += batch.inputs.batch * T;
    allRows += L * batch.inputs.batch * H * T;
    for (const value of batch.inputs.active) ruleRowsTotal += value;
  }
  if (ruleRowsTotal === 0) return { checks, meta: null };

  // dL/db for every layer's block key biases, [L][K * H], accumulated over batches.
  const biasNames = Array.from({ length: L }, (_, l) => `layer${l}.blockKeyBias`);
  const biases = biasNames.map((name) => model.param(name));
  const lossGradient = biasNames.map(() => new Float64Array(K * H));
  for (const [index, batch] of prepared.entries()) {
    if (options.signal?.aborted) throw new DOMException('guarantee check cancelled', 'AbortError');
    const B = batch.inputs.batch;
    const { value, grads } = tf.variableGrads(() => {
      const result = model.forward(batch.inputs, { dial: { lambda: lambdaTrain, kappa: options.kappa } });
      // This batch's share of L over the whole set: each term is a mean over tokens, rows or rule rows there.
      const crossEntropy = objective(result, tf.tensor1d(batch.targets, 'int32'), 0, weights).crossEntropy;
      const blockTerm = tf.mul(result.blockEntropy, (lambdaTrain * weights.muBlock * L * B * H * T) / allRows);
      const ruleTerm = tf.mul(result.ruleNllSum, (lambdaTrain * weights.muRule) / ruleRowsTotal);
      return tf.add(tf.add(tf.mul(crossEntropy, (B * T) / tokens), blockTerm), ruleTerm) as tf.Scalar;
    }, biases);
    biases.forEach((variable, l) => {
      const values = grads[variable.name].dataSync();
      for (let k = 0; k < values.length; k++) lossGradient[l][k] += values[k];
    });
    value.dispose();
    tf.dispose(Object.values(grads));
    options.onProgress?.('stationary', index + 1, prepared.length);
    await new Promise((resolve) => setImmediate(resolve));
  }

  const rows = await collectRuleRows(inputs, { ...options, lambda: lambdaTrain }, prepared);
  const scale = (lambdaTrain * weights.muRule) / ruleRowsTotal;
  for (const rule of candidates) {
    const k = rule.targetBlock;
    const list: StationaryCheck[] = [];
    for (let l = 0; l < L; l++) {
      for (let h = 0; h < H; h++) {
        const mine = rows.filter((row) => row.layer === l && row.head === h && row.rules.includes(rule.id));
        if (mine.length === 0) continue;
        const offTarget = mine.reduce((sum, row) => sum + (1 - row.measuredFidelity), 0);
        const dL = lossGradient[l][(k - 1) * H + h];
        const dG = dL + scale * offTarget;
        const eps = 1 - rule.requiredFidelity;
        list.push({
          layer: l,
          head: h,
          ruleRows: mine.length,
          allRuleRows: ruleRowsTotal,
          lossGradient: dL,
          gradientWithoutRule: dG,
          impliedOffTarget: Math.abs(dG) / (scale * mine.length),
          measuredOffTarget: offTarget / mine.length,
          muRuleNeeded: (ruleRowsTotal * Math.abs(dG)) / (lambdaTrain * mine.length * eps),
          nearStationary: Math.abs(dL) <= 0.1 * Math.abs(dG),
        });
      }
    }
    checks.set(rule.id, list);
  }
  return { checks, meta };
}

/**
 * Raises each reachable rule's lambda* until the guarantee is true at that setting.
 * Rows in layers after the first see inputs that change with lambda, so
 * their undialled target mass, and the threshold, are measured again at the
 * candidate lambda* until it covers every row (at most 6 rounds).
 */
export async function settleThresholds(inputs: GuaranteeInputs, options: GuaranteeOptions, prepared: Batch[], rules: RuleGuarantee[], rows: RuleRow[]): Promise<void> {
  for (const rule of rules) {
    if (!rule.reachable || rule.lambdaStar === null) continue;
    const onlyFirstLayer = rows.every((row) => !row.rules.includes(rule.id) || row.layer === 0);
    if (onlyFirstLayer) continue;
    const eps = 1 - rule.requiredFidelity;
    let candidate = rule.lambdaStar;
    for (let round = 0; round < 6; round++) {
      const measured = (await collectRuleRows(inputs, { ...options, lambda: candidate }, prepared)).filter((row) => row.rules.includes(rule.id));
      let needed = 0;
      for (const row of measured) needed = Math.max(needed, dialThreshold(eps, row.p, row.strength));
      if (needed <= candidate) break;
      candidate = needed;
      if (candidate > 1) break;
    }
    rule.lambdaStar = candidate;
    rule.reachable = candidate <= 1;
    if (!rule.reachable && rule.pMin !== null) rule.strengthNeeded = strengthNeeded(eps, rule.pMin);
  }
}

/** Computes the full guarantee report of a model on an evaluation stream at one dial setting. */
export async function computeGuarantees(inputs: GuaranteeInputs, options: GuaranteeOptions): Promise<GuaranteeReport> {
  const prepared = batches(inputs, options);
  const rows = await collectRuleRows(inputs, options, prepared);
  const rules: RuleGuarantee[] = inputs.compiled.rules.map((rule) => ({ ...summarizeRule(rule, rows, options.lambda), stationary: [] }));
  await settleThresholds(inputs, options, prepared, rules, rows);
  let meta: GuaranteeReport['stationary'] = null;
  if (!options.skipStationary) {
    const stationary = await stationaryChecks(inputs, options, prepared);
    meta = stationary.meta;
    for (const rule of rules) rule.stationary = stationary.checks.get(rule.id) ?? [];
  }
  let largestFormulaError = 0;
  let entropyBoundViolations = 0;
  for (const row of rows) {
    largestFormulaError = Math.max(largestFormulaError, Math.abs(row.predictedFidelity - row.measuredFidelity));
    if (row.measuredEntropy > row.entropyBound + ENTROPY_TOLERANCE) entropyBoundViolations++;
  }
  const T = inputs.model.config.contextLength;
  const tokens = prepared.reduce((sum, batch) => sum + batch.inputs.batch * T, 0);
  const report: GuaranteeReport = {
    lambda: options.lambda,
    kappa: options.kappa,
    tokens,
    largestFormulaError,
    entropyBoundViolations,
    rules,
    stationary: meta,
  };
  if (options.includeRows) report.rows = rows;
  return report;
}
