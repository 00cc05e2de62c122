/**
 * Engine worker thread: runs one job (training, evaluation or inspection)
 * with TensorFlow.js and reports progress to the host. Training replicas
 * after the first are further workers of the same kind.
 */
import * as tf from '@tensorflow/tfjs';
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend, type BackendInfo } from './backend';
import { toEngineError } from './engine-errors';
import type { EngineJob, JobResult, WorkerMessage } from './jobs';
import { runEvaluateJob, runGuaranteesJob, runInspectJob } from './inference-jobs';
import { markFailed } from './replicas';
import { runRecruitJob } from './recruit-job';
import { finishModelRecruitment, runModelRecruitTasks, runRouteJob } from './recruit-model-job';
import { runTrainJob } from './train-job';

export interface WorkerInput {
  job: EngineJob;
  replica: number;
  /** Control words shared with the host and the other replicas. */
  control: SharedArrayBuffer;
  /** Gradient slots of the replicas, or null for a single worker. */
  gradients: SharedArrayBuffer | null;
  appVersion: string;
}

function post(message: WorkerMessage): void {
  parentPort?.postMessage(message);
}

function dispatch(input: WorkerInput, control: Int32Array, backend: BackendInfo): Promise<JobResult | null> {
  const job = input.job;
  switch (job.kind) {
    case 'train':
      return runTrainJob(job, input, backend, post);
    case 'evaluate':
      return runEvaluateJob(job, control, backend, post);
    case 'inspect':
      return runInspectJob(job, backend);
    case 'guarantees':
      return runGuaranteesJob(job, control, backend, post);
    case 'recruit':
      if (job.level === 'block') return runRecruitJob(job, input, control, backend, post);
      return job.measurements
        ? finishModelRecruitment(job, input, control, backend, post)
        : runModelRecruitTasks(job, input, control, backend, post);
    case 'route':
      return runRouteJob(job, backend);
  }
}

async function main(): Promise<void> {
  const input = workerData as WorkerInput;
  const control = new Int32Array(input.control);
  try {
    const backend = await initBackend();
    const result = await dispatch(input, control, backend);
    if (result) post({ type: 'result', result });
  } catch (error) {
    markFailed(control);
    post({ type: 'error', error: toEngineError(error) });
  } finally {
    tf.disposeVariables();
  }
}

void main();
