/**
 * Worker thread of the persistent engine session (`EngineSession`). Unlike
 * the job worker, it stays up between requests and keeps models loaded. It
 * handles one request at a time, in arrival order, with a `SessionReply`
 * carrying the request's id.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from './backend';
import { ModelCache } from './engine-session-models';
import { toEngineError } from './engine-errors';
import { inspectText } from './inspector';
import type { SessionOperations, SessionReply, SessionRequest } from './jobs';

/** Settings the host passes as `workerData`. */
export interface SessionWorkerInput {
  /** Models kept loaded at once. */
  maxModels: number;
}

const input = workerData as SessionWorkerInput;
const models = new ModelCache(input.maxModels);
// A failed backend start is reported with every request rather than crashing the worker.
const backend = initBackend();
backend.catch(() => undefined);

async function answer(request: SessionRequest): Promise<SessionOperations[SessionRequest['type']]['response']> {
  const info = await backend;
  switch (request.type) {
    case 'backend':
      return { name: info.name, skipped: info.skipped };
    case 'statistics':
      return models.statistics();
    case 'inspect': {
      const started = performance.now();
      const { loaded, panes } = await models.get(request.checkpoint);
      const response = await inspectText(loaded, request.request, panes);
      // The engine's time includes finding, checking and, when needed, loading the model.
      return { ...response, elapsedMs: performance.now() - started };
    }
    default:
      throw new RangeError(`session request type ${JSON.stringify((request as { type: unknown }).type)} is unknown; this host and worker come from different versions`);
  }
}

let queue: Promise<void> = Promise.resolve();

parentPort?.on('message', (request: SessionRequest) => {
  queue = queue.then(async () => {
    let reply: SessionReply;
    try {
      reply = { id: request.id, ok: true, value: await answer(request) };
    } catch (error) {
      reply = { id: request.id, ok: false, error: toEngineError(error) };
    }
    parentPort?.postMessage(reply);
  });
});
