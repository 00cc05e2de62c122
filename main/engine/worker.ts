/**
 * Engine worker thread: runs one job (training, evaluation or inspection)
 * with TensorFlow.js and reports progress to the host. Training replicas
 * after the first are further workers of the same kind.
 */
import * as tf from '@tensorflow/tfjs';
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from './backend';
import { toEngineError } from './engine-errors';
import type { EngineJob, WorkerMessage } from './jobs';
import { runEvaluateJob, runInspectJob } from './inference-jobs';
import { markFailed } from './replicas';
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

async function main(): Promise<void> {
  const input = workerData as WorkerInput;
  const control = new Int32Array(input.control);
  try {
    const backend = await initBackend();
    const result =
      input.job.kind === 'train'
        ? await runTrainJob(input.job, input, backend, post)
        : input.job.kind === 'evaluate'
          ? await runEvaluateJob(input.job, control, backend, post)
          : await runInspectJob(input.job, backend);
    if (result) post({ type: 'result', result });
  } catch (error) {
    markFailed(control);
    post({ type: 'error', error: toEngineError(error) });
  } finally {
    tf.disposeVariables();
  }
}

void main();
