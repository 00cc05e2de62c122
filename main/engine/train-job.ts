/**
 * The training job as one replica runs it: prepare or resume the run, then
 * step until done or cancelled, averaging gradients across replicas and
 * writing checkpoints from replica 0.
 */
import * as tf from '@tensorflow/tfjs';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { BackendInfo } from './backend';
import type { JobResult, TrainJob, TrainResult, WorkerMessage } from './jobs';
import { ReplicaGroup } from './replicas';
import { findRuleOverlaps } from './rules';
import {
  applyGradients,
  computeGradients,
  createRun,
  disposeRun,
  resumeRun,
  saveRun,
  type RunState,
} from './trainer';
import type { WorkerInput } from './worker';

/** Values a replica shares each step after its gradients: its loss share and cross-entropy share. */
const EXTRA_VALUES = 2;

function flatten(grads: Record<string, tf.Tensor>, names: string[], size: number): Float32Array {
  const flat = new Float32Array(size + EXTRA_VALUES);
  let offset = 0;
  for (const name of names) {
    const values = grads[name].dataSync() as Float32Array;
    flat.set(values, offset);
    offset += values.length;
  }
  return flat;
}

function unflatten(flat: Float32Array, run: RunState, names: string[]): Record<string, tf.Tensor> {
  const grads: Record<string, tf.Tensor> = {};
  let offset = 0;
  for (const name of names) {
    const variable = run.model.param(name);
    grads[name] = tf.tensor(flat.subarray(offset, offset + variable.size), variable.shape);
    offset += variable.size;
  }
  return grads;
}

/** Rejects a checkpoint path whose folder is missing or not writable, before any training. */
async function checkWritableFolder(path: string): Promise<void> {
  const folder = dirname(path);
  try {
    await access(folder, constants.W_OK);
    if (!(await stat(folder)).isDirectory()) throw Object.assign(new Error('not a folder'), { code: 'ENOTDIR' });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new RangeError(`checkpoint folder "${folder}" cannot be written (${code}); choose another checkpoint path`);
  }
}

export async function runTrainJob(
  job: TrainJob,
  input: WorkerInput,
  backend: BackendInfo,
  post: (message: WorkerMessage) => void,
): Promise<JobResult | null> {
  await checkWritableFolder(job.checkpointPath);
  const run =
    'resume' in job.start
      ? await resumeRun(job.start.resume, job.start.steps)
      : await createRun(job.start.config, job.start.blocks, job.start.rules);
  const replicas = Math.max(1, job.replicas);
  const isLeader = input.replica === 0;
  // A specialist trains only its adapters, so only their gradients are shared.
  const names = [...(run.trainable ?? run.model.params.keys())];
  const parameterCount = names.reduce((total, name) => total + run.model.param(name).size, 0);
  const control = new Int32Array(input.control);
  if (replicas > 1 && !input.gradients) throw new Error('data-parallel training needs a shared gradient buffer');
  const group = new ReplicaGroup(
    control,
    input.gradients ?? new SharedArrayBuffer((parameterCount + EXTRA_VALUES) * 4),
    input.replica,
    replicas,
    parameterCount + EXTRA_VALUES,
  );
  if (isLeader) {
    for (const overlap of findRuleOverlaps(run.compiled)) {
      const words = overlap.sharedTriggerTokens.slice(0, 5).join(', ');
      post({
        type: 'log',
        message: `warning: rules "${overlap.first}" and "${overlap.second}" can be active on the same rows (shared trigger words: ${words}); there the dial uses the union of their targets and the larger strength`,
      });
    }
    const resumed = 'resume' in job.start ? `, resumed at step ${run.step}` : '';
    post({
      type: 'log',
      message: `training on ${backend.name} with ${replicas} replica(s), ${parameterCount} parameters, ${run.data.streams.train.length} training tokens${resumed}`,
    });
  }

  const tokensPerStep = run.config.batchSize * run.config.model.contextLength;
  const started = performance.now();
  const elapsedBefore = run.elapsedSeconds;
  const stepAtStart = run.step;
  let stoppedBy: TrainResult['stoppedBy'] = 'steps';
  let progress: number | undefined;
  let finalLoss: number | null = null;
  let lastSave: { path: string; sha256: string } | null = null;
  // Step end times of the last RATE_WINDOW steps, for a rate that the slow
  // first steps (kernel warm-up) do not drag down.
  const RATE_WINDOW = 20;
  const stepEnds: number[] = [performance.now()];
  const save = async () => {
    const summary = await saveRun(run, job.checkpointPath, backend.name, input.appVersion);
    lastSave = { path: summary.path, sha256: summary.sha256 };
    post({ type: 'checkpoint', path: summary.path, step: run.step, sha256: summary.sha256 });
  };

  try {
    while (run.step < run.config.steps) {
      const budget = run.config.timeBudgetSeconds;
      // Training time of the whole run, resumed legs included.
      const elapsed = elapsedBefore + (performance.now() - started) / 1000;
      const agreed = group.agree(budget !== null && elapsed >= budget, budget !== null ? elapsed / budget : 0);
      if (agreed.stop) {
        stoppedBy = agreed.stop;
        break;
      }
      progress = budget !== null ? agreed.progress : undefined;
      const { report, grads } = computeGradients(run, input.replica, replicas);
      let averaged = grads;
      if (replicas > 1) {
        const local = flatten(grads, names, parameterCount);
        local[parameterCount] = report.loss;
        local[parameterCount + 1] = report.crossEntropy;
        const sum = group.allReduceSum(local);
        tf.dispose(Object.values(grads));
        averaged = unflatten(sum, run, names);
        report.loss = sum[parameterCount];
        report.crossEntropy = sum[parameterCount + 1];
      }
      if (!Number.isFinite(report.loss)) {
        tf.dispose(Object.values(averaged));
        const restart = lastSave ? 'resume from the last checkpoint' : 'train again';
        throw new Error(
          `training diverged at step ${run.step} (loss ${report.loss}); lower the learning rate (now ${run.config.optimizer.learningRate}) or the rule strengths, and ${restart}`,
        );
      }
      const gradientNorm = applyGradients(run, averaged, tokensPerStep, progress);
      run.elapsedSeconds = elapsedBefore + (performance.now() - started) / 1000;
      finalLoss = report.loss;
      if (isLeader) {
        stepEnds.push(performance.now());
        if (stepEnds.length > RATE_WINDOW + 1) stepEnds.shift();
        const windowSeconds = (stepEnds[stepEnds.length - 1] - stepEnds[0]) / 1000;
        const rate = ((stepEnds.length - 1) * tokensPerStep) / Math.max(1e-9, windowSeconds);
        post({
          type: 'progress',
          step: run.step,
          steps: run.config.steps,
          loss: report.loss,
          crossEntropy: report.crossEntropy,
          lambda: report.lambda,
          gradientNorm,
          tokensPerSecond: rate,
          etaSeconds: Math.min(
            ((run.config.steps - run.step) * tokensPerStep) / Math.max(rate, 1e-9),
            run.config.timeBudgetSeconds === null ? Infinity : Math.max(0, run.config.timeBudgetSeconds - run.elapsedSeconds),
          ),
          elapsedSeconds: run.elapsedSeconds,
          share: Math.min(
            1,
            Math.max(
              run.step / run.config.steps,
              run.config.timeBudgetSeconds === null ? 0 : run.elapsedSeconds / run.config.timeBudgetSeconds,
            ),
          ),
        });
        if (run.step % run.config.checkpointEvery === 0 && run.step < run.config.steps) await save();
      }
    }
    // A run cancelled before its first step has nothing new to save, and
    // saving would replace an existing file at the path with an untrained model.
    if (isLeader && run.step > stepAtStart) await save();
  } finally {
    disposeRun(run);
  }
  if (!isLeader) return null;
  const saved = lastSave as { path: string; sha256: string } | null;
  // NOTE: a run cancelled before its first step writes no checkpoint; `checkpoint` then names the path and `sha256` is empty.
  return {
    kind: 'train',
    backend: backend.name,
    backendSkipped: backend.skipped,
    parameterCount,
    steps: run.step,
    tokensSeen: run.tokensSeen,
    elapsedSeconds: run.elapsedSeconds,
    checkpoint: saved?.path ?? job.checkpointPath,
    sha256: saved?.sha256 ?? '',
    cancelled: stoppedBy === 'cancelled',
    stoppedBy,
    finalLoss,
  };
}
