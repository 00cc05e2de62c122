/** `localist train`: trains a model on the Brown corpus or a text corpus, or resumes a run. */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import type { BlocksFileInput } from '../../engine/blocks';
import { readCheckpoint } from '../../engine/checkpoint';
import { EMPTY_BLOCKS, EMPTY_RULES } from '../../engine/data';
import type { TrainJob, TrainResult } from '../../engine/jobs';
import type { RulesFileInput } from '../../engine/rules';
import { defaultTrainConfig, validateTrainConfig, type TrainConfig } from '../../engine/trainer';
import { checkRulesFits, nameFileInError, readBlocksOrRulesFile, type FileSource } from '../blocks-and-rules';
import { backendPairs, formatDuration, formatFixed, formatInteger, ProgressReporter, renderKeyValues } from '../format';
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
  type OptionValues,
} from '../options';
import { cliCommand, cliPath, corpusName, displayPath, fileTimestamp, prepareOutputPath, type OutputTarget } from '../paths';
import { EXIT_CANCELLED, InterruptHandler, print, printJson, runTrainJob } from '../session';

const DEFAULTS = defaultTrainConfig();

/** Data-parallel replicas when `--replicas` is not given: 2 on a machine with at least 2 cores, else 1. */
export function defaultReplicas(): number {
  return availableParallelism() >= 2 ? 2 : 1;
}

/** Options that set the configuration of a new run, which a resumed run takes from its checkpoint. */
const NEW_RUN_OPTIONS = [
  'corpus',
  'blocks',
  'rules',
  'batch-size',
  'learning-rate',
  'lambda-train',
  'kappa',
  'seed',
  'max-vocab',
  'context',
  'layers',
  'heads',
  'width',
  'checkpoint-every',
  'time-budget',
];

const spec: CommandSpec = {
  name: 'train',
  description: [
    'Trains a localist transformer and writes checkpoints while it runs. Progress goes to',
    'stderr. The first Ctrl-C stops after the current step and saves a checkpoint that',
    '--resume continues; a second Ctrl-C exits at once.',
  ],
  positionals: [],
  options: {
    corpus: {
      type: 'string',
      value: 'brown|PATH',
      description: 'text to train on: the embedded Brown corpus, or a text file or a folder of .txt/.md files',
      defaultText: 'brown',
    },
    blocks: {
      type: 'string',
      value: 'FILE|none',
      description: 'blocks file (JSON); "none" trains without named blocks',
      defaultText: 'the demo blocks for brown, none for other corpora',
    },
    rules: {
      type: 'string',
      value: 'FILE|none',
      description: 'rules file (JSON); "none" trains without rules',
      defaultText: 'the demo rules for brown, none for other corpora',
    },
    steps: {
      type: 'string',
      value: 'N',
      description: 'total optimizer steps; with --resume, a new total above the saved step',
      defaultText: `${DEFAULTS.steps}, or the checkpoint's total with --resume`,
    },
    'batch-size': {
      type: 'string',
      value: 'N',
      description: 'sequences per step, across all replicas',
      defaultText: String(DEFAULTS.batchSize),
    },
    'learning-rate': {
      type: 'string',
      value: 'X',
      description: 'peak learning rate of AdamW, after a linear warm-up and before cosine decay',
      defaultText: String(DEFAULTS.optimizer.learningRate),
    },
    'lambda-train': {
      type: 'string',
      value: 'uniform|X',
      description: 'locality dial lambda during training: a value in [0, 1], or "uniform" to draw it per batch',
      defaultText: String(DEFAULTS.lambdaTrain),
    },
    kappa: {
      type: 'string',
      value: 'X',
      description: 'sharpening kappa (>= 0) of the block prior on rows without a rule',
      defaultText: String(DEFAULTS.kappa),
    },
    seed: {
      type: 'string',
      value: 'N',
      description: 'seed of initialization, batch sampling and lambda draws',
      defaultText: String(DEFAULTS.seed),
    },
    'max-vocab': {
      type: 'string',
      value: 'N',
      description: 'vocabulary cap in word types, special tokens included',
      defaultText: String(DEFAULTS.data.maxVocab),
    },
    context: {
      type: 'string',
      value: 'N',
      description: 'context length in tokens',
      defaultText: String(DEFAULTS.model.contextLength),
    },
    layers: { type: 'string', value: 'N', description: 'transformer layers', defaultText: String(DEFAULTS.model.layers) },
    heads: {
      type: 'string',
      value: 'N',
      description: 'attention heads per layer; must divide the width',
      defaultText: String(DEFAULTS.model.heads),
    },
    width: { type: 'string', value: 'N', description: 'model width (embedding size)', defaultText: String(DEFAULTS.model.width) },
    'time-budget': {
      type: 'string',
      value: 'SECONDS|none',
      description:
        'wall-clock limit of training in seconds; training ends at --steps or at the limit, whichever comes first, and the learning rate decays by the larger share',
      defaultText: 'none',
    },
    replicas: {
      type: 'string',
      value: 'N',
      description: 'data-parallel replicas, one worker thread each',
      defaultText: '2 on a machine with 2 or more cores, else 1',
    },
    'checkpoint-every': {
      type: 'string',
      value: 'N',
      description: 'steps between checkpoints; the last step always writes one',
      defaultText: String(DEFAULTS.checkpointEvery),
    },
    out: {
      type: 'string',
      value: 'PATH',
      description: 'checkpoint file to write; an existing file is replaced',
      defaultText: 'runs/<corpus name>-<UTC timestamp>.localist, or the resumed checkpoint with --resume',
    },
    resume: {
      type: 'string',
      value: 'CHECKPOINT',
      description: 'continue the run saved in this checkpoint, with its configuration',
    },
    json: JSON_OPTION,
    help: HELP_OPTION,
  },
};

/** Builds the configuration of a new run from the options. */
function newRunConfig(values: OptionValues): TrainConfig {
  const text = (name: string) => stringValue(values, name);
  const integer = (name: string, fallback: number, min: number, example: number) => {
    const given = text(name);
    return given === undefined ? fallback : parseInteger(name, given, min, example);
  };
  const corpusText = text('corpus') ?? 'brown';
  const corpus = corpusText === 'brown' ? 'brown' : resolve(corpusText);
  if (corpus !== 'brown' && !existsSync(corpus)) {
    throw new UsageError(
      `--corpus "${corpusText}" not found; give an existing text file or folder of .txt files, or --corpus brown`,
    );
  }
  const lambdaText = text('lambda-train');
  const lambdaTrain =
    lambdaText === undefined || lambdaText.trim().toLowerCase() === 'uniform'
      ? DEFAULTS.lambdaTrain
      : parseReal('lambda-train', lambdaText, { min: 0, max: 1, example: 'uniform' });
  const learningRateText = text('learning-rate');
  const kappaText = text('kappa');
  const budgetText = text('time-budget');
  const timeBudgetSeconds =
    budgetText === undefined || budgetText.trim().toLowerCase() === 'none'
      ? DEFAULTS.timeBudgetSeconds
      : parseReal('time-budget', budgetText, { min: 0, minExclusive: true, example: '600' });
  const config = defaultTrainConfig({
    data: { ...DEFAULTS.data, corpus, maxVocab: integer('max-vocab', DEFAULTS.data.maxVocab, 3, 8000) },
    model: {
      contextLength: integer('context', DEFAULTS.model.contextLength, 1, 64),
      layers: integer('layers', DEFAULTS.model.layers, 1, 2),
      heads: integer('heads', DEFAULTS.model.heads, 1, 4),
      width: integer('width', DEFAULTS.model.width, 1, 128),
    },
    optimizer: {
      ...DEFAULTS.optimizer,
      learningRate:
        learningRateText === undefined
          ? DEFAULTS.optimizer.learningRate
          : parseReal('learning-rate', learningRateText, { min: 0, minExclusive: true, example: '0.003' }),
    },
    batchSize: integer('batch-size', DEFAULTS.batchSize, 1, 32),
    steps: integer('steps', DEFAULTS.steps, 1, 1000),
    lambdaTrain,
    kappa: kappaText === undefined ? DEFAULTS.kappa : parseReal('kappa', kappaText, { min: 0, example: '4' }),
    seed: integer('seed', DEFAULTS.seed, 0, 1),
    checkpointEvery: integer('checkpoint-every', DEFAULTS.checkpointEvery, 1, 200),
    timeBudgetSeconds,
  });
  if (config.model.width % config.model.heads !== 0) {
    throw new UsageError(
      `--width ${config.model.width} is not divisible by --heads ${config.model.heads}; choose a width that is a multiple of the head count`,
    );
  }
  try {
    validateTrainConfig(config);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  return config;
}

/** Training job built from the options, with the run's total steps for messages. */
export interface PreparedTrain {
  job: TrainJob;
  totalSteps: number;
  /** Blocks and rules files of a new run, named in the engine's validation errors. */
  fileSources?: FileSource[];
}

/** Returns how messages name the checkpoint path: as the `--out` value when the option was given, else as the default path. */
function outputTarget(values: OptionValues, path: string): OutputTarget {
  const fix = 'pass --out with a file path in a folder you can write to, such as runs/model.localist';
  if (stringValue(values, 'out') !== undefined) return { label: `--out "${path}"`, fix };
  return { label: `checkpoint path "${path}"`, fix };
}

async function prepareNewRun(values: OptionValues, replicas: number, output?: OutputTarget): Promise<PreparedTrain> {
  const config = newRunConfig(values);
  const isBrown = config.data.corpus === 'brown';
  const blocks = await readBlocksOrRulesFile<BlocksFileInput>('blocks', stringValue(values, 'blocks'), isBrown, EMPTY_BLOCKS);
  const rules = await readBlocksOrRulesFile<RulesFileInput>('rules', stringValue(values, 'rules'), isBrown, EMPTY_RULES);
  if (rules.source) checkRulesFits(rules.json, rules.source, config.model);
  if (replicas > config.batchSize) {
    throw new UsageError(`--replicas ${replicas} exceeds --batch-size ${config.batchSize}; each replica needs at least one sequence per step`);
  }
  const out = stringValue(values, 'out') ?? `runs/${corpusName(config.data.corpus)}-${fileTimestamp()}.localist`;
  const checkpointPath = await prepareOutputPath(out, output ?? outputTarget(values, out));
  const fileSources = [blocks.source, rules.source].filter((source): source is FileSource => source !== null);
  return {
    job: { kind: 'train', start: { config, blocks: blocks.json, rules: rules.json }, checkpointPath, replicas },
    totalSteps: config.steps,
    fileSources,
  };
}

async function prepareResume(values: OptionValues, resumeText: string, replicas: number, output?: OutputTarget): Promise<PreparedTrain> {
  for (const name of NEW_RUN_OPTIONS) {
    if (values[name] !== undefined) {
      throw new UsageError(
        `--${name} cannot be combined with --resume, because a resumed run keeps the configuration in its checkpoint; remove --${name}`,
      );
    }
  }

  const resumePath = resolve(resumeText);
  // Read here so that a missing or damaged file fails before any worker starts.
  const { contents } = await readCheckpoint(resumePath);
  const stored = (contents.config as { train?: TrainConfig } | null)?.train;
  if (!stored || typeof stored.steps !== 'number') {
    throw new UsageError(`--resume "${resumeText}" has no training configuration; resume a checkpoint written by "localist train"`);
  }

  const savedStep = contents.training.step;
  const stepsText = stringValue(values, 'steps');
  const totalSteps = stepsText === undefined ? stored.steps : parseInteger('steps', stepsText, 1, stored.steps + 1000);
  if (totalSteps <= savedStep) {
    throw new UsageError(
      `checkpoint "${resumeText}" is already at step ${savedStep}, so --steps ${totalSteps} leaves nothing to train; pass --steps above ${savedStep}`,
    );
  }

  const budget = stored.timeBudgetSeconds ?? null;
  if (budget !== null && contents.training.elapsedSeconds >= budget) {
    throw new UsageError(
      `checkpoint "${resumeText}" has used its whole time budget of ${budget} s, so resuming it would train no step; start a new run with a larger --time-budget`,
    );
  }
  if (replicas > stored.batchSize) {
    throw new UsageError(`--replicas ${replicas} exceeds the run's batch size ${stored.batchSize}; each replica needs at least one sequence per step`);
  }

  const out = stringValue(values, 'out') ?? resumeText;
  const checkpointPath = await prepareOutputPath(out, output ?? outputTarget(values, out));
  const start = stepsText === undefined ? { resume: resumePath } : { resume: resumePath, steps: totalSteps };
  return { job: { kind: 'train', start, checkpointPath, replicas }, totalSteps };
}

/**
 * Builds the training job from the options, checking every value, the rules
 * against the model shape, and that the checkpoint path can be written,
 * before a worker starts. `output` names the checkpoint path in messages
 * when a command other than train chose it.
 */
export async function prepareTrainJob(values: OptionValues, output?: OutputTarget): Promise<PreparedTrain> {
  const replicasText = stringValue(values, 'replicas');
  const replicas = replicasText === undefined ? defaultReplicas() : parseInteger('replicas', replicasText, 1, 2);
  const resumeText = stringValue(values, 'resume');
  return resumeText === undefined ? prepareNewRun(values, replicas, output) : prepareResume(values, resumeText, replicas, output);
}

/** Renders the summary of a finished or stopped run. */
export function renderTrainSummary(result: TrainResult, totalSteps: number): string {
  const headlines: Record<TrainResult['stoppedBy'], string> = {
    steps: `Training finished: ${formatInteger(result.steps)} steps.`,
    'time-budget': `Training reached its time budget at step ${formatInteger(result.steps)} of ${formatInteger(totalSteps)}.`,
    cancelled: `Training stopped at step ${formatInteger(result.steps)} of ${formatInteger(totalSteps)}.`,
  };
  const headline = headlines[result.stoppedBy] ?? headlines.steps;
  const rate = result.elapsedSeconds > 0 ? result.tokensSeen / result.elapsedSeconds : 0;
  const pairs = backendPairs(result.backend, result.backendSkipped);
  pairs.push(
    ['parameters', formatInteger(result.parameterCount)],
    ['steps', `${formatInteger(result.steps)} of ${formatInteger(totalSteps)}`],
    ['tokens', formatInteger(result.tokensSeen)],
    ['time', `${formatDuration(result.elapsedSeconds)} (${formatInteger(rate)} tokens/s)`],
    ['final loss', result.finalLoss === null ? 'n/a (no step in this session)' : `${formatFixed(result.finalLoss, 3)} nats`],
  );
  // A run cancelled before its first step writes no checkpoint.
  if (result.sha256) pairs.push(['checkpoint', displayPath(result.checkpoint)], ['sha256', result.sha256]);
  else pairs.push(['checkpoint', 'none written: stopped before the first step']);
  return `${headline}\n${renderKeyValues(pairs)}`;
}

/** Returns the shell command that continues a stopped run. */
export function resumeCommand(checkpoint: string): string {
  return cliCommand(`train --resume ${cliPath(checkpoint)}`);
}

/**
 * Runs a prepared training job with progress and Ctrl-C handling. Returns the
 * result; a run stopped by Ctrl-C returns normally with `cancelled` set.
 */
export async function trainWithProgress(prepared: PreparedTrain, interrupts: InterruptHandler, label = 'train'): Promise<TrainResult> {
  interrupts.setMessage(
    `stopping after the current step; the checkpoint of the last finished step goes to ${displayPath(prepared.job.checkpointPath)}. Press Ctrl-C again to quit at once.`,
  );
  const reporter = new ProgressReporter(process.stderr);
  try {
    return await runTrainJob(prepared.job, { signal: interrupts.signal, reporter, label });
  } catch (error) {
    throw nameFileInError(error, prepared.fileSources ?? []);
  }
}

async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandArgs(spec, argv);
  if (!parsed) return 0;
  const { values } = parsed;
  const prepared = await prepareTrainJob(values);
  const interrupts = new InterruptHandler('stopping training');
  let result: TrainResult;
  try {
    result = await trainWithProgress(prepared, interrupts);
  } finally {
    interrupts.dispose();
  }
  if (values.json) printJson(result);
  else print(renderTrainSummary(result, prepared.totalSteps));
  if (result.cancelled) {
    process.stderr.write(
      result.sha256
        ? `Training stopped on request at step ${result.steps}; the checkpoint is ${displayPath(result.checkpoint)}.\nContinue it with: ${resumeCommand(result.checkpoint)}\n`
        : 'Training stopped on request before its first step; no checkpoint was written.\n',
    );
    return EXIT_CANCELLED;
  }
  return 0;
}

export const trainCommand: Command = { spec, run };
