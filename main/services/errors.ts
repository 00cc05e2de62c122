/**
 * Errors of the services and their conversion into the contract's `ApiError`,
 * the plain `{ code, message, details }` object that crosses process
 * boundaries.
 */
import { isApiError, type ApiError, type ErrorCode, type JsonValue } from '../../common/api';
import { toEngineError } from '../engine/engine-errors';
import { EngineError, type EngineErrorCode, type EngineErrorData } from '../engine/jobs';

type Details = { readonly [key: string]: JsonValue };

/**
 * Failure raised inside the services with a contract error code. Handlers
 * turn it into a plain `ApiError` object before it leaves them.
 */
export class ServiceError extends Error {
  readonly code: ErrorCode;
  readonly details: Details;

  constructor(code: ErrorCode, message: string, details: Details = {}) {
    super(message);
    this.name = 'ServiceError';
    this.code = code;
    this.details = details;
  }

  toApiError(): ApiError {
    return { code: this.code, message: this.message, details: this.details };
  }
}

/** Contract code of each engine error code. */
const ENGINE_CODES: { readonly [Code in EngineErrorCode]: ErrorCode } = {
  'invalid-input': 'invalid-request',
  'not-found': 'not-found',
  // A damaged or foreign checkpoint is bad input to the operation, not a defect of the workbench.
  'invalid-checkpoint': 'invalid-request',
  cancelled: 'cancelled',
  failed: 'internal',
};

function isEngineErrorCode(value: unknown): value is EngineErrorCode {
  return typeof value === 'string' && Object.hasOwn(ENGINE_CODES, value);
}

/** Returns `value` as JSON data, or undefined when it does not survive `JSON.stringify`. */
function toJson(value: unknown): JsonValue | undefined {
  if (value === undefined) return undefined;
  try {
    const text = JSON.stringify(value);
    return text === undefined ? undefined : (JSON.parse(text) as JsonValue);
  } catch {
    return undefined;
  }
}

/**
 * Converts an engine error into an `ApiError`. Accepts an `EngineError`, its
 * plain-data form, and any error that the engine's `toEngineError`
 * converts (checkpoint, corpus and validation errors). The engine code is kept in
 * `details.engineCode`; a stack trace is dropped because the page cannot act on it.
 */
export function apiErrorFromEngine(error: unknown): ApiError {
  if (error instanceof ServiceError) return error.toApiError();

  // An EngineError is checked before the ApiError shape, because the engine
  // codes "not-found" and "cancelled" are also contract codes.
  let data: EngineErrorData;
  if (error instanceof EngineError) data = { code: error.code, message: error.message, details: error.details };
  else if (isApiError(error)) return { code: error.code, message: error.message, details: error.details };
  else if (isEngineErrorData(error)) data = error;
  else data = toEngineError(error);

  const details: Record<string, JsonValue> = { engineCode: data.code };
  const engineDetails = toJson(data.details);
  if (Array.isArray(engineDetails)) details.issues = engineDetails;
  else if (engineDetails !== null && typeof engineDetails === 'object') {
    for (const [key, value] of Object.entries(engineDetails)) if (key !== 'stack') details[key] = value;
  } else if (engineDetails !== undefined) details.engineDetails = engineDetails;
  return { code: ENGINE_CODES[data.code], message: data.message, details };
}

function isEngineErrorData(value: unknown): value is EngineErrorData {
  if (typeof value !== 'object' || value === null || value instanceof Error) return false;
  const candidate = value as Record<string, unknown>;
  return isEngineErrorCode(candidate.code) && typeof candidate.message === 'string';
}

/**
 * Converts any failure inside a handler into an `ApiError`. Service errors
 * and `ApiError` objects keep their code; anything else is a defect and
 * becomes `internal`, naming the operation.
 */
export function toApiError(error: unknown, operation: string): ApiError {
  if (error instanceof ServiceError) return error.toApiError();
  if (isApiError(error)) return { code: error.code, message: error.message, details: error.details };
  const reason = error instanceof Error ? error.message : String(error);
  return {
    code: 'internal',
    message: `operation "${operation}" failed unexpectedly: ${reason}`,
    details: {},
  };
}
