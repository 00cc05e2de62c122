/**
 * Paths and names of the HTTP and WebSocket transport of `localist serve`,
 * shared by the server and the renderer's client.
 *
 * - `POST /api/<operation>` with the request as a JSON body (no body when the
 *   request type is `void`) and the header `Authorization: Bearer <token>`.
 *   The response body is a `Reply` in JSON, with an HTTP status that matches
 *   its error code.
 * - A WebSocket at `/events`, authorized by the `token` query parameter or
 *   by offering the subprotocols `EVENTS_PROTOCOL` and
 *   `TOKEN_PROTOCOL_PREFIX + token`. Every message is an `EventMessage` in JSON.
 * - The page learns the token from its URL fragment, `#token=<token>`, which
 *   browsers never send to the server.
 */
import type { EventName, Events, OperationName } from './api';

export const API_PATH_PREFIX = '/api/';
export const EVENTS_PATH = '/events';

/** Query parameter of the events WebSocket and key of the page's URL fragment that carry the token. */
export const TOKEN_PARAMETER = 'token';

/** Subprotocol that the server selects for the events WebSocket. */
export const EVENTS_PROTOCOL = 'localist-events';

/** Prefix of the subprotocol that carries the token, which keeps the token out of the WebSocket's URL. */
export const TOKEN_PROTOCOL_PREFIX = 'localist-token.';

/** Largest request body that the server reads, in bytes (1 MiB). */
export const MAX_REQUEST_BYTES = 1024 * 1024;

export type EventMessage = { [Name in EventName]: { name: Name; payload: Events[Name] } }[EventName];

export function operationPath(operation: OperationName): string {
  return `${API_PATH_PREFIX}${operation}`;
}
