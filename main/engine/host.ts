/**
 * The engine host: starts worker threads for a job, relays their progress,
 * forwards cancellation and returns the result. The CLI, the HTTP server and
 * Electron's main process all run jobs through `runJob`.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { EngineError, type EngineJob, type JobResult, type WorkerMessage } from './jobs';
import { toEngineError } from './engine-errors';
import { CONTROL_WORDS, markFailed, requestCancel } from './replicas';
import type { WorkerInput } from './worker';

export const APP_VERSION = '0.1.0';

export interface RunJobOptions {
  signal?: AbortSignal;
  onMessage?: (message: WorkerMessage) => void;
}

function workerEntry(name: string): { url: URL; typescript: boolean } {
  const compiled = new URL(`./${name}.js`, import.meta.url);
  if (existsSync(fileURLToPath(compiled))) return { url: compiled, typescript: false };
  return { url: new URL(`./${name}.ts`, import.meta.url), typescript: true };
}

/**
 * Starts a worker thread on the engine module `name` (such as "worker" or
 * "session-worker"), from its compiled `.js` file next to this module when
 * there is one, else from its TypeScript source.
 */
export function startEngineWorker(name: string, workerData: unknown): Worker {
  const entry = workerEntry(name);
  if (!entry.typescript) return new Worker(entry.url, { workerData });
  // Running from TypeScript sources (CLI through tsx, tests): register the
  // tsx loader inside the worker before importing the entry. tsx is resolved
  // here because an eval'd worker resolves bare names from the working folder.
  const bootstrap = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((api) => { api.register(); return import(${JSON.stringify(
    pathToFileURL(fileURLToPath(entry.url)).href,
  )}); });`;
  return new Worker(bootstrap, { eval: true, workerData });
}

function startWorker(input: WorkerInput): Worker {
  return startEngineWorker('worker', input);
}

/**
 * Runs a job in worker threads (one per training replica, or per model
 * recruitment worker) and resolves with its result. Rejects with an
 * `EngineError`; code `cancelled` after an abort.
 */
export async function runJob(job: EngineJob, options: RunJobOptions = {}): Promise<JobResult> {
  if (job.kind === 'recruit' && job.level === 'model' && !job.measurements) {
    // Workers take the tasks in turn; one more worker then decides and writes.
    const started = performance.now();
    // More workers than cores only add memory, because each loads the parent.
    const workers = Math.min(availableParallelism(), Math.max(1, Math.floor(job.workers)));
    const shards = await runWorkers({ ...job, workers }, workers, options);
    const measurements = shards.flatMap((shard) => (shard.kind === 'recruit-tasks' ? shard.measurements : []));
    const [final] = await runWorkers({ ...job, workers, measurements }, 1, options);
    // The last stage measures only its own time, so the result gets the whole job's here.
    return final.kind === 'recruit-models' ? { ...final, seconds: (performance.now() - started) / 1000 } : final;
  }
  const replicas = job.kind === 'train' ? Math.max(1, Math.floor(job.replicas)) : 1;
  const [result] = await runWorkers(job, replicas, options);
  return result;
}

/** Starts `count` workers on one job and resolves with their results, replica 0 first. */
function runWorkers(job: EngineJob, count: number, options: RunJobOptions): Promise<JobResult[]> {
  const control = new SharedArrayBuffer(CONTROL_WORDS * 4);
  const controlWords = new Int32Array(control);
  return new Promise<JobResult[]>((resolve, reject) => {
    const results: (JobResult | undefined)[] = new Array(count).fill(undefined);
    let failure: EngineError | undefined;
    let running = count;
    const workers: Worker[] = [];
    const onAbort = () => requestCancel(controlWords);
    if (options.signal?.aborted) {
      reject(new EngineError({ code: 'cancelled', message: 'cancelled before the job started' }));
      return;
    }
    options.signal?.addEventListener('abort', onAbort);

    const finish = () => {
      options.signal?.removeEventListener('abort', onAbort);
      if (failure) reject(failure);
      else if (results[0]) resolve(results.filter((result): result is JobResult => result !== undefined));
      else reject(new EngineError({ code: 'failed', message: 'engine worker stopped without a result' }));
    };

    const start = (gradients: SharedArrayBuffer | null) => {
      for (let replica = 0; replica < count; replica++) {
        const worker = startWorker({ job, replica, control, gradients, appVersion: APP_VERSION });
        workers.push(worker);
        worker.on('message', (message: WorkerMessage) => {
          if (message.type === 'result') results[replica] = message.result;
          else if (message.type === 'error') {
            // The first error is the cause. Workers that stop because of it report a follow-on error, which is dropped.
            if (!failure || failure.message.startsWith('another engine worker failed')) failure = new EngineError(message.error);
          } else options.onMessage?.(message);
        });
        worker.on('error', (error) => {
          markFailed(controlWords);
          failure ??= new EngineError({ code: 'failed', message: `engine worker crashed: ${error.message}` });
        });
        worker.on('exit', () => {
          running -= 1;
          if (running === 0) finish();
        });
      }
    };

    if (job.kind === 'train' && count > 1) {
      // Gradient slots are sized by the parameter count, which the first
      // replica reports after it has built the model.
      sizeGradientBuffer(job)
        // Each slot also carries the replica's loss and cross-entropy shares.
        .then((parameterCount) => start(new SharedArrayBuffer((parameterCount + 2) * 4 * count)))
        .catch((error: unknown) => {
          options.signal?.removeEventListener('abort', onAbort);
          reject(error instanceof EngineError ? error : new EngineError(toEngineError(error)));
        });
    } else {
      start(null);
    }
  });
}

/** Parameter count of the model a training job builds, read without tensors. */
async function sizeGradientBuffer(job: EngineJob): Promise<number> {
  if (job.kind !== 'train') return 0;
  const { parameterCountFor } = await import('./parameter-count');
  return parameterCountFor(job);
}
