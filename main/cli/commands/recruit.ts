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
  parseInteger,
  parseReal,
  stringValue,
  UsageError,
  type Command,
  type CommandSpec,
} from '../options';
import { displayPath, prepareOutputPath } from '../paths';
import { InterruptHandler, print, printJson, runRecruitJob } from '../session';

const spec: CommandSpec = {
  name: 'recruit',
  description: [
    'Recruits semantic blocks into the model of a checkpoint. Each round clusters frequent',
    'background words by their embeddings, trains the three most costly clusters as candidate',
    'blocks beside an unchanged copy for the same steps, and keeps the best only when its gain',
    'in training likelihood beats its description length by delta nats and its held-out',
    'likelihood improves. Every evaluated candidate is appended to a JSON Lines file.',
  ],
  positionals: [{ name: 'CHECKPOINT', description: 'checkpoint file (.localist) written by "localist train"' }],
  options: {
    level: { type: 'string', value: 'block|model', description: 'what to recruit; only block is available so far', defaultText: 'block' },
    out: { type: 'string', value: 'PATH', description: 'checkpoint to write the recruited model to', defaultText: 'CHECKPOINT with .recruited before .localist' },
    records: { type: 'string', value: 'PATH', description: 'JSON Lines file of candidate records, appended to', defaultText: 'the output path with .records.jsonl' },
    steps: { type: 'string', value: 'N', description: 'training steps per candidate and baseline (S)', defaultText: '200' },
    rounds: { type: 'string', value: 'N', description: 'maximum rounds', defaultText: '8' },
    'max-blocks': { type: 'string', value: 'N', description: 'maximum named blocks (K_max)', defaultText: '32' },
    clusters: { type: 'string', value: 'N', description: 'k-means clusters per round (C)', defaultText: '8' },
    'min-count': { type: 'string', value: 'N', description: 'minimum training count of a candidate word (c_min)', defaultText: '20' },
    delta: { type: 'string', value: 'NATS', description: 'margin a block must clear, in nats', defaultText: '1' },
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

function integerOption(values: Record<string, string | boolean | undefined>, name: string, example: number): number | undefined {
  const text = stringValue(values, name);
  return text === undefined ? undefined : parseInteger(name, text, 1, example);
}

async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandArgs(spec, argv);
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  const levelText = stringValue(values, 'level');
  const level = levelText === undefined ? 'block' : parseChoice('level', levelText, ['block', 'model'] as const);
  if (level === 'model') {
    throw new UsageError('--level model is not available yet: specialist models are still to come; use --level block');
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
