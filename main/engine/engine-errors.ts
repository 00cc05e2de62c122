/** Conversion of errors raised in the engine into data that crosses threads. */
import { CheckpointError } from './checkpoint';
import { CorpusError } from './corpus';
import { ValidationError } from './errors';
import type { EngineErrorData } from './jobs';
import { ReplicaFailedError } from './replicas';
import { ModelSetError } from './model-set';

export class CancelledError extends Error {
  constructor(message = 'cancelled on request') {
    super(message);
    this.name = 'CancelledError';
  }
}

export function toEngineError(error: unknown): EngineErrorData {
  if (error instanceof ValidationError) {
    return { code: 'invalid-input', message: error.message, details: error.details };
  }
  if (error instanceof CorpusError) {
    return { code: error.code === 'not-found' ? 'not-found' : 'invalid-input', message: error.message, details: { path: error.path } };
  }
  if (error instanceof CheckpointError) {
    // A failed write (disk full, no permission) is a failure, not bad input.
    let code: EngineErrorData['code'] = 'invalid-checkpoint';
    if (error.code === 'not-found') code = 'not-found';
    if (error.code === 'write-failed') code = 'failed';
    return {
      code,
      message: error.message,
      details: { path: error.path, part: error.part },
    };
  }
  if (error instanceof CancelledError || (error instanceof DOMException && error.name === 'AbortError')) {
    return { code: 'cancelled', message: error.message };
  }
  if (error instanceof ModelSetError) return { code: 'invalid-input', message: error.message };
  if (error instanceof RangeError) return { code: 'invalid-input', message: error.message };
  if (error instanceof ReplicaFailedError) return { code: 'failed', message: error.message };
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'failed', message, details: error instanceof Error ? { stack: error.stack } : undefined };
}
