/**
 * Training of the open project's model. The trainer builds the engine's
 * training job from a preset and the project's current blocks and rules, and
 * runs it in worker threads through `runJob`. It records the run, its metrics
 * and its checkpoints in the project, and reports `training` and `log`
 * events. One job runs at a time.
 */
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { ApiError, TrainingState } from '../../common/api';
import { DEMO_STEPS, DEMO_TIME_BUDGET_SECONDS, QUICK_DEMO_STEPS } from '../cli/demo-settings';
import type { BlocksFileInput } from '../engine/blocks';
import { CHECKPOINT_EXTENSION } from '../engine/checkpoint';
import { DEFAULT_DATA_SPEC } from '../engine/data';
import { runJob } from '../engine/host';
import { createFolderSync } from './project-store';
import type { TrainJob, TrainProgress, TrainResult, WorkerMessage } from '../engine/jobs';
import type { RulesFileInput } from '../engine/rules';
import { defaultTrainConfig, type TrainConfig } from '../engine/trainer';
import { apiErrorFromEngine, ServiceError } from './errors';
import type { Project } from './project';
import type { EventSink } from './types';

export type TrainingPreset = 'demo' | 'quick';

/**
 * Length of each preset, as in `localist demo`: "demo" trains the full
 * demo's steps within its time budget, "quick" is the 20-step smoke run.
 */
export const TRAINING_PRESETS: { readonly [Preset in TrainingPreset]: { steps: number; timeBudgetSeconds: number | null } } = {
  demo: { steps: DEMO_STEPS, timeBudgetSeconds: DEMO_TIME_BUDGET_SECONDS },
  quick: { steps: QUICK_DEMO_STEPS, timeBudgetSeconds: null },
};

/** Data-parallel replicas when none is configured: 2 on a machine with at least 2 cores, as the CLI does. */
export function defaultReplicas(): number {
  return availableParallelism() >= 2 ? 2 : 1;
}

export function isTrainingPreset(value: unknown): value is TrainingPreset {
  return typeof value === 'string' && Object.hasOwn(TRAINING_PRESETS, value);
}

/** Returns the default training configuration with the preset's length, on the project's corpus. */
export function trainConfigFor(preset: TrainingPreset, corpus: string): TrainConfig {
  const { steps, timeBudgetSeconds } = TRAINING_PRESETS[preset];
  return defaultTrainConfig({ data: { ...DEFAULT_DATA_SPEC, corpus }, steps, timeBudgetSeconds });
}

/** Returns a job id that sorts by start time and names the checkpoint file, such as `train-20250102T030405Z-1a2b3c`. */
function newJobId(): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `train-${stamp}-${randomBytes(3).toString('hex')}`;
}

/** Callbacks through which the trainer reports to its owner, besides events. */
export interface TrainerHooks {
  /** Called with the backend a finished or cancelled run trained on. */
  onBackend(backend: { name: string; skipped: string[] }): void;
  /** Called after a run that wrote a checkpoint has been recorded. Errors it throws are logged as warnings. */
  onCheckpointRecorded(project: Project): Promise<void>;
}

interface RunningJob {
  id: string;
  project: Project;
  controller: AbortController;
  done: Promise<void>;
}

export class Trainer {
  private readonly events: EventSink;
  private readonly hooks: TrainerHooks;
  private readonly replicas: number;
  private job: RunningJob | null = null;
  private current: TrainingState = { state: 'idle' };

  constructor(options: { events: EventSink; hooks: TrainerHooks; replicas?: number }) {
    this.events = options.events;
    this.hooks = options.hooks;
    this.replicas = options.replicas ?? defaultReplicas();
  }

  /** State of the latest job of the open project, or idle. */
  get state(): TrainingState {
    return this.current;
  }

  /** Id and project of the running job, or null when none runs. */
  get running(): { id: string; project: Project } | null {
    return this.job ? { id: this.job.id, project: this.job.project } : null;
  }

  /** Forgets the last job's state, when another project is opened. Only valid while no job runs. */
  reset(): void {
    if (this.job) throw new ServiceError('internal', `training job "${this.job.id}" is running, so its state cannot be cleared`, { jobId: this.job.id });
    this.current = { state: 'idle' };
  }

  /** Starts training `project` and returns the job id at once; progress and the end arrive as events. */
  start(project: Project, preset: TrainingPreset): { jobId: string } {
    if (this.job) {
      throw new ServiceError(
        'invalid-request',
        `training job "${this.job.id}" is already running; wait for it to finish or cancel it before starting another`,
        { jobId: this.job.id },
      );
    }
    const summary = project.summary();
    const blocks = project.currentFile('blocks');
    const rules = project.currentFile('rules');
    const config = trainConfigFor(preset, summary.corpus);
    const id = newJobId();
    createFolderSync(project.checkpointsFolder);
    const job: TrainJob = {
      kind: 'train',
      start: {
        config,
        blocks: (blocks?.json ?? { version: 1, blocks: [] }) as BlocksFileInput,
        rules: (rules?.json ?? { version: 1, rules: [] }) as RulesFileInput,
      },
      checkpointPath: join(project.checkpointsFolder, `${id}${CHECKPOINT_EXTENSION}`),
      // More replicas than sequences per step would leave a replica without data.
      replicas: Math.min(this.replicas, config.batchSize),
    };
    project.startRun(id, {
      preset,
      replicas: job.replicas,
      blocksVersion: blocks?.version ?? null,
      rulesVersion: rules?.version ?? null,
      train: config,
    });

    // The job is registered before any event goes out, so that a listener that starts another job is rejected.
    const running: RunningJob = { id, project, controller: new AbortController(), done: Promise.resolve() };
    this.job = running;
    this.setState({ state: 'running', jobId: id, step: 0, steps: config.steps, share: 0, loss: null, etaSeconds: null });
    this.log('info', `training job ${id} started on project "${summary.name}": preset ${preset}, ${config.steps} steps, ${job.replicas} replica(s)`);
    running.done = this.run(running, job)
      .catch((error: unknown) => this.log('error', `training job ${id} ended with an unexpected error: ${(error as Error).message}`))
      .finally(() => {
        if (this.job === running) this.job = null;
      });
    return { jobId: id };
  }

  /** Asks the running job to stop; it saves a checkpoint at its last finished step, then reports "cancelled". */
  cancel(jobId: unknown): void {
    if (typeof jobId !== 'string' || jobId === '') {
      throw new ServiceError('invalid-request', `job id must be a non-empty string, but received ${JSON.stringify(jobId) ?? typeof jobId}`, {});
    }
    if (!this.job || this.job.id !== jobId) {
      const running = this.job ? `; the running job is "${this.job.id}"` : '; no job is running';
      throw new ServiceError('not-found', `job "${jobId}" is not running${running}`, { jobId });
    }
    if (this.job.controller.signal.aborted) return;
    this.log('info', `cancelling training job ${jobId}; it stops after the current step`);
    this.job.controller.abort();
  }

  /** Resolves when no job is running; never rejects. */
  async settled(): Promise<void> {
    await this.job?.done;
  }

  private async run(running: RunningJob, job: TrainJob): Promise<void> {
    const { id, project } = running;
    let result: TrainResult;
    try {
      const jobResult = await runJob(job, { signal: running.controller.signal, onMessage: (message) => this.onMessage(running, message) });
      if (jobResult.kind !== 'train') throw new Error(`training job returned a "${jobResult.kind}" result`);
      result = jobResult;
    } catch (error) {
      this.fail(running, apiErrorFromEngine(error));
      return;
    }

    this.hooks.onBackend({ name: result.backend, skipped: result.backendSkipped });
    try {
      if (result.sha256) project.recordCheckpoint({ path: result.checkpoint, sha256: result.sha256, runId: id, steps: result.steps });
      project.finishRun(id, { state: result.cancelled ? 'cancelled' : 'finished', backend: result.backend });
    } catch (error) {
      this.fail(running, apiErrorFromEngine(error));
      return;
    }
    if (result.sha256) {
      await this.hooks.onCheckpointRecorded(project).catch((error: unknown) => {
        this.log('warning', `training job ${id} saved ${result.checkpoint}, but reading it back failed: ${(error as Error).message}`);
      });
    }

    if (result.cancelled) {
      this.setState({ state: 'cancelled', jobId: id });
      this.log(
        'info',
        result.sha256
          ? `training job ${id} cancelled at step ${result.steps}; its checkpoint is ${result.checkpoint}`
          : `training job ${id} cancelled before its first step; no checkpoint was written`,
      );
      return;
    }
    this.setState({ state: 'finished', jobId: id, checkpoint: result.checkpoint });
    const reason = result.stoppedBy === 'time-budget' ? 'reached its time budget' : 'finished';
    this.log('info', `training job ${id} ${reason} at step ${result.steps} on ${result.backend}; checkpoint ${result.checkpoint}`);
  }

  private onMessage(running: RunningJob, message: WorkerMessage): void {
    // A failed database write must not stop the job, so each is logged and skipped.
    try {
      if (message.type === 'progress') this.onProgress(running, message);
      else if (message.type === 'checkpoint') {
        running.project.recordCheckpoint({ path: message.path, sha256: message.sha256, runId: running.id, steps: message.step });
        this.log('info', `training job ${running.id} saved a checkpoint at step ${message.step}`);
      } else if (message.type === 'log') {
        const warning = message.message.startsWith('warning: ');
        this.log(warning ? 'warning' : 'info', warning ? message.message.slice('warning: '.length) : message.message);
      }
    } catch (error) {
      this.log('warning', `training job ${running.id}: recording a "${message.type}" message failed: ${(error as Error).message}`);
    }
  }

  private onProgress(running: RunningJob, progress: TrainProgress): void {
    this.setState({
      state: 'running',
      jobId: running.id,
      step: progress.step,
      steps: progress.steps,
      share: progress.share,
      // JSON has no NaN or Infinity; the ETA is infinite before the rate is known.
      loss: Number.isFinite(progress.loss) ? progress.loss : null,
      etaSeconds: Number.isFinite(progress.etaSeconds) ? progress.etaSeconds : null,
    });
    running.project.recordMetrics(running.id, progress.step, {
      loss: progress.loss,
      crossEntropy: progress.crossEntropy,
      lambda: progress.lambda,
      gradientNorm: progress.gradientNorm,
      tokensPerSecond: progress.tokensPerSecond,
    });
  }

  private fail(running: RunningJob, error: ApiError): void {
    const cancelled = error.code === 'cancelled';
    try {
      running.project.finishRun(running.id, { state: cancelled ? 'cancelled' : 'failed', error: cancelled ? null : error.message });
    } catch (recordError) {
      this.log('warning', `training job ${running.id}: recording its end failed: ${(recordError as Error).message}`);
    }
    if (cancelled) {
      this.setState({ state: 'cancelled', jobId: running.id });
      this.log('info', `training job ${running.id} cancelled before it started; no checkpoint was written`);
      return;
    }
    this.setState({ state: 'failed', jobId: running.id, error });
    this.log('error', `training job ${running.id} failed: ${error.message}`);
  }

  private setState(state: TrainingState): void {
    this.current = state;
    this.events.emit('training', state);
  }

  private log(level: 'info' | 'warning' | 'error', message: string): void {
    this.events.emit('log', { level, message, time: new Date().toISOString() });
  }
}
