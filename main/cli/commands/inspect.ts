/**
 * `localist inspect`: what a checkpoint does on one text at the last
 * position: top predictions with the dial set and at lambda 0, the rules
 * active there, and the block masses of every head's attention.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { blockTableFromJSON } from '../../engine/blocks';
import { readCheckpoint } from '../../engine/checkpoint';
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
    'Runs a checkpoint on TEXT, or on the text of --text-file, and shows, for the last',
    'position: the top next-token predictions with the dial at lambda ("dialled") and at 0',
    '("distributed"), the rules active there, and per layer and head the attention mass on',
    'each block, labelled "name (id)".',
  ],
  positionals: [
    { name: 'CHECKPOINT', description: 'checkpoint file (.localist) written by "localist train"' },
    {
      name: 'TEXT',
      description: 'text to run the model on, in quotes. Only the last context window is used. Give TEXT or --text-file, not both',
      optional: true,
    },
  ],
  options: {
    'text-file': { type: 'string', value: 'PATH', description: 'read the text from this UTF-8 file instead of TEXT' },
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

/**
 * Renders block masses of the last position: one row per block, one column
 * per layer and head, "dialled / distributed". `blockLabels` replaces the
 * block names of `result`, as with "Money (money)".
 */
export function renderBlockMasses(result: InspectResult, blockLabels: readonly string[] = result.blocks): string {
  const heads: { layer: number; head: number }[] = [];
  result.blockMassesDialled.forEach((layer, l) => layer.forEach((_, h) => heads.push({ layer: l, head: h })));
  const columns: Column[] = [{ header: 'block' }, ...heads.map(({ layer, head }) => ({ header: `L${layer}H${head}`, align: 'right' as const }))];
  const rows = result.blocks.map((name, block) => [
    blockLabels[block] ?? name,
    ...heads.map(({ layer, head }) => {
      const dialled = result.blockMassesDialled[layer][head][block];
      const distributed = result.blockMassesDistributed[layer][head][block];
      return `${formatPercent(dialled, 0)} / ${formatPercent(distributed, 0)}`;
    }),
  ]);
  return `Block masses of the last position's attention, dialled (lambda ${formatLambda(result.lambda)}) / distributed (lambda 0):\n${renderTable(columns, rows)}`;
}

/** Renders the whole text report of an inspection; `blockLabels` as in `renderBlockMasses`. */
export function renderInspection(result: InspectResult, blockLabels?: readonly string[]): string {
  return [
    `Tokens the model saw (${result.tokens.length}): ${result.tokens.join(' ')}`,
    `Backend: ${result.backend}`,
    ...result.backendSkipped.map((reason, index) => `${index === 0 ? 'Skipped:' : '        '} ${reason}`),
    '',
    'Next-token predictions after the last position:',
    renderPredictions(result),
    '',
    renderActiveRules(result),
    '',
    renderBlockMasses(result, blockLabels),
  ].join('\n');
}

/**
 * Returns "name (id)" per block of the checkpoint, background first, so that
 * the table shows the ids that rules and error messages use.
 */
export function blockLabelsOf(blocks: readonly { id: string; name: string }[]): string[] {
  return ['background', ...blocks.map((block) => (block.name === block.id ? block.id : `${block.name} (${block.id})`))];
}

/** Returns the text of TEXT or --text-file, raising a `UsageError` unless exactly one is given and it has words. */
export async function readInspectText(positional: string | undefined, textFile: string | undefined): Promise<string> {
  if (positional !== undefined && textFile !== undefined) {
    throw new UsageError('both TEXT and --text-file were given; pass the text one way only');
  }
  if (positional === undefined && textFile === undefined) {
    throw new UsageError('missing TEXT for "localist inspect"; pass the text in quotes, or --text-file PATH to read it from a file');
  }
  if (positional !== undefined) {
    if (positional.trim() === '') throw new UsageError('TEXT is empty; pass some words to inspect, such as "the jury said"');
    return positional;
  }

  const path = textFile as string;
  let bytes: Buffer;
  try {
    bytes = await readFile(resolve(path));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(`--text-file "${path}" not found; check the path`);
    if (code === 'EISDIR') throw new UsageError(`--text-file "${path}" is a folder; give a text file`);
    throw new UsageError(`--text-file "${path}" could not be read (${code ?? String(error)}); check the path and its permissions`);
  }
  let text: string;
  try {
    // With `fatal`, invalid bytes raise a TypeError instead of becoming U+FFFD. The decoder also drops a leading BOM.
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new UsageError(`--text-file "${path}" is not valid UTF-8 text; save it with UTF-8 encoding`);
  }
  if (text.trim() === '') throw new UsageError(`--text-file "${path}" is empty or only white space; give a file with the text to inspect`);
  return text;
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
  const text = await readInspectText(positionals[1], stringValue(values, 'text-file'));
  const checkpoint = resolve(positionals[0]);
  // The result names blocks only, so the ids come from the checkpoint, which
  // is read here before the worker reads it again.
  const { contents } = await readCheckpoint(checkpoint);
  const blockLabels = blockLabelsOf(blockTableFromJSON(contents.blocks).blocks);

  const interrupts = new InterruptHandler('cancelling; press Ctrl-C again to quit at once');
  let result: InspectResult;
  try {
    result = await runInspectJob(
      { kind: 'inspect', checkpoint, text, lambda, kappa, topK },
      { signal: interrupts.signal, reporter: new ProgressReporter(process.stderr, { plainShare: 1 }) },
    );
  } finally {
    interrupts.dispose();
  }
  if (values.json) printJson(result);
  else print(renderInspection(result, blockLabels));
  return 0;
}

export const inspectCommand: Command = { spec, run };
