/**
 * Types shared by the services and the transports that expose them: the
 * Electron IPC handlers and the `localist serve` HTTP and WebSocket server.
 */
import type { Events, EventName, InspectRequest, InspectResponse, OperationName, Operations } from '../../common/api';

/** One async function per operation of the API contract, taking a validated request. */
export type ServiceHandlers = {
  readonly [Name in OperationName]: (request: Operations[Name]['request']) => Promise<Operations[Name]['response']>;
};

/** Destination of the services' events, which each transport forwards to its pages. */
export interface EventSink {
  emit<Name extends EventName>(name: Name, payload: Events[Name]): void;
}

/** Engine interface of the inspector: a long-lived worker that keeps a model loaded. */
export interface InspectEngine {
  /** Backend the engine worker runs on, and why it skipped faster ones; starts the worker when needed. */
  backend(): Promise<{ name: string; skipped: string[] }>;
  /** Runs a checkpoint's model on a text at the dial setting and at lambda 0. Loads the model once per checkpoint. */
  inspect(checkpoint: string, request: InspectRequest): Promise<InspectResponse>;
  /** Stops the worker. */
  dispose(): Promise<void>;
}
