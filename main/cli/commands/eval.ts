/** `localist eval`: metrics of a checkpoint on held-out text, and the bigram baseline. */
import { resolve } from 'node:path';
import { toBits, type EvaluationMetrics } from '../../engine/evaluate';
import type { EvaluateResult } from '../../engine/jobs';
import {
  backendPairs,
  formatFixed,
  formatInteger,
  formatLambda,
  formatPercent,
  ProgressReporter,
  renderKeyValues,
  renderTable,
  type Column,
} from '../format';
import {
  HELP_OPTION,
  JSON_OPTION,
  parseChoice,
  parseCommandArgs,
  parseInteger,
  parseLambdaList,
  parseReal,
  stringValue,
  type Command,
  type CommandSpec,
  type OptionSpec,
  type OptionValues,
} from '../options';
import { displayPath } from '../paths';
import { InterruptHandler, print, printJson, runEvaluateJob } from '../session';

export const SPLITS = ['validation', 'test'] as const;
export type Split = (typeof SPLITS)[number];

/** Options shared by `eval` and `sweep`. */
export const SPLIT_OPTION: OptionSpec = {
  type: 'string',
  value: 'validation|test',
  description: 'held-out split to evaluate on',
  defaultText: 'test',
};
/**
 * Builds the `--max-tokens` option with its default. The engine evaluates
 * floor(N / context length) whole windows, and at least one, so N is approximate.
 */
export function maxTokensOption(defaultText: string): OptionSpec {
  return {
    type: 'string',
    value: 'N',
    description:
      'about N tokens of the split: N / (context length) whole context windows, rounded down, but at least one, so a whole window even when N is below the context length',
    defaultText,
  };
}
export const MAX_TOKENS_OPTION = maxTokensOption('the whole split');
export const KAPPA_OPTION: OptionSpec = {
  type: 'string',
  value: 'X',
  description: 'sharpening kappa (>= 0) of the block prior on rows without a rule',
  defaultText: "the checkpoint's training kappa",
};

const spec: CommandSpec = {
  name: 'eval',
  description: [
    'Evaluates a checkpoint on held-out text at one or more settings of the locality dial',
    'lambda, and compares its perplexity with an interpolated bigram baseline fitted on',
    'the same training split.',
  ],
  positionals: [{ name: 'CHECKPOINT', description: 'checkpoint file (.localist) written by "localist train"' }],
  options: {
    split: SPLIT_OPTION,
    lambda: {
      type: 'string',
      value: 'X[,X...]',
      description: 'locality dial lambda in [0, 1]; a comma list evaluates each',
      defaultText: '0',
    },
    kappa: KAPPA_OPTION,
    'max-tokens': MAX_TOKENS_OPTION,
    'no-bigram': { type: 'boolean', description: 'skip the bigram baseline' },
    json: JSON_OPTION,
    help: HELP_OPTION,
  },
};

/** Reads `--split`, `--kappa` and `--max-tokens`, shared by eval and sweep. */
export function parseEvaluationOptions(values: OptionValues): { split: Split; kappa?: number; maxTokens?: number } {
  const splitText = stringValue(values, 'split');
  const kappaText = stringValue(values, 'kappa');
  const maxTokensText = stringValue(values, 'max-tokens');
  return {
    split: splitText === undefined ? 'test' : parseChoice('split', splitText, SPLITS),
    kappa: kappaText === undefined ? undefined : parseReal('kappa', kappaText, { min: 0, example: '4' }),
    maxTokens: maxTokensText === undefined ? undefined : parseInteger('max-tokens', maxTokensText, 1, 4096),
  };
}

/** Renders checkpoint, hash, split, token count, backend and skipped backends of an evaluation. */
export function renderEvaluationHeader(result: EvaluateResult): string {
  const tokens = result.results[0]?.tokens ?? 0;
  return renderKeyValues([
    ['checkpoint', displayPath(result.checkpoint)],
    ['sha256', result.sha256],
    ['split', `${result.split} (${formatInteger(tokens)} tokens per lambda)`],
    ...backendPairs(result.backend, result.backendSkipped),
  ]);
}

/** Renders the metrics table: one row per metric, one column per lambda. */
export function renderMetricsTable(results: EvaluationMetrics[]): string {
  const columns: Column[] = [
    { header: 'metric' },
    ...results.map((metrics) => ({ header: `lambda ${formatLambda(metrics.dial.lambda)}`, align: 'right' as const })),
  ];
  const row = (name: string, cell: (metrics: EvaluationMetrics) => string) => [name, ...results.map(cell)];
  const rows = [
    row('perplexity', (m) => formatFixed(m.perplexity, 2)),
    row('cross-entropy (nats/token)', (m) => formatFixed(m.crossEntropy, 4)),
    row('accuracy (top-1)', (m) => formatPercent(m.accuracy)),
    row('attention entropy (bits)', (m) => formatFixed(toBits(m.attentionEntropy), 3)),
    row('normalized attention entropy', (m) => formatFixed(m.normalizedAttentionEntropy, 3)),
    row('block entropy (bits)', (m) => formatFixed(toBits(m.blockEntropy), 3)),
    row('pointer fidelity, mean', (m) => formatFixed(m.pointerFidelity, 3)),
    row('pointer fidelity, argmax share', (m) => formatPercent(m.pointerFidelityArgmax)),
    row('active rule rows', (m) => formatInteger(m.activeRuleRows)),
    row('kappa', (m) => formatFixed(m.dial.kappa, 2)),
  ];
  return renderTable(columns, rows);
}

/** Renders the per-rule table at one lambda, or a line saying there are no rules. */
export function renderRulesTable(metrics: EvaluationMetrics): string {
  const title = `Rules at lambda ${formatLambda(metrics.dial.lambda)}:`;
  if (metrics.rules.length === 0) return `${title} none in this checkpoint.`;
  const columns: Column[] = [
    { header: 'rule' },
    { header: 'active rows', align: 'right' },
    { header: 'PF mean', align: 'right' },
    { header: 'PF min', align: 'right' },
    { header: 'PF argmax', align: 'right' },
    { header: 'required fidelity', align: 'right' },
  ];
  const rows = metrics.rules.map((rule) => [
    rule.id,
    formatInteger(rule.activeRows),
    formatFixed(rule.pointerFidelity, 3),
    formatFixed(rule.minimumFidelity, 3),
    formatPercent(rule.pointerFidelityArgmax),
    formatFixed(rule.requiredFidelity, 2),
  ]);
  return `${title}\n${renderTable(columns, rows)}`;
}

/** Returns whether the model's perplexity at `metrics` is below the bigram baseline's. */
export function beatsBigram(metrics: EvaluationMetrics, bigram: NonNullable<EvaluateResult['bigram']>): boolean {
  return metrics.perplexity < bigram.perplexity;
}

/** Renders the bigram baseline and, per lambda, whether the model's perplexity is lower. */
export function renderBigramComparison(result: EvaluateResult): string {
  const bigram = result.bigram;
  if (!bigram) return 'Bigram baseline: skipped.';
  const lines = [
    `Interpolated bigram baseline (bigram weight ${formatFixed(bigram.interpolation, 2)}, tuned on validation): perplexity ${formatFixed(bigram.perplexity, 2)} on the same ${result.split} tokens.`,
  ];
  for (const metrics of result.results) {
    const verdict = beatsBigram(metrics, bigram)
      ? 'lower than the bigram baseline'
      : 'NOT lower than the bigram baseline';
    lines.push(`Model at lambda ${formatLambda(metrics.dial.lambda)}: perplexity ${formatFixed(metrics.perplexity, 2)}, ${verdict}.`);
  }
  return lines.join('\n');
}

/** Renders the whole text report of an evaluation. */
export function renderEvaluation(result: EvaluateResult): string {
  return [
    `Evaluation on the ${result.split} split`,
    renderEvaluationHeader(result),
    '',
    renderMetricsTable(result.results),
    '',
    ...result.results.flatMap((metrics) => [renderRulesTable(metrics), '']),
    renderBigramComparison(result),
  ].join('\n');
}

async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandArgs(spec, argv);
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  const { split, kappa, maxTokens } = parseEvaluationOptions(values);
  const lambdaText = stringValue(values, 'lambda');
  const lambdas = lambdaText === undefined ? [0] : parseLambdaList('lambda', lambdaText);
  const interrupts = new InterruptHandler('cancelling the evaluation; press Ctrl-C again to quit at once');
  let result: EvaluateResult;
  try {
    result = await runEvaluateJob(
      { kind: 'evaluate', checkpoint: resolve(positionals[0]), split, lambdas, kappa, maxTokens, bigram: !values['no-bigram'] },
      { signal: interrupts.signal, reporter: new ProgressReporter(process.stderr, { plainShare: 1 }) },
    );
  } finally {
    interrupts.dispose();
  }
  if (values.json) printJson(result);
  else print(renderEvaluation(result));
  return 0;
}

export const evalCommand: Command = { spec, run };
