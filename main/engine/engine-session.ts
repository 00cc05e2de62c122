/**
 * A long-lived engine worker for the workbench's inspector. The job host
 * (`runJob`) starts a worker per job and loads the checkpoint each time.
 * This session starts one worker on first use and keeps models loaded in
 * it, so that moving the locality dial costs forward passes only.
 *
 * It has the shape of `InspectEngine` in main/services/types.ts, which it
 * cannot import because main/engine/ imports no other part of main/.
 *
 * Requests run one at a time, in the order they were made. Inspect requests
 * wait in a queue while another request runs; a new inspect request
 * supersedes every queued, not yet started inspect request for the same
 * checkpoint, which then rejects with an `EngineError` of code `cancelled`
 * and `details.reason` "superseded". The running request always gets its
 * response. A superseded request never resolves with another request's
 * response, because that response is for another dial setting or text.
 * When the worker stops, the running and the waiting requests reject with
 * code `failed`, and the next request starts a new worker.
 */
import { resolve } from 'node:path';
import type { Worker } from 'node:worker_threads';
import type { InspectRequest, InspectResponse } from '../../common/api';
import { startEngineWorker } from './host';
import { validateInspectRequest } from './inspector-request';
import { toEngineError } from './engine-errors';
import { EngineError, type SessionOperationName, type SessionOperations, type SessionReply, type SessionRequest, type SessionStatistics } from './jobs';
import type { SessionWorkerInput } from './session-worker';

export interface EngineSessionOptions {
  /** Models the worker keeps loaded at once, least recently used dropped first (default 4). */
  maxModels?: number;
  /** Receives one line per worker start, worker stop and superseded request. */
  onLog?: (message: string) => void;
}

interface PendingRequest {
  message: SessionRequest;
  /** Absolute checkpoint path of an inspect request, for superseding. */
  checkpoint: string | null;
  resolve: (value: unknown) => void;
  reject: (error: EngineError) => void;
}

export class EngineSession {
  /** The running worker, or null before the first request and after it stopped. */
  protected worker: Worker | null = null;
  private readonly queue: PendingRequest[] = [];
  private running: PendingRequest | null = null;
  private nextId = 1;
  private disposed = false;
  private workerStarts = 0;
  /** Error the running worker raised before it stopped, for the rejection message. */
  private workerFailure: Error | null = null;
  private readonly maxModels: number;
  private readonly log: (message: string) => void;

  constructor(options: EngineSessionOptions = {}) {
    this.maxModels = options.maxModels ?? 4;
    if (!Number.isInteger(this.maxModels) || this.maxModels < 1) {
      throw new RangeError(`maxModels ${this.maxModels} is invalid; use a positive integer such as 4`);
    }
    this.log = options.onLog ?? (() => undefined);
  }

  /** Worker threads started so far; a restart after a crash adds one. */
  get startedWorkers(): number {
    return this.workerStarts;
  }

  /** Backend the engine worker runs on, and why it skipped faster ones; starts the worker when needed. */
  backend(): Promise<{ name: string; skipped: string[] }> {
    return this.request('backend', {});
  }

  /**
   * Runs a checkpoint's model on a text at the dial setting and at lambda 0.
   * Loads the model once per checkpoint, and again after the file changes.
   * Rejects with an `EngineError`: `invalid-input` for a bad request,
   * `not-found` or `invalid-checkpoint` for the checkpoint, `cancelled` when
   * a newer request for the same checkpoint superseded this one or the
   * session was disposed, and `failed` when the worker stopped.
   */
  inspect(checkpoint: string, request: InspectRequest): Promise<InspectResponse> {
    // Checked here as well as in the worker, so that an invalid request never supersedes a valid one.
    try {
      validateInspectRequest(request);
    } catch (error) {
      return Promise.reject(new EngineError(toEngineError(error)));
    }
    const absolute = resolve(checkpoint);
    for (const pending of this.queue.filter((queued) => queued.checkpoint === absolute)) {
      this.queue.splice(this.queue.indexOf(pending), 1);
      this.log(`inspect request ${pending.message.id} for "${absolute}" superseded by a newer one before it started`);
      pending.reject(
        new EngineError({
          code: 'cancelled',
          message: `inspect request for checkpoint "${absolute}" was superseded by a newer one before it started; only the latest request is processed`,
          details: { reason: 'superseded', checkpoint: absolute },
        }),
      );
    }
    return this.request('inspect', { checkpoint: absolute, request }, absolute);
  }

  /** Counters of the worker's model cache: loads, hashes and the models loaded now. */
  statistics(): Promise<SessionStatistics> {
    return this.request('statistics', {});
  }

  /** Stops the worker. Waiting and running requests reject with code `cancelled`, and later calls reject too. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    const error = new EngineError({ code: 'cancelled', message: 'engine session was disposed before the request completed' });
    this.rejectAll(error);
    const worker = this.worker;
    this.worker = null;
    if (worker) await worker.terminate();
  }

  private request<Name extends SessionOperationName>(
    type: Name,
    fields: SessionOperations[Name]['request'],
    checkpoint: string | null = null,
  ): Promise<SessionOperations[Name]['response']> {
    if (this.disposed) {
      return Promise.reject(new EngineError({ code: 'failed', message: 'engine session was disposed; create a new EngineSession' }));
    }
    return new Promise((resolvePromise, rejectPromise) => {
      const message = { id: this.nextId++, type, ...fields } as SessionRequest;
      this.queue.push({
        message,
        checkpoint,
        resolve: resolvePromise as (value: unknown) => void,
        reject: rejectPromise,
      });
      this.startNext();
    });
  }

  /** Sends the first waiting request when none is running, starting the worker if needed. */
  private startNext(): void {
    if (this.running || this.disposed) return;
    const next = this.queue.shift();
    if (!next) {
      // An idle worker does not keep the process alive.
      this.worker?.unref();
      return;
    }
    this.running = next;
    const worker = this.worker ?? this.startWorker();
    worker.ref();
    worker.postMessage(next.message);
  }

  private startWorker(): Worker {
    const input: SessionWorkerInput = { maxModels: this.maxModels };
    const worker = startEngineWorker('session-worker', input);
    this.worker = worker;
    this.workerFailure = null;
    this.workerStarts++;
    this.log(`engine session worker ${worker.threadId} started`);
    worker.on('message', (reply: SessionReply) => this.receive(worker, reply));
    worker.on('error', (error) => {
      if (worker === this.worker) this.workerFailure = error;
    });
    worker.on('exit', (code) => this.workerStopped(worker, code));
    return worker;
  }

  private receive(worker: Worker, reply: SessionReply): void {
    const running = this.running;
    if (worker !== this.worker || !running || running.message.id !== reply.id) {
      this.log(`engine session dropped a reply to request ${reply.id}, which is not the running request`);
      return;
    }
    this.running = null;
    if (reply.ok) running.resolve(reply.value);
    else running.reject(new EngineError(reply.error));
    this.startNext();
  }

  private workerStopped(worker: Worker, code: number): void {
    // A worker that was replaced or terminated by dispose has no request left.
    if (worker !== this.worker) return;
    this.worker = null;
    const cause = this.workerFailure ? `: ${this.workerFailure.message}` : '';
    this.log(`engine session worker ${worker.threadId} stopped with exit code ${code}${cause}`);
    this.rejectAll(
      new EngineError({
        code: 'failed',
        message: `engine worker stopped with exit code ${code}${cause} before it replied; the next request starts a new worker`,
        details: { exitCode: code },
      }),
    );
  }

  private rejectAll(error: EngineError): void {
    const pending = [...(this.running ? [this.running] : []), ...this.queue.splice(0)];
    this.running = null;
    for (const request of pending) request.reject(error);
  }
}
