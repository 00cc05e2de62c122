/** Validation of an inspector request against the model it runs on, before the request reaches the engine. */
import type { AttentionSelection, InspectRequest, ModelSummary } from '../../common/api';
import { ServiceError } from './errors';

/** Minimum and maximum tokens of each generated continuation. */
export const CONTINUATION_TOKENS_RANGE = { min: 1, max: 64 } as const;

function invalid(message: string, field: string): ServiceError {
  return new ServiceError('invalid-request', message, { field });
}

function checkIndex(value: unknown, count: number, noun: 'layer' | 'head'): number | 'mean' {
  if (value === 'mean') return value;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value >= count) {
    const plural = count === 1 ? `1 ${noun}` : `${count} ${noun}s`;
    throw invalid(
      `${noun} ${JSON.stringify(value) ?? 'undefined'} is out of range; the model has ${plural}, so pick 0 to ${count - 1} or "mean"`,
      `selection.${noun}`,
    );
  }
  return value;
}

/** Returns a copy of the request with every field checked; throws `invalid-request` naming the first bad field. */
export function validateInspectRequest(request: unknown, model: ModelSummary): InspectRequest {
  if (typeof request !== 'object' || request === null || Array.isArray(request)) {
    throw invalid(`inspect needs a request object, but received ${request === null ? 'null' : typeof request}`, 'request');
  }
  const { text, lambda, selection, seed, continuationTokens } = request as Record<string, unknown>;
  if (typeof text !== 'string' || text.trim() === '') {
    throw invalid('text to inspect is empty; type or pick a text first', 'text');
  }
  if (typeof lambda !== 'number' || !(lambda >= 0 && lambda <= 1)) {
    throw invalid(`lambda ${JSON.stringify(lambda) ?? 'undefined'} is outside [0, 1]; set the dial to a value from 0 to 1`, 'lambda');
  }
  if (typeof selection !== 'object' || selection === null) {
    throw invalid('attention selection is missing; pass { layer, head } with indices or "mean"', 'selection');
  }
  const { layer, head } = selection as Record<string, unknown>;
  const checkedSelection: AttentionSelection = {
    layer: checkIndex(layer, model.layers, 'layer'),
    head: checkIndex(head, model.heads, 'head'),
  };
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed)) {
    throw invalid(`seed ${JSON.stringify(seed) ?? 'undefined'} is not an integer; pass a whole number such as 1`, 'seed');
  }
  const { min, max } = CONTINUATION_TOKENS_RANGE;
  if (typeof continuationTokens !== 'number' || !Number.isInteger(continuationTokens) || continuationTokens < min || continuationTokens > max) {
    throw invalid(
      `continuation length ${JSON.stringify(continuationTokens) ?? 'undefined'} is invalid; pass a whole number of tokens from ${min} to ${max}`,
      'continuationTokens',
    );
  }
  return { text, lambda, selection: checkedSelection, seed, continuationTokens };
}
