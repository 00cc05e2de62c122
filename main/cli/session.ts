/**
 * Running engine jobs from the command line: progress on stderr and Ctrl-C
 * handling. The first SIGINT aborts the job's signal, so a training run
 * stops after its current step and saves a checkpoint. A second SIGINT exits
 * at once with code 130.
 */
import { runJob } from '../engine/host';
import type {
  EngineJob,
  EvaluateJob,
  EvaluateResult,
  GuaranteesJob,
  GuaranteesResult,
  InspectJob,
  InspectResult,
  JobResult,
  BlockRecruitJob,
  ModelRecruitJob,
  ModelRecruitProgressMessage,
  ModelRecruitResult,
  RecruitResult,
  RouteJob,
  RouteResult,
  TrainJob,
  TrainResult,
  WorkerMessage,
} from '../engine/jobs';
import { formatDuration, formatFixed, formatInteger, formatLambda, ProgressReporter } from './format';

export const EXIT_CANCELLED = 130;

/** Ctrl-C handling for one command; call `dispose` when the command ends. */
export class InterruptHandler {
  private readonly controller = new AbortController();
  private count = 0;
  private firstMessage: string;
  private readonly listener = () => this.onSignal();

  /** `firstMessage` is printed on the first Ctrl-C; `setMessage` changes it as the command proceeds. */
  constructor(firstMessage: string) {
    this.firstMessage = firstMessage;
    process.on('SIGINT', this.listener);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get interrupted(): boolean {
    return this.count > 0;
  }

  setMessage(message: string): void {
    this.firstMessage = message;
  }

  dispose(): void {
    process.off('SIGINT', this.listener);
  }

  private onSignal(): void {
    this.count += 1;
    if (this.count === 1) {
      process.stderr.write(`\n${this.firstMessage}\n`);
      this.controller.abort();
      return;
    }
    process.stderr.write('\nsecond Ctrl-C: exiting now\n');
    process.exit(EXIT_CANCELLED);
  }
}

/** Options of one job run; `label` names the job in progress lines, such as "train" or "lambda 0.4 model". */
export interface RunOptions {
  signal: AbortSignal;
  reporter: ProgressReporter;
  label?: string;
}

/** Share of the training stage in a recruitment task; measuring takes the rest. */
const TRAINING_SHARE = 0.8;

/**
 * Folds the progress of tasks that several workers run side by side into
 * one bar: the share of all tasks done, and what each worker is doing.
 */
class TaskProgress {
  private readonly shares = new Map<string, number>();
  private readonly activity = new Map<string, string>();

  update(message: ModelRecruitProgressMessage, reporter: ProgressReporter, label: string): void {
    const key = message.task.kind === 'baseline' ? 'baseline' : message.task.domain;
    const stageShare = message.total > 0 ? message.done / message.total : 1;
    const share = message.stage === 'training' ? TRAINING_SHARE * stageShare : TRAINING_SHARE + (1 - TRAINING_SHARE) * stageShare;
    this.shares.set(key, share);
    if (share >= 1) this.activity.delete(key);
    else this.activity.set(key, `${key} ${message.stage} ${message.done}/${message.total}`);
    let sum = 0;
    let done = 0;
    for (const value of this.shares.values()) {
      sum += value;
      if (value >= 1) done += 1;
    }
    reporter.update({
      label,
      done: Math.min(done, message.tasks),
      total: message.tasks,
      unit: 'tasks',
      share: Math.min(1, sum / message.tasks),
      details: [...this.activity.values()],
    });
  }
}

function handleMessage(message: WorkerMessage, reporter: ProgressReporter, label: string, tasks: TaskProgress): void {
  switch (message.type) {
    case 'recruit-model-progress':
      tasks.update(message, reporter, label);
      break;
    case 'progress':
      reporter.update({
        label,
        done: message.step,
        total: message.steps,
        unit: 'steps',
        share: message.share,
        details: [
          `loss ${formatFixed(message.loss, 3)} nats`,
          `${formatInteger(message.tokensPerSecond)} tokens/s`,
          `ETA ${formatDuration(message.etaSeconds)}`,
        ],
      });
      break;
    case 'evaluate-progress':
      reporter.update({
        label: `${label} lambda ${formatLambda(message.lambda)}`,
        done: message.done,
        total: message.total,
        unit: 'windows',
        details: [],
      });
      break;
    case 'guarantees-progress':
      reporter.update({
        label: `${label} ${message.stage === 'stationary' ? 'gradients' : 'rule rows'}`,
        done: message.done,
        total: message.total,
        unit: 'batches',
        details: [],
      });
      break;
    case 'recruit-progress':
      reporter.update({
        label: `${label} round ${message.round} ${message.candidate === null ? 'baseline' : `candidate ${message.candidate + 1}`}`,
        done: message.step,
        total: message.steps,
        unit: 'steps',
        details: [],
      });
      break;
    case 'recruit-record':
      reporter.note(
        `round ${message.record.round} ${message.record.blockId}: gain ${formatFixed(message.record.gain, 1)} nats, cost ${formatFixed(message.record.cost + message.record.repricing, 1)} nats, ${message.record.decision}`,
      );
      break;
    case 'checkpoint':
      reporter.note(`checkpoint saved at step ${message.step}: ${message.path}`);
      break;
    case 'log':
      reporter.note(message.message);
      break;
    default:
      break;
  }
}

async function runWithProgress(job: EngineJob, options: RunOptions, label: string): Promise<JobResult> {
  const tasks = new TaskProgress();
  try {
    return await runJob(job, {
      signal: options.signal,
      onMessage: (message) => handleMessage(message, options.reporter, label, tasks),
    });
  } finally {
    options.reporter.finish();
  }
}

export async function runTrainJob(job: TrainJob, options: RunOptions): Promise<TrainResult> {
  const result = await runWithProgress(job, options, options.label ?? 'train');
  return expectKind(result, 'train');
}

export async function runEvaluateJob(job: EvaluateJob, options: RunOptions): Promise<EvaluateResult> {
  const result = await runWithProgress(job, options, options.label ?? 'eval');
  return expectKind(result, 'evaluate');
}

export async function runInspectJob(job: InspectJob, options: RunOptions): Promise<InspectResult> {
  const result = await runWithProgress(job, options, options.label ?? 'inspect');
  return expectKind(result, 'inspect');
}

export async function runGuaranteesJob(job: GuaranteesJob, options: RunOptions): Promise<GuaranteesResult> {
  const result = await runWithProgress(job, options, options.label ?? 'guarantees');
  return expectKind(result, 'guarantees');
}

export async function runRecruitJob(job: BlockRecruitJob, options: RunOptions): Promise<RecruitResult> {
  const result = await runWithProgress(job, options, options.label ?? 'recruit');
  return expectKind(result, 'recruit');
}

export async function runModelRecruitJob(job: ModelRecruitJob, options: RunOptions): Promise<ModelRecruitResult> {
  const result = await runWithProgress(job, options, options.label ?? 'recruit models');
  return expectKind(result, 'recruit-models');
}

export async function runRouteJob(job: RouteJob, options: RunOptions): Promise<RouteResult> {
  const result = await runWithProgress(job, options, options.label ?? 'route');
  return expectKind(result, 'route');
}

function expectKind<K extends JobResult['kind']>(result: JobResult, kind: K): Extract<JobResult, { kind: K }> {
  if (result.kind !== kind) throw new Error(`engine returned a ${result.kind} result for a ${kind} job`);
  return result as Extract<JobResult, { kind: K }>;
}

/** Writes a value as indented JSON on stdout, the only stdout output of `--json`. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Writes text and a line break on stdout. */
export function print(text: string): void {
  process.stdout.write(`${text}\n`);
}
