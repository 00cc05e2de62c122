/**
 * Validation of the inspector's requests. The services check requests too;
 * the engine checks again because it is also reached from other callers
 * (the CLI, tests, benchmarks), and only the engine has the model's layer
 * and head counts.
 */
import type { AttentionSelection, InspectRequest } from '../../common/api';
import { describeValue } from './errors';

/** Maximum text length the inspector accepts, in UTF-16 code units as `String.length` counts them. */
export const MAX_INSPECT_TEXT_LENGTH = 100_000;

/** Minimum and maximum tokens of each continuation. */
export const MIN_CONTINUATION_TOKENS = 1;
export const MAX_CONTINUATION_TOKENS = 64;

/**
 * Invalid inspect request. It extends `RangeError`, so `toEngineError`
 * turns it into an `invalid-input` error.
 */
export class InspectRequestError extends RangeError {
  /** Request field at fault, such as `lambda` or `selection.layer`. */
  readonly field: string;

  constructor(field: string, message: string) {
    super(message);
    this.name = 'InspectRequestError';
    this.field = field;
  }
}

/** Layer and head counts of the model a request is checked against. */
export interface AttentionShape {
  layers: number;
  heads: number;
}

/**
 * Checks an inspect request and throws an `InspectRequestError` that names
 * the first invalid field, its value and the fix. Without `shape` the layer
 * and head indices are checked to be non-negative integers or "mean" only;
 * with it they must also exist in the model.
 */
export function validateInspectRequest(request: unknown, shape?: AttentionShape): asserts request is InspectRequest {
  if (typeof request !== 'object' || request === null || Array.isArray(request)) {
    throw new InspectRequestError('request', `inspect request ${describeValue(request)} is not an object; send { text, lambda, selection, seed, continuationTokens }`);
  }
  const fields = request as Record<string, unknown>;
  for (const [field, fix] of [
    ['text', 'send the text to inspect'],
    ['lambda', 'set the locality dial to a number from 0 to 1'],
    ['selection', 'send { layer, head } with an index from 0 or "mean" for each'],
    ['seed', 'use a whole number such as 1'],
    ['continuationTokens', `use an integer from ${MIN_CONTINUATION_TOKENS} to ${MAX_CONTINUATION_TOKENS}`],
  ]) {
    if (fields[field] === undefined) throw new InspectRequestError(field, `${field} is missing; ${fix}`);
  }

  const text = fields.text;
  if (typeof text !== 'string') {
    throw new InspectRequestError('text', `text ${describeValue(text)} is not a string; send the text to inspect as a string`);
  }
  if (text.trim().length === 0) {
    throw new InspectRequestError('text', 'text is empty; type some text to inspect');
  }
  if (text.length > MAX_INSPECT_TEXT_LENGTH) {
    throw new InspectRequestError(
      'text',
      `text has ${text.length} characters, more than the ${MAX_INSPECT_TEXT_LENGTH} the inspector accepts; shorten it (the model reads only its last context window)`,
    );
  }

  const lambda = fields.lambda;
  if (typeof lambda !== 'number' || !(lambda >= 0 && lambda <= 1)) {
    throw new InspectRequestError('lambda', `lambda ${describeValue(lambda)} is outside [0, 1]; set the locality dial to a number from 0 to 1`);
  }

  validateSelection(fields.selection, shape);

  const seed = fields.seed;
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed)) {
    throw new InspectRequestError('seed', `seed ${describeValue(seed)} is not an integer; use a whole number such as 1`);
  }

  const count = fields.continuationTokens;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < MIN_CONTINUATION_TOKENS || count > MAX_CONTINUATION_TOKENS) {
    throw new InspectRequestError(
      'continuationTokens',
      `continuationTokens ${describeValue(count)} is invalid; use an integer from ${MIN_CONTINUATION_TOKENS} to ${MAX_CONTINUATION_TOKENS}`,
    );
  }
}

function validateSelection(selection: unknown, shape: AttentionShape | undefined): asserts selection is AttentionSelection {
  if (typeof selection !== 'object' || selection === null || Array.isArray(selection)) {
    throw new InspectRequestError(
      'selection',
      `selection ${describeValue(selection)} is not an object; send { layer, head } with an index from 0 or "mean" for each`,
    );
  }
  const { layer, head } = selection as Record<string, unknown>;
  validateIndex('layer', layer, shape?.layers);
  validateIndex('head', head, shape?.heads);
}

function validateIndex(name: 'layer' | 'head', value: unknown, count: number | undefined): void {
  if (value === 'mean') return;
  const plural = `${name}s`;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new InspectRequestError(`selection.${name}`, `${name} ${describeValue(value)} is invalid; use a ${name} index from 0, or "mean" to average over ${plural}`);
  }
  if (count !== undefined && value >= count) {
    throw new InspectRequestError(
      `selection.${name}`,
      `${name} ${value} is out of range for a model with ${count} ${plural}; use a ${name} from 0 to ${count - 1}, or "mean"`,
    );
  }
}
