/**
 * `localist sweep`: metrics across the locality dial. Protocol A evaluates
 * one model at each lambda. Protocol B trains one model per lambda with the
 * training dial fixed there, and evaluates each model at its own lambda.
 */
import { basename, dirname, join, resolve } from 'node:path';
import { blockTableFromJSON, blockTableToBlocksFile } from '../../engine/blocks';
import { CHECKPOINT_EXTENSION, readCheckpoint } from '../../engine/checkpoint';
import { SWEEP_LAMBDAS, toBits, type EvaluationMetrics } from '../../engine/evaluate';
import type { EvaluateResult, TrainJob } from '../../engine/jobs';
import type { RulesFileInput } from '../../engine/rules';
import { defaultTrainConfig, type TrainConfig } from '../../engine/trainer';
import {
  backendPairs,
  formatDuration,
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
  stringValue,
  UsageError,
  type Command,
  type CommandSpec,
} from '../options';
import { displayPath, prepareOutputPath } from '../paths';
import { EXIT_CANCELLED, InterruptHandler, print, printJson, runEvaluateJob } from '../session';
import { KAPPA_OPTION, MAX_TOKENS_OPTION, parseEvaluationOptions, SPLIT_OPTION, type Split } from './eval';
import { defaultReplicas, resumeCommand, trainWithProgress } from './train';

export type Protocol = 'A' | 'B';

/** One lambda of a sweep: the model evaluated there and its metrics. */
export interface SweepRow {
  lambda: number;
  checkpoint: string;
  sha256: string;
  metrics: EvaluationMetrics;
}

export interface SweepResult {
  kind: 'sweep';
  protocol: Protocol;
  backend: string;
  /** Reasons the faster backends were skipped, one line each. */
  backendSkipped: string[];
  /** The checkpoint the sweep started from. */
  checkpoint: string;
  split: Split;
  lambdas: number[];
  rows: SweepRow[];
}

const PROTOCOL_TEXT: Record<Protocol, string> = {
  A: 'protocol A: one model, dial set at inference',
  B: 'protocol B: one model trained per lambda with the dial fixed at that lambda',
};

const spec: CommandSpec = {
  name: 'sweep',
  description: [
    'Reports attention entropy, block entropy, pointer fidelity, perplexity and accuracy',
    'per lambda. Protocol A evaluates CHECKPOINT at each lambda. Protocol B trains one',
    "model per lambda with CHECKPOINT's configuration and the training dial fixed at that",
    'lambda, saves it beside CHECKPOINT as <name>.lambda-<lambda>.localist (replacing an',
    'existing file), and evaluates each model at its own lambda.',
  ],
  positionals: [{ name: 'CHECKPOINT', description: 'checkpoint file (.localist) written by "localist train"' }],
  options: {
    protocol: { type: 'string', value: 'A|B', description: 'A: one model, dial set at inference; B: one model trained per lambda', defaultText: 'A' },
    lambdas: {
      type: 'string',
      value: 'X,X,...',
      description: 'comma list of lambdas in [0, 1]',
      defaultText: SWEEP_LAMBDAS.join(','),
    },
    split: SPLIT_OPTION,
    kappa: KAPPA_OPTION,
    'max-tokens': MAX_TOKENS_OPTION,
    steps: {
      type: 'string',
      value: 'N',
      description: 'protocol B only: training steps per model',
      defaultText: "the checkpoint's total steps",
    },
    replicas: {
      type: 'string',
      value: 'N',
      description: 'protocol B only: data-parallel replicas per training run',
      defaultText: '2 on a machine with 2 or more cores, else 1',
    },
    json: JSON_OPTION,
    help: HELP_OPTION,
  },
};

/** Builds protocol A sweep rows from an evaluation at several lambdas. */
export function sweepFromEvaluation(result: EvaluateResult): SweepResult {
  return {
    kind: 'sweep',
    protocol: 'A',
    backend: result.backend,
    backendSkipped: result.backendSkipped,
    checkpoint: result.checkpoint,
    split: result.split,
    lambdas: result.results.map((metrics) => metrics.dial.lambda),
    rows: result.results.map((metrics) => ({
      lambda: metrics.dial.lambda,
      checkpoint: result.checkpoint,
      sha256: result.sha256,
      metrics,
    })),
  };
}

/** Renders the sweep table, one row per lambda, with the protocol and backend above it. */
export function renderSweep(sweep: SweepResult): string {
  const columns: Column[] = [
    { header: 'lambda', align: 'right' },
    { header: 'attention entropy (bits)', align: 'right' },
    { header: 'block entropy (bits)', align: 'right' },
    { header: 'PF mean', align: 'right' },
    { header: 'perplexity', align: 'right' },
    { header: 'accuracy', align: 'right' },
  ];
  if (sweep.protocol === 'B') columns.push({ header: 'model' });
  const rows = sweep.rows.map((row) => {
    const cells = [
      formatLambda(row.lambda),
      formatFixed(toBits(row.metrics.attentionEntropy), 3),
      formatFixed(toBits(row.metrics.blockEntropy), 3),
      formatFixed(row.metrics.pointerFidelity, 3),
      formatFixed(row.metrics.perplexity, 2),
      formatPercent(row.metrics.accuracy),
    ];
    if (sweep.protocol === 'B') cells.push(basename(row.checkpoint));
    return cells;
  });
  const tokens = sweep.rows[0]?.metrics.tokens ?? 0;
  const header = renderKeyValues([
    ['protocol', PROTOCOL_TEXT[sweep.protocol]],
    ['checkpoint', displayPath(sweep.checkpoint)],
    ['split', `${sweep.split} (${formatInteger(tokens)} tokens per lambda)`],
    ...backendPairs(sweep.backend, sweep.backendSkipped),
  ]);
  return `Lambda sweep\n${header}\n\n${renderTable(columns, rows)}`;
}

/** Path of the protocol B model for `lambda`, beside the source checkpoint. */
export function protocolBPath(checkpoint: string, lambda: number): string {
  const name = basename(checkpoint).endsWith(CHECKPOINT_EXTENSION)
    ? basename(checkpoint).slice(0, -CHECKPOINT_EXTENSION.length)
    : basename(checkpoint);
  return join(dirname(checkpoint), `${name}.lambda-${formatLambda(lambda)}${CHECKPOINT_EXTENSION}`);
}

interface ProtocolBSettings {
  checkpoint: string;
  lambdas: number[];
  steps: number | undefined;
  replicas: number;
  split: Split;
  kappa: number | undefined;
  maxTokens: number | undefined;
}

/** Trains and evaluates one model per lambda; returns null when Ctrl-C stopped a training run. */
async function runProtocolB(settings: ProtocolBSettings, interrupts: InterruptHandler): Promise<SweepResult | null> {
  const { contents } = await readCheckpoint(settings.checkpoint);
  const stored = (contents.config as { train?: TrainConfig } | null)?.train;
  if (!stored || typeof stored.steps !== 'number') {
    throw new UsageError(`checkpoint "${displayPath(settings.checkpoint)}" has no training configuration; sweep a checkpoint written by "localist train"`);
  }
  const blocks = blockTableToBlocksFile(blockTableFromJSON(contents.blocks));
  const rules = contents.rules as RulesFileInput;
  const steps = settings.steps ?? stored.steps;
  const replicas = Math.min(settings.replicas, stored.batchSize);
  // Every model's path is checked before the first one trains.
  for (const lambda of settings.lambdas) {
    const path = protocolBPath(settings.checkpoint, lambda);
    await prepareOutputPath(path, {
      label: `protocol B model "${displayPath(path)}"`,
      fix: 'copy the checkpoint to a folder you can write to and sweep the copy, because protocol B writes its models beside CHECKPOINT',
    });
  }

  const rows: SweepRow[] = [];
  let backend = '';
  let backendSkipped: string[] = [];
  for (const [index, lambda] of settings.lambdas.entries()) {
    const checkpointPath = protocolBPath(settings.checkpoint, lambda);
    // Defaults fill fields that checkpoints of older versions lack.
    const config: TrainConfig = { ...defaultTrainConfig(), ...stored, lambdaTrain: lambda, steps };
    const job: TrainJob = { kind: 'train', start: { config, blocks, rules }, checkpointPath, replicas };
    const label = `train lambda ${formatLambda(lambda)} (${index + 1}/${settings.lambdas.length})`;
    const trained = await trainWithProgress({ job, totalSteps: steps }, interrupts, label);
    if (trained.cancelled) {
      process.stderr.write(
        `Protocol B stopped during the lambda ${formatLambda(lambda)} model at step ${trained.steps}; its checkpoint is ${displayPath(trained.checkpoint)}.\nContinue that model with: ${resumeCommand(trained.checkpoint)}\n`,
      );
      return null;
    }
    process.stderr.write(
      `trained the lambda ${formatLambda(lambda)} model: ${trained.steps} steps in ${formatDuration(trained.elapsedSeconds)}, ${displayPath(trained.checkpoint)}\n`,
    );
    interrupts.setMessage('cancelling the sweep; press Ctrl-C again to quit at once');
    const evaluation = await runEvaluateJob(
      {
        kind: 'evaluate',
        checkpoint: trained.checkpoint,
        split: settings.split,
        lambdas: [lambda],
        kappa: settings.kappa,
        maxTokens: settings.maxTokens,
        bigram: false,
      },
      { signal: interrupts.signal, reporter: new ProgressReporter(process.stderr, { plainShare: 1 }) },
    );
    backend = evaluation.backend;
    backendSkipped = evaluation.backendSkipped;
    rows.push({ lambda, checkpoint: trained.checkpoint, sha256: evaluation.sha256, metrics: evaluation.results[0] });
  }
  return {
    kind: 'sweep',
    protocol: 'B',
    backend,
    backendSkipped,
    checkpoint: settings.checkpoint,
    split: settings.split,
    lambdas: settings.lambdas,
    rows,
  };
}

async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandArgs(spec, argv);
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  const protocolText = stringValue(values, 'protocol');
  const protocol: Protocol = protocolText === undefined ? 'A' : parseChoice('protocol', protocolText, ['A', 'B'] as const);
  const lambdasText = stringValue(values, 'lambdas');
  const lambdas = lambdasText === undefined ? [...SWEEP_LAMBDAS] : parseLambdaList('lambdas', lambdasText);
  const { split, kappa, maxTokens } = parseEvaluationOptions(values);
  const stepsText = stringValue(values, 'steps');
  const replicasText = stringValue(values, 'replicas');
  if (protocol === 'A') {
    for (const name of ['steps', 'replicas'] as const) {
      if (values[name] !== undefined) {
        throw new UsageError(`--${name} applies to protocol B only, which trains models; add --protocol B or remove --${name}`);
      }
    }
  }
  const steps = stepsText === undefined ? undefined : parseInteger('steps', stepsText, 1, 1000);
  const replicas = replicasText === undefined ? defaultReplicas() : parseInteger('replicas', replicasText, 1, 2);
  const checkpoint = resolve(positionals[0]);

  const interrupts = new InterruptHandler('cancelling the sweep; press Ctrl-C again to quit at once');
  let sweep: SweepResult | null;
  try {
    if (protocol === 'A') {
      const evaluation = await runEvaluateJob(
        { kind: 'evaluate', checkpoint, split, lambdas, kappa, maxTokens, bigram: false },
        { signal: interrupts.signal, reporter: new ProgressReporter(process.stderr, { plainShare: 1 }) },
      );
      sweep = sweepFromEvaluation(evaluation);
    } else {
      sweep = await runProtocolB({ checkpoint, lambdas, steps, replicas, split, kappa, maxTokens }, interrupts);
    }
  } finally {
    interrupts.dispose();
  }
  if (!sweep) return EXIT_CANCELLED;
  if (values.json) printJson(sweep);
  else print(renderSweep(sweep));
  return 0;
}

export const sweepCommand: Command = { spec, run };
