import { isApiError, type ApiError } from '../../common/api';

/**
 * Converts whatever an API call rejected with into an `ApiError`. The
 * transports reject with an `ApiError`. Anything else is a defect in the
 * page or a transport, so it becomes an "internal" error with its message.
 */
export function toApiError(reason: unknown): ApiError {
  if (isApiError(reason)) return reason;
  if (reason instanceof Error) return { code: 'internal', message: reason.message, details: {} };
  return { code: 'internal', message: String(reason), details: {} };
}

/** Heading for an error code, in words a user reads before the message itself. */
export function errorTitle(error: ApiError): string {
  switch (error.code) {
    case 'invalid-request':
      return 'Invalid request';
    case 'not-found':
      return 'Not found';
    case 'cancelled':
      return 'Cancelled';
    case 'forbidden':
      return 'Not allowed';
    case 'unavailable':
      return 'Service unavailable';
    case 'internal':
      return 'Internal error';
  }
}
