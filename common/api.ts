/**
 * The API contract between the renderer and the services behind it.
 *
 * Every operation's channel, request and response type is declared here once.
 * The IPC handlers in main, the preload bridge, the HTTP/WebSocket transport
 * and the renderer's client are all typed from this module. It imports no
 * Node, DOM or Electron module, so that every layer can load it.
 */

/** Any value that survives `JSON.stringify` and `JSON.parse` unchanged. */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | readonly JsonValue[]
  | { readonly [key: string]: JsonValue };

/** Request and response types of every operation, keyed by operation name. */
export interface Operations {
  /** Returns the workbench's version string from package.json, such as "0.1.0". */
  appVersion: { request: void; response: string };
}

export type OperationName = keyof Operations;

/**
 * IPC channel of each operation. Other modules read channel strings from
 * this table instead of repeating them.
 */
export const CHANNELS: { readonly [Name in OperationName]: string } = {
  appVersion: 'localist:app-version',
};

/**
 * Function that the bridge exposes for one operation: it takes no argument
 * when the request type is `void`, and resolves to the response.
 */
export type OperationFunction<Name extends OperationName> = Operations[Name]['request'] extends void
  ? () => Promise<Operations[Name]['response']>
  : (request: Operations[Name]['request']) => Promise<Operations[Name]['response']>;

/**
 * The object that the preload script exposes as `window.api`: one named
 * function per operation. A call rejects with an `ApiError` when the
 * operation fails.
 */
export type WorkbenchApi = { readonly [Name in OperationName]: OperationFunction<Name> };

/**
 * Closed list of error codes. The renderer branches on these, so a new kind
 * of failure gets a new code here, never a new message pattern.
 */
export const ERROR_CODES = [
  /** The request failed validation: a missing field or a value out of range. */
  'invalid-request',
  /** A named project, corpus, checkpoint or file does not exist. */
  'not-found',
  /** The caller aborted the operation before it finished. */
  'cancelled',
  /** The message came from a sender that is not the workbench's own page. */
  'forbidden',
  /** A service the operation needs, such as the engine worker, is not running. */
  'unavailable',
  /** A defect in the workbench: an exception that no handler expected. */
  'internal',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** Failure of an operation, as plain data that crosses process boundaries. */
export interface ApiError {
  code: ErrorCode;
  /** One sentence for the user: what failed, on which value, and what to do next. */
  message: string;
  /** Values that the renderer may show or act on, such as `{ path: "policy.pdf" }`. */
  details: { readonly [key: string]: JsonValue };
}

/**
 * Reply of an IPC handler. Electron keeps only the message of an error
 * thrown in a handler, so handlers return failures as values and the
 * preload script turns them back into a rejected `ApiError`.
 */
export type Reply<Response> = { ok: true; value: Response } | { ok: false; error: ApiError };

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}

/** Checks the shape of an `ApiError` received from another process. */
export function isApiError(value: unknown): value is ApiError {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Record<string, unknown>;
  return (
    isErrorCode(candidate.code) &&
    typeof candidate.message === 'string' &&
    typeof candidate.details === 'object' &&
    candidate.details !== null &&
    !Array.isArray(candidate.details)
  );
}
