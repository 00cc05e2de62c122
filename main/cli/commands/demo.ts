/**
 * `localist demo`: trains on the Brown corpus with the demo blocks and rules,
 * compares the model's test perplexity at lambda 0 with the bigram baseline,
 * and runs the protocol A sweep.
 */
import { SWEEP_LAMBDAS } from '../../engine/evaluate';
import type { EvaluateResult, TrainResult } from '../../engine/jobs';
import { formatFixed, ProgressReporter } from '../format';
import { HELP_OPTION, JSON_OPTION, parseCommandArgs, parseInteger, stringValue, type Command, type CommandSpec } from '../options';
import { cliCommand, cliPath } from '../paths';
import { EXIT_CANCELLED, InterruptHandler, print, printJson, runEvaluateJob } from '../session';
import {
  DEMO_CHECKPOINT,
  DEMO_STEPS,
  DEMO_SWEEP_MAX_TOKENS,
  DEMO_TIME_BUDGET_SECONDS,
  QUICK_DEMO_MAX_TOKENS,
  QUICK_DEMO_STEPS,
} from '../demo-settings';
import { beatsBigram } from './eval';
import { renderSweep, sweepFromEvaluation, type SweepResult } from './sweep';
import { prepareTrainJob, renderTrainSummary, resumeCommand, trainWithProgress } from './train';

const spec: CommandSpec = {
  name: 'demo',
  description: [
    `Trains a model on the Brown corpus with the demo blocks and rules, writes ${DEMO_CHECKPOINT}`,
    '(replacing it), evaluates it on the test split at lambda 0 against the interpolated',
    'bigram baseline, and runs the protocol A lambda sweep. It exits with 0 also when the',
    'model does not beat the bigram baseline, and says so.',
  ],
  positionals: [],
  options: {
    quick: {
      type: 'boolean',
      description: `short run for CI: ${QUICK_DEMO_STEPS} steps and at most ${QUICK_DEMO_MAX_TOKENS} evaluation tokens per lambda`,
    },
    steps: { type: 'string', value: 'N', description: 'training steps', defaultText: `${DEMO_STEPS}, or ${QUICK_DEMO_STEPS} with --quick` },
    replicas: {
      type: 'string',
      value: 'N',
      description: 'data-parallel replicas, one worker thread each',
      defaultText: '2 on a machine with 2 or more cores, else 1',
    },
    json: JSON_OPTION,
    help: HELP_OPTION,
  },
};

export interface DemoResult {
  kind: 'demo';
  train: TrainResult;
  /** Evaluation at lambda 0 with the bigram baseline. */
  evaluation: EvaluateResult;
  sweep: SweepResult;
  /** Whether the model's test perplexity at lambda 0 is below the bigram baseline's. */
  modelLowerThanBigram: boolean;
}

/** Renders the comparison of the model at lambda 0 with the bigram baseline in plain words. */
export function renderDemoVerdict(evaluation: EvaluateResult): string {
  const metrics = evaluation.results[0];
  const bigram = evaluation.bigram;
  if (!metrics || !bigram) return 'No bigram comparison was made.';
  const model = formatFixed(metrics.perplexity, 2);
  const baseline = formatFixed(bigram.perplexity, 2);
  const lines = [
    `Test perplexity at lambda 0: model ${model}, interpolated bigram baseline ${baseline}.`,
    beatsBigram(metrics, bigram)
      ? 'The model is lower: it beats the bigram baseline.'
      : `The bigram baseline is lower: the model does NOT beat it yet. Train longer with --steps, or with ${cliCommand('train --time-budget SECONDS')}.`,
  ];
  return lines.join('\n');
}

/** Returns the command that inspects the demo's model, runnable after a plain `npm install`. */
export function inspectHint(checkpoint: string): string {
  return cliCommand(`inspect ${cliPath(checkpoint)} "the jury said the money"`);
}

async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandArgs(spec, argv);
  if (!parsed) return 0;
  const { values } = parsed;
  const quick = Boolean(values.quick);
  const stepsText = stringValue(values, 'steps');
  let steps = quick ? QUICK_DEMO_STEPS : DEMO_STEPS;
  if (stepsText !== undefined) steps = parseInteger('steps', stepsText, 1, DEMO_STEPS);
  // An explicit --steps count runs to that count; otherwise the time budget keeps the demo short.
  const useBudget = !quick && stepsText === undefined && DEMO_TIME_BUDGET_SECONDS !== null;
  const timeBudget = useBudget ? String(DEMO_TIME_BUDGET_SECONDS) : undefined;
  const prepared = await prepareTrainJob(
    {
      steps: String(steps),
      replicas: stringValue(values, 'replicas'),
      out: DEMO_CHECKPOINT,
      'time-budget': timeBudget,
    },
    {
      label: `the demo checkpoint "${DEMO_CHECKPOINT}"`,
      fix: `run the demo from a folder you can write to, because it writes ${DEMO_CHECKPOINT} under the working folder`,
    },
  );

  const interrupts = new InterruptHandler('stopping the demo');
  let train: TrainResult;
  let evaluation: EvaluateResult;
  try {
    train = await trainWithProgress(prepared, interrupts);
    if (train.cancelled) {
      if (values.json) printJson(train);
      else print(renderTrainSummary(train, prepared.totalSteps));
      process.stderr.write(
        train.sha256
          ? `Demo stopped on request. Continue the training with: ${resumeCommand(train.checkpoint)}\n`
          : 'Demo stopped on request before the first training step; no checkpoint was written.\n',
      );
      return EXIT_CANCELLED;
    }
    if (!values.json) print(`${renderTrainSummary(train, prepared.totalSteps)}\n`);
    interrupts.setMessage('cancelling the evaluation; press Ctrl-C again to quit at once');
    // Lambda 0 on the whole test split is compared with the bigram; the
    // sweep runs on a capped share of it to keep the demo short.
    const reporter = new ProgressReporter(process.stderr, { plainShare: 1 });
    const baseline = await runEvaluateJob(
      {
        kind: 'evaluate',
        checkpoint: train.checkpoint,
        split: 'test',
        lambdas: [0],
        maxTokens: quick ? QUICK_DEMO_MAX_TOKENS : undefined,
        bigram: true,
      },
      { signal: interrupts.signal, reporter },
    );
    const swept = await runEvaluateJob(
      {
        kind: 'evaluate',
        checkpoint: train.checkpoint,
        split: 'test',
        lambdas: [...SWEEP_LAMBDAS],
        maxTokens: quick ? QUICK_DEMO_MAX_TOKENS : DEMO_SWEEP_MAX_TOKENS,
      },
      { signal: interrupts.signal, reporter },
    );
    evaluation = { ...swept, bigram: baseline.bigram, results: [...baseline.results, ...swept.results] };
  } finally {
    interrupts.dispose();
  }

  const atZero: EvaluateResult = { ...evaluation, results: evaluation.results.slice(0, 1) };
  const sweep = sweepFromEvaluation({ ...evaluation, results: evaluation.results.slice(1) });
  const modelLowerThanBigram = atZero.results[0] !== undefined && atZero.bigram !== null && beatsBigram(atZero.results[0], atZero.bigram);
  if (values.json) {
    const result: DemoResult = { kind: 'demo', train, evaluation: atZero, sweep, modelLowerThanBigram };
    printJson(result);
    return 0;
  }
  print(`${renderDemoVerdict(atZero)}\n`);
  print(renderSweep(sweep));
  print(`\nInspect the model with: ${inspectHint(train.checkpoint)}`);
  return 0;
}

export const demoCommand: Command = { spec, run };
