/**
 * `localist guarantees`: the dial's guarantees per rule beside what the model
 * measures on held-out text: required fidelity, p_min, lambda*, measured
 * pointer fidelity, the entropy bound, a verdict, and the stationary-point
 * check of the rule penalty.
 */
import { resolve } from 'node:path';
import { toBits } from '../../engine/evaluate';
import type { RuleGuarantee } from '../../engine/guarantee-report';
import type { GuaranteesResult } from '../../engine/jobs';
import { backendPairs, formatFixed, formatInteger, formatLambda, ProgressReporter, renderKeyValues, renderTable, type Column } from '../format';
import {
  HELP_OPTION,
  JSON_OPTION,
  parseCommandArgs,
  parseReal,
  stringValue,
  type Command,
  type CommandSpec,
} from '../options';
import { displayPath } from '../paths';
import { InterruptHandler, print, printJson, runGuaranteesJob } from '../session';
import { KAPPA_OPTION, maxTokensOption, parseEvaluationOptions, SPLIT_OPTION } from './eval';

/** Default evaluation cap: the stationary check runs a backward pass per batch. */
export const DEFAULT_GUARANTEE_TOKENS = 16_384;

const spec: CommandSpec = {
  name: 'guarantees',
  description: [
    'Checks each rule of a checkpoint against the guarantees of the locality dial on held-out',
    'text: the fidelity the formula predicts on every active row beside the measured one, the',
    'dial threshold lambda* for the required fidelity (or the strength that would reach it),',
    'the entropy bound, PASS / FAIL / NOT EXERCISED, and the stationary-point check of the',
    'rule penalty. A rule with no active rows is never reported as passing.',
  ],
  positionals: [{ name: 'CHECKPOINT', description: 'checkpoint file (.localist) written by "localist train"' }],
  options: {
    lambda: { type: 'string', value: 'X', description: 'locality dial lambda in [0, 1] at which fidelity is measured', defaultText: '1' },
    split: SPLIT_OPTION,
    kappa: KAPPA_OPTION,
    'max-tokens': maxTokensOption(`${DEFAULT_GUARANTEE_TOKENS}`),
    rows: { type: 'boolean', description: 'with --json, include every active rule row' },
    'no-stationary': { type: 'boolean', description: 'skip the stationary-point check (a backward pass per batch)' },
    json: JSON_OPTION,
    help: HELP_OPTION,
  },
};

function formatThreshold(rule: RuleGuarantee): string {
  if (rule.lambdaStar === null) return 'n/a';
  if (rule.reachable) return formatFixed(rule.lambdaStar, 3);
  if (rule.pMin === 0) return 'none: p_min = 0';
  return `none: beta ${formatFixed(rule.strengthNeeded, 2)} needed`;
}

function formatInterval(rule: RuleGuarantee): string {
  if (!rule.fidelity) return 'n/a';
  const [low, high] = rule.fidelity.interval;
  return `${formatFixed(Math.max(0, low), 3)} to ${formatFixed(Math.min(1, high), 3)}`;
}

/** Renders the per-rule table. */
export function renderRuleGuarantees(rules: RuleGuarantee[]): string {
  if (rules.length === 0) return 'Rules: none in this checkpoint.';
  const columns: Column[] = [
    { header: 'rule' },
    { header: 'rows', align: 'right' },
    { header: 'required', align: 'right' },
    { header: 'p_min', align: 'right' },
    { header: 'lambda*', align: 'right' },
    { header: 'PF mean', align: 'right' },
    { header: 'PF min', align: 'right' },
    { header: 'PF 95% interval', align: 'right' },
    { header: 'entropy mean (bits)', align: 'right' },
    { header: 'bound mean (bits)', align: 'right' },
    { header: 'within bound', align: 'right' },
    { header: 'verdict' },
  ];
  const rows = rules.map((rule) => [
    rule.id,
    formatInteger(rule.activeRows),
    formatFixed(rule.requiredFidelity, 2),
    formatFixed(rule.pMin, 4),
    formatThreshold(rule),
    formatFixed(rule.fidelity?.mean ?? null, 3),
    formatFixed(rule.fidelity?.minimum ?? null, 3),
    formatInterval(rule),
    rule.entropy ? formatFixed(toBits(rule.entropy.measuredMean), 3) : 'n/a',
    rule.entropy ? formatFixed(toBits(rule.entropy.boundMean), 3) : 'n/a',
    rule.entropy ? `${rule.entropy.rows - rule.entropy.violations}/${rule.entropy.rows}` : 'n/a',
    rule.verdict,
  ]);
  return renderTable(columns, rows);
}

/** Renders the stationary-point checks, one row per rule, layer and head. */
export function renderStationary(result: GuaranteesResult): string {
  const meta = result.report.stationary;
  if (result.stationarySkipped) return 'Stationary-point check: skipped (--no-stationary).';
  if (!meta) return 'Stationary-point check: not run (no rule points at a whole block, or training used lambda 0).';
  const columns: Column[] = [
    { header: 'rule' },
    { header: 'layer/head' },
    { header: 'rows', align: 'right' },
    { header: 'dL/db', align: 'right' },
    { header: 'dG/db', align: 'right' },
    { header: 'implied off-target', align: 'right' },
    { header: 'measured off-target', align: 'right' },
    { header: 'near stationary' },
    { header: 'mu_rule needed', align: 'right' },
  ];
  const rows = result.report.rules.flatMap((rule) =>
    rule.stationary.map((check) => [
      rule.id,
      `L${check.layer}H${check.head}`,
      formatInteger(check.ruleRows),
      check.lossGradient.toExponential(2),
      check.gradientWithoutRule.toExponential(2),
      formatFixed(check.impliedOffTarget, 4),
      formatFixed(check.measuredOffTarget, 4),
      check.nearStationary ? 'yes' : 'no',
      formatFixed(check.muRuleNeeded, 3),
    ]),
  );
  const label = meta.estimate
    ? `an estimate: training drew lambda per batch, so the mean ${formatLambda(meta.lambdaTrain)} stands for lambda_train`
    : `lambda_train ${formatLambda(meta.lambdaTrain)}`;
  const title = `Stationary-point check of the rule penalty (mu_rule ${formatFixed(meta.muRule, 2)}; ${label}):`;
  if (rows.length === 0) return `${title} no rule row in this text.`;
  return `${title}\n${renderTable(columns, rows)}\n"near stationary" means |dL/db| <= 0.1 |dG/db|, where the implied value applies.`;
}

export function renderGuarantees(result: GuaranteesResult): string {
  const report = result.report;
  return [
    `Guarantees at lambda ${formatLambda(report.lambda)} on the ${result.split} split`,
    renderKeyValues([
      ['checkpoint', displayPath(result.checkpoint)],
      ['sha256', result.sha256],
      ['tokens', formatInteger(report.tokens)],
      ['kappa', formatFixed(report.kappa, 2)],
      ...backendPairs(result.backend, result.backendSkipped),
      ['largest |predicted - measured| fidelity', report.largestFormulaError.toExponential(2)],
      ['rows above their entropy bound', formatInteger(report.entropyBoundViolations)],
    ]),
    '',
    renderRuleGuarantees(report.rules),
    '',
    'PASS: every active row reaches the required fidelity at this lambda. lambda*: the smallest dial setting that',
    'guarantees it on every row of this text. Entropy columns cover rows at or above their threshold, each',
    'compared with its own bound at the required off-target share.',
    '',
    renderStationary(result),
  ].join('\n');
}

async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandArgs(spec, argv);
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  const { split, kappa, maxTokens } = parseEvaluationOptions(values);
  const lambdaText = stringValue(values, 'lambda');
  const lambda = lambdaText === undefined ? 1 : parseReal('lambda', lambdaText, { min: 0, max: 1, example: '0.8' });
  const interrupts = new InterruptHandler('cancelling the guarantee check; press Ctrl-C again to quit at once');
  let result: GuaranteesResult;
  try {
    result = await runGuaranteesJob(
      {
        kind: 'guarantees',
        checkpoint: resolve(positionals[0]),
        split,
        lambda,
        kappa,
        maxTokens: maxTokens ?? DEFAULT_GUARANTEE_TOKENS,
        includeRows: Boolean(values.rows),
        skipStationary: Boolean(values['no-stationary']),
      },
      { signal: interrupts.signal, reporter: new ProgressReporter(process.stderr, { plainShare: 1 }) },
    );
  } finally {
    interrupts.dispose();
  }
  if (values.json) printJson(result);
  else print(renderGuarantees(result));
  return 0;
}

export const guaranteesCommand: Command = { spec, run };
