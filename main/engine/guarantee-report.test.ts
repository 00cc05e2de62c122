import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { initBackend } from './backend';
import { assembleBatch, evaluationOffsets } from './batch';
import type { BlocksFileInput } from './blocks';
import { DEMO_BLOCKS_PATH, DEMO_RULES_PATH, readJsonFile } from './data';
import { collectRuleRows, computeGuarantees, type GuaranteeInputs, type GuaranteeReport } from './guarantee-report';
import type { RulesFileInput } from './rules';
import { createRun, defaultTrainConfig, disposeRun, trainStep, type RunState } from './trainer';

let run: RunState;
let inputs: GuaranteeInputs;
let report: GuaranteeReport;
const LAMBDA = 0.5;

beforeAll(async () => {
  await initBackend();
  const blocks = (await readJsonFile(DEMO_BLOCKS_PATH, 'demo blocks')) as BlocksFileInput;
  const rules = (await readJsonFile(DEMO_RULES_PATH, 'demo rules')) as RulesFileInput;
  const config = defaultTrainConfig({ model: { contextLength: 32, layers: 2, heads: 4, width: 32 }, batchSize: 16, steps: 60 });
  config.optimizer = { ...config.optimizer, learningRate: 1e-2, warmupSteps: 10 };
  run = await createRun(config, blocks, rules);
  for (let step = 0; step < config.steps; step++) trainStep(run);
  inputs = {
    model: run.model,
    stream: run.data.streams.validation,
    blockTable: run.blockTable,
    compiled: run.compiled,
    buildMasks: run.buildMasks,
    training: { lambdaTrain: config.lambdaTrain, objective: config.objective },
  };
  report = await computeGuarantees(inputs, { lambda: LAMBDA, kappa: 4, maxTokens: 8192, includeRows: true });
});

afterAll(() => disposeRun(run));

describe('guarantees on a trained model', () => {
  test('every active row follows the fidelity formula', () => {
    expect(report.rows!.length).toBeGreaterThan(50);
    for (const row of report.rows!) {
      expect(Math.abs(row.predictedFidelity - row.measuredFidelity)).toBeLessThan(1e-4);
    }
    expect(report.largestFormulaError).toBeLessThan(1e-4);
  });

  test('every active row is within its entropy bound', () => {
    expect(report.entropyBoundViolations).toBe(0);
    for (const row of report.rows!) expect(row.measuredEntropy).toBeLessThanOrEqual(row.entropyBound + 1e-4);
  });

  test('rules report thresholds and verdicts', () => {
    for (const rule of report.rules) {
      if (rule.activeRows === 0) {
        expect(rule.verdict).toBe('NOT EXERCISED');
        continue;
      }
      expect(rule.fidelity!.count).toBe(rule.activeRows);
      expect(rule.fidelity!.interval[0]).toBeLessThanOrEqual(rule.fidelity!.mean);
      expect(rule.verdict).toBe(rule.fidelity!.minimum >= rule.requiredFidelity ? 'PASS' : 'FAIL');
      if (rule.reachable === false) expect(rule.strengthNeeded!).toBeGreaterThan(rule.strength);
    }
    expect(report.rules.some((rule) => rule.activeRows > 0 && rule.reachable)).toBe(true);
  });

  test('lambda star gives every row the required fidelity', async () => {
    let checked = 0;
    for (const rule of report.rules) {
      if (!rule.reachable || rule.lambdaStar === null) continue;
      const rows = (await collectRuleRows(inputs, { lambda: rule.lambdaStar, kappa: 4, maxTokens: 8192 })).filter((row) => row.rules.includes(rule.id));
      expect(rows.length).toBe(rule.activeRows);
      for (const row of rows) expect(row.measuredFidelity).toBeGreaterThanOrEqual(rule.requiredFidelity - 1e-5);
      checked++;
    }
    expect(checked).toBeGreaterThan(0);
  });

  test('stationary check uses the exact bias derivative', () => {
    const rule = report.rules.find((candidate) => candidate.stationary.length > 0);
    expect(rule).toBeDefined();
    const check = rule!.stationary[0];
    // The implied value is |dG/db| / (lambda_train mu_rule / |R| * N_r), and dG = dL + that scale * sum(1 - A_T).
    const scale = (report.stationary!.lambdaTrain * report.stationary!.muRule) / check.allRuleRows;
    expect(check.gradientWithoutRule).toBeCloseTo(check.lossGradient + scale * check.measuredOffTarget * check.ruleRows, 10);
    expect(check.impliedOffTarget).toBeCloseTo(Math.abs(check.gradientWithoutRule) / (scale * check.ruleRows), 10);
    expect(report.stationary!.estimate).toBe(true);

    // Autodiff of the rule's own share, sum of -ln A_T over its rows in that layer and head,
    // with respect to the target block's key bias equals -sum(1 - A_T).
    const compiled = run.compiled.rules.find((candidate) => candidate.id === rule!.id)!;
    const ruleIndex = run.compiled.rules.indexOf(compiled);
    const { contextLength: T, layers: L, heads: H } = run.config.model;
    const offsets = evaluationOffsets(inputs.stream.length, T, 8192 / T);
    const batch = assembleBatch(inputs.stream, offsets, { contextLength: T, layers: L, heads: H, blockCount: run.modelConfig.blocks + 1 }, run.blockTable.blockOf, run.buildMasks);
    const B = offsets.length;
    const selector = new Float32Array(B * H * T);
    for (let b = 0; b < B; b++) for (let i = 0; i < T; i++) {
      const row = ((check.layer * B + b) * H + check.head) * T + i;
      if (batch.ruleRows[ruleIndex][row]) selector[(b * H + check.head) * T + i] = 1;
    }
    const plane = B * H * T;
    const targetMask = batch.inputs.targetMask.subarray(check.layer * plane * T, (check.layer + 1) * plane * T);
    const bias = run.model.param(`layer${check.layer}.blockKeyBias`);
    let offTarget = 0;
    const { grads } = tf.variableGrads(() => {
      const result = run.model.forward(batch.inputs, { dial: { lambda: 0.5, kappa: 4 }, keepAttention: true });
      const mass = tf.sum(tf.mul(result.dialled![check.layer], tf.tensor4d(targetMask, [B, H, T, T])), -1); // [B, H, T]
      const chosen = tf.tensor3d(selector, [B, H, T]);
      offTarget = tf.sum(tf.mul(tf.sub(1, mass), chosen)).dataSync()[0];
      return tf.sum(tf.mul(tf.neg(tf.log(tf.maximum(mass, 1e-9))), chosen)) as tf.Scalar;
    }, [bias]);
    const derivative = grads[bias.name].dataSync()[(compiled.targetBlock - 1) * H + check.head];
    tf.dispose(Object.values(grads));
    expect(offTarget).toBeGreaterThan(0);
    expect(derivative).toBeCloseTo(-offTarget, 3);
  });
});
