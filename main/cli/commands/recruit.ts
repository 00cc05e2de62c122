/**
 * `localist recruit`: recruits semantic blocks into a checkpoint's model,
 * keeping only those that pay for themselves in nats of likelihood, and
 * records every evaluated candidate as a JSON line.
 */
import { basename, dirname, join, resolve } from 'node:path';
import type { RecruitResult } from '../../engine/jobs';
import { formatFixed, formatInteger, ProgressReporter, renderTable, type Column } from '../format';
import {
  HELP_OPTION,
  JSON_OPTION,
  parseChoice,
  parseCommandArgs,
  parseReal,
  stringValue,
  UsageError,
  type Command,
  type CommandSpec,
} from '../options';
import { displayPath, prepareOutputPath } from '../paths';
import { InterruptHandler, print, printJson, runRecruitJob } from '../session';
import { integerOption, MODEL_ONLY_OPTIONS, runModelRecruitment } from './recruit-models';

const spec: CommandSpec = {
  name: 'recruit',
  description: [
    'With --level block (the default), recruits semantic blocks into the model of a checkpoint.',
    'Each round clusters frequent background words by their embeddings, trains the three most',
    'costly clusters as candidate blocks beside an unchanged copy for the same steps, and keeps',
    'the best only when its gain in training likelihood beats its description length by delta',
    'nats and its held-out likelihood improves. Every evaluated candidate is appended to a JSON',
    'Lines file.',
    '',
    'With --level model, trains a specialist per domain of the corpus: the parent plus LoRA',
    'adapters on the query and value projections. A specialist is kept when its gain on its',
    'domain beats (P_spec / 2) ln N_d + delta nats against a baseline with adapters of the same',
    'shape trained as long on the whole corpus, and its held-out likelihood improves. Writes the',
    'kept specialists, models.json (the model set for "localist route"), records.jsonl and the',
    'routing of the test documents (routing.jsonl) to the --out folder.',
  ],
  positionals: [{ name: 'CHECKPOINT', description: 'checkpoint file (.localist) written by "localist train"' }],
  options: {
    level: { type: 'string', value: 'block|model', description: 'what to recruit: blocks within the model, or specialist models', defaultText: 'block' },
    out: {
      type: 'string',
      value: 'PATH',
      description: 'block: checkpoint to write the recruited model to; model: new or empty folder for the model set',
      defaultText: 'CHECKPOINT with .recruited.localist, or .specialists/ for --level model',
    },
    records: { type: 'string', value: 'PATH', description: 'block: JSON Lines file of candidate records, appended to', defaultText: 'the output path with .records.jsonl' },
    steps: { type: 'string', value: 'N', description: 'training steps per candidate and baseline (S)', defaultText: '200' },
    rounds: { type: 'string', value: 'N', description: 'block: maximum rounds', defaultText: '8' },
    'max-blocks': { type: 'string', value: 'N', description: 'block: maximum named blocks (K_max)', defaultText: '32' },
    clusters: { type: 'string', value: 'N', description: 'block: k-means clusters per round (C)', defaultText: '8' },
    'min-count': { type: 'string', value: 'N', description: 'block: minimum training count of a candidate word (c_min)', defaultText: '20' },
    delta: { type: 'string', value: 'NATS', description: 'margin a block or specialist must clear, in nats', defaultText: '1' },
    workers: { type: 'string', value: 'N', description: 'model: worker threads that train specialists side by side', defaultText: '2 on a machine with 2 or more cores, else 1' },
    rank: { type: 'string', value: 'N', description: 'model: adapter rank r', defaultText: '2' },
    'output-bias': { type: 'boolean', description: 'model: give each specialist its own output bias (V more parameters)' },
    'batch-size': { type: 'string', value: 'N', description: 'model: sequences per adapter training step', defaultText: '16' },
    'learning-rate': { type: 'string', value: 'RATE', description: 'model: peak learning rate of adapter training', defaultText: '0.003' },
    domains: { type: 'string', value: 'LIST', description: 'model: domains to consider, separated by commas', defaultText: 'every domain of the corpus' },
    'sample-tokens': { type: 'string', value: 'N', description: 'model: tokens of each domain\'s training sample E_d, rounded down to whole context windows (at least one)', defaultText: '16384' },
    'held-out-tokens': { type: 'string', value: 'N', description: 'model: validation tokens per domain for the held-out check', defaultText: '8192' },
    json: JSON_OPTION,
    help: HELP_OPTION,
  },
};

/** Renders one row per evaluated candidate. */
export function renderRecords(result: RecruitResult): string {
  if (result.records.length === 0) return 'No candidate was evaluated.';
  const columns: Column[] = [
    { header: 'round', align: 'right' },
    { header: 'block' },
    { header: 'tokens' },
    { header: 'gain (nats)', align: 'right' },
    { header: 'cost (nats)', align: 'right' },
    { header: 'held-out NLL change', align: 'right' },
    { header: 'decision' },
  ];
  const rows = result.records.map((record) => [
    String(record.round),
    record.blockId,
    `${record.tokens.slice(0, 4).join(', ')}${record.tokens.length > 4 ? `, ... (${record.tokens.length})` : ''}`,
    formatFixed(record.gain, 1),
    formatFixed(record.cost + record.repricing, 1),
    formatFixed(record.candidateHeldOutNll - record.baselineHeldOutNll, 4),
    record.decision,
  ]);
  return renderTable(columns, rows);
}

function renderRecruit(result: RecruitResult): string {
  const recruited =
    result.recruited.length === 0
      ? 'No block paid for itself; the model is unchanged apart from the extra training steps.'
      : `Recruited: ${result.recruited.map((block) => `${block.name} (${block.id})`).join('; ')}`;
  return [
    `Block recruitment on ${result.backend}: ${result.rounds} round(s), N_train ${formatInteger(result.trainingTokens)} tokens, stopped: ${result.stopReason}`,
    ...result.backendSkipped.map((reason) => `  skipped: ${reason}`),
    '',
    renderRecords(result),
    '',
    recruited,
    `Checkpoint: ${displayPath(result.checkpoint)} (sha256 ${result.sha256})`,
    `Candidate records: ${displayPath(result.recordsPath)}`,
  ].join('\n');
}

async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandArgs(spec, argv);
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  const levelText = stringValue(values, 'level');
  const level = levelText === undefined ? 'block' : parseChoice('level', levelText, ['block', 'model'] as const);
  if (level === 'model') return runModelRecruitment(values, positionals[0]);
  for (const name of MODEL_ONLY_OPTIONS) {
    if (values[name] !== undefined) throw new UsageError(`--${name} applies to --level model only; drop it, or add --level model`);
  }
  const checkpoint = resolve(positionals[0]);
  const outText = stringValue(values, 'out');
  const defaultOut = join(dirname(checkpoint), `${basename(checkpoint).replace(/\.localist$/, '')}.recruited.localist`);
  const output = await prepareOutputPath(outText ?? defaultOut, {
    label: `--out "${outText ?? defaultOut}"`,
    fix: 'pass --out with a file path in a folder you can write to',
  });
  const recordsText = stringValue(values, 'records');
  const recordsPath = resolve(recordsText ?? output.replace(/\.localist$/, '') + '.records.jsonl');
  const deltaText = stringValue(values, 'delta');
  const options = {
    stepsPerCandidate: integerOption(values, 'steps', 200),
    maximumRounds: integerOption(values, 'rounds', 8),
    maximumBlocks: integerOption(values, 'max-blocks', 32),
    clusters: integerOption(values, 'clusters', 8),
    minimumCount: integerOption(values, 'min-count', 20),
    delta: deltaText === undefined ? undefined : parseReal('delta', deltaText, { min: 0, example: '1' }),
  };
  const definedOptions = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
  const interrupts = new InterruptHandler('cancelling recruitment; the input checkpoint stays as it is');
  let result: RecruitResult;
  try {
    result = await runRecruitJob(
      { kind: 'recruit', level: 'block', checkpoint, output, recordsPath, options: definedOptions },
      { signal: interrupts.signal, reporter: new ProgressReporter(process.stderr, { plainShare: 0.25 }) },
    );
  } finally {
    interrupts.dispose();
  }
  if (values.json) printJson(result);
  else print(renderRecruit(result));
  return 0;
}

export const recruitCommand: Command = { spec, run };
