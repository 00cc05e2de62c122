/**
 * `localist inspect`: what a checkpoint does on one text at the last
 * position: top predictions with the dial set and at lambda 0, the rules
 * active there, and the block masses of every head's attention.
 */
import { resolve } from 'node:path';
import type { InspectResult, TokenPrediction } from '../../engine/jobs';
import { formatLambda, formatPercent, ProgressReporter, renderTable, type Column } from '../format';
import {
  HELP_OPTION,
  JSON_OPTION,
  parseCommandArgs,
  parseInteger,
  parseReal,
  stringValue,
  UsageError,
  type Command,
  type CommandSpec,
} from '../options';
import { InterruptHandler, print, printJson, runInspectJob } from '../session';
import { KAPPA_OPTION } from './eval';

const DEFAULT_LAMBDA = 0.8;
const DEFAULT_TOP = 5;

const spec: CommandSpec = {
  name: 'inspect',
  description: [
    'Runs a checkpoint on TEXT and shows, for the last position: the top next-token',
    'predictions with the dial at lambda ("dialled") and at 0 ("distributed"), the rules',
    'active there, and per layer and head the attention mass on each block.',
  ],
  positionals: [
    { name: 'CHECKPOINT', description: 'checkpoint file (.localist) written by "localist train"' },
    { name: 'TEXT', description: 'text to run the model on; quote it; only the last context window is used' },
  ],
  options: {
    lambda: { type: 'string', value: 'X', description: 'locality dial lambda in [0, 1]', defaultText: String(DEFAULT_LAMBDA) },
    kappa: KAPPA_OPTION,
    top: { type: 'string', value: 'N', description: 'number of top predictions to list', defaultText: String(DEFAULT_TOP) },
    json: JSON_OPTION,
    help: HELP_OPTION,
  },
};

function predictionCells(prediction: TokenPrediction | undefined): string[] {
  return prediction ? [prediction.token, formatPercent(prediction.probability)] : ['', ''];
}

/** Renders the top predictions with the dial set and at 0, side by side. */
export function renderPredictions(result: InspectResult): string {
  const dialledHeader = `dialled (lambda ${formatLambda(result.lambda)})`;
  const columns: Column[] = [
    { header: 'rank', align: 'right' },
    { header: dialledHeader },
    { header: 'probability', align: 'right' },
    { header: 'distributed (lambda 0)' },
    { header: 'probability', align: 'right' },
  ];
  const count = Math.max(result.dialled.length, result.distributed.length);
  const rows = Array.from({ length: count }, (_, rank) => [
    String(rank + 1),
    ...predictionCells(result.dialled[rank]),
    ...predictionCells(result.distributed[rank]),
  ]);
  return renderTable(columns, rows);
}

/** Renders which rules are active on the last position, grouped by rule. */
export function renderActiveRules(result: InspectResult): string {
  if (result.activeRules.length === 0) return 'Rules active on the last position: none.';
  const headsByRule = new Map<string, string[]>();
  for (const entry of result.activeRules) {
    for (const rule of entry.rules) {
      const heads = headsByRule.get(rule) ?? [];
      heads.push(`L${entry.layer}H${entry.head}`);
      headsByRule.set(rule, heads);
    }
  }
  const rows = [...headsByRule].map(([rule, heads]) => [rule, heads.join(' ')]);
  return `Rules active on the last position:\n${renderTable([{ header: 'rule' }, { header: 'layers and heads' }], rows)}`;
}

/** Renders block masses of the last position: one row per block, one column per layer and head, "dialled / distributed". */
export function renderBlockMasses(result: InspectResult): string {
  const heads: { layer: number; head: number }[] = [];
  result.blockMassesDialled.forEach((layer, l) => layer.forEach((_, h) => heads.push({ layer: l, head: h })));
  const columns: Column[] = [{ header: 'block' }, ...heads.map(({ layer, head }) => ({ header: `L${layer}H${head}`, align: 'right' as const }))];
  const rows = result.blocks.map((name, block) => [
    name,
    ...heads.map(({ layer, head }) => {
      const dialled = result.blockMassesDialled[layer][head][block];
      const distributed = result.blockMassesDistributed[layer][head][block];
      return `${formatPercent(dialled, 0)} / ${formatPercent(distributed, 0)}`;
    }),
  ]);
  return `Block masses of the last position's attention, dialled (lambda ${formatLambda(result.lambda)}) / distributed (lambda 0):\n${renderTable(columns, rows)}`;
}

export function renderInspection(result: InspectResult): string {
  return [
    `Tokens the model saw (${result.tokens.length}): ${result.tokens.join(' ')}`,
    `Backend: ${result.backend}`,
    '',
    'Next-token predictions after the last position:',
    renderPredictions(result),
    '',
    renderActiveRules(result),
    '',
    renderBlockMasses(result),
  ].join('\n');
}

async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandArgs(spec, argv);
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  const lambdaText = stringValue(values, 'lambda');
  const kappaText = stringValue(values, 'kappa');
  const topText = stringValue(values, 'top');
  const lambda = lambdaText === undefined ? DEFAULT_LAMBDA : parseReal('lambda', lambdaText, { min: 0, max: 1, example: '0.8' });
  const kappa = kappaText === undefined ? undefined : parseReal('kappa', kappaText, { min: 0, example: '4' });
  const topK = topText === undefined ? DEFAULT_TOP : parseInteger('top', topText, 1, 5);
  const text = positionals[1];
  if (text.trim() === '') throw new UsageError('TEXT is empty; pass some words to inspect, such as "the jury said"');

  const interrupts = new InterruptHandler('cancelling; press Ctrl-C again to quit at once');
  let result: InspectResult;
  try {
    result = await runInspectJob(
      { kind: 'inspect', checkpoint: resolve(positionals[0]), text, lambda, kappa, topK },
      { signal: interrupts.signal, reporter: new ProgressReporter(process.stderr, { plainShare: 1 }) },
    );
  } finally {
    interrupts.dispose();
  }
  if (values.json) printJson(result);
  else print(renderInspection(result));
  return 0;
}

export const inspectCommand: Command = { spec, run };
