/**
 * The transport-independent part of every operation call: parse the raw
 * request, run the service, and turn every failure into an `ApiError`
 * value. The IPC handlers and the `localist serve` HTTP server both call
 * `dispatchOperation`, so the two transports validate and report alike.
 */
import { isApiError, type ApiError, type OperationName, type Operations, type Reply } from '../common/api';
import { parseRequest } from '../common/requests';
import type { ServiceHandlers } from './services/types';

type Request<Name extends OperationName> = Operations[Name]['request'];
type Response<Name extends OperationName> = Operations[Name]['response'];

/** Destination of the transports' log lines: rejected senders and unexpected exceptions. */
export interface TransportLog {
  warn(line: string): void;
  error(line: string, cause?: unknown): void;
}

/** Writes to the console, which Electron's main process and the CLI both send to stderr. */
export const CONSOLE_LOG: TransportLog = {
  warn: (line) => console.warn(line),
  error: (line, cause) => (cause === undefined ? console.error(line) : console.error(line, cause)),
};

/**
 * Returns the `internal` ApiError of an exception that no service turned into an
 * ApiError, and logs it with its stack, because the caller sees only the message.
 */
export function internalError(operation: OperationName, cause: unknown, log: TransportLog): ApiError {
  log.error(`operation "${operation}" failed unexpectedly`, cause);
  const reason = cause instanceof Error ? cause.message : String(cause);
  return {
    code: 'internal',
    message: `operation "${operation}" failed unexpectedly: ${reason}; the workbench log has the details`,
    details: { operation },
  };
}

/**
 * Copies an ApiError into a plain object. A service may throw an Error
 * subclass that carries the ApiError fields, and both structured cloning
 * and JSON drop an Error's message or its extra fields.
 */
export function plainApiError(error: ApiError): ApiError {
  return { code: error.code, message: error.message, details: error.details };
}

/**
 * Parses `raw` as the request of `operation`, runs the service on it and
 * returns the reply. A parser's or service's ApiError passes through
 * unchanged; any other exception becomes an `internal` error and is logged.
 */
export async function dispatchOperation<Name extends OperationName>(
  operation: Name,
  raw: unknown,
  run: (request: Request<Name>) => Promise<Response<Name>>,
  log: TransportLog,
): Promise<Reply<Response<Name>>> {
  try {
    const request = parseRequest(operation, raw);
    return { ok: true, value: await run(request) };
  } catch (error) {
    if (isApiError(error)) return { ok: false, error: plainApiError(error) };
    return { ok: false, error: internalError(operation, error, log) };
  }
}

/** Runs `dispatchOperation` with the service of `operation` from a full set of handlers. */
export function dispatchToService<Name extends OperationName>(
  operation: Name,
  raw: unknown,
  handlers: ServiceHandlers,
  log: TransportLog,
): Promise<Reply<Response<Name>>> {
  const service: ServiceHandlers[Name] = handlers[operation];
  return dispatchOperation(operation, raw, (request) => service(request), log);
}
