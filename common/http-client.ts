/**
 * The `WorkbenchApi` on the HTTP and WebSocket transport of `localist
 * serve`, which common/http-transport.ts describes. The page passes the
 * browser's `fetch` and `WebSocket`; tests pass Node's `fetch` and the `ws`
 * package. The module itself uses neither a DOM nor a Node API.
 */
import {
  EVENT_CHANNELS,
  isApiError,
  type ApiError,
  type EventName,
  type Events,
  type OperationName,
  type Operations,
  type Reply,
  type WorkbenchApi,
} from './api';
import { EVENTS_PATH, EVENTS_PROTOCOL, operationPath, TOKEN_PROTOCOL_PREFIX, type EventMessage } from './http-transport';

/** Delays between attempts to reconnect the events WebSocket, in milliseconds; the last one repeats. */
export const RECONNECT_DELAYS_MS = [500, 1000, 2000, 5000, 10_000];

/** The part of `fetch` that the client uses. */
export type FetchFunction = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string },
) => Promise<{ status: number; json(): Promise<unknown> }>;

/** Callbacks of the client for the events of its WebSocket. */
export interface EventSocketHandlers {
  open(): void;
  message(data: string): void;
  close(): void;
}

/** Opens a WebSocket to `url` offering `protocols`, and calls `handlers` on its events; returns the function that closes it. */
export type OpenEventSocket = (url: string, protocols: string[], handlers: EventSocketHandlers) => { close(): void };

export interface HttpApiOptions {
  /** Origin of `localist serve`, such as "http://127.0.0.1:41234". */
  origin: string;
  token: string;
  fetch: FetchFunction;
  openSocket: OpenEventSocket;
}

function unavailable(message: string, details: ApiError['details'] = {}): ApiError {
  return { code: 'unavailable', message, details };
}

/** Sends one operation to the server and resolves to its response, or rejects with an `ApiError`. */
async function callOperation<Name extends OperationName>(
  options: HttpApiOptions,
  name: Name,
  request: Operations[Name]['request'],
): Promise<Operations[Name]['response']> {
  let response: Awaited<ReturnType<FetchFunction>>;
  try {
    response = await options.fetch(`${options.origin}${operationPath(name)}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${options.token}`, 'Content-Type': 'application/json' },
      body: request === undefined ? undefined : JSON.stringify(request),
    });
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw unavailable(
      `operation "${name}" could not reach the workbench server at ${options.origin} (${reason}); check that "localist serve" is still running`,
      { operation: name },
    );
  }

  let reply: Reply<Operations[Name]['response']>;
  try {
    reply = (await response.json()) as Reply<Operations[Name]['response']>;
  } catch {
    throw unavailable(`operation "${name}" got a response that is not JSON (HTTP ${response.status}) from ${options.origin}`, {
      operation: name,
      status: response.status,
    });
  }
  if (reply.ok) return reply.value;
  if (isApiError(reply.error)) throw reply.error;
  throw unavailable(`operation "${name}" got a malformed reply (HTTP ${response.status}) from ${options.origin}`, { operation: name });
}

type Listener = (payload: never) => void;

/**
 * One WebSocket for all event listeners: opened with the first listener,
 * closed with the last, and opened again after a delay when it closes while
 * listeners remain.
 */
class EventConnection {
  private readonly listeners = new Map<EventName, Set<Listener>>();
  private socket: { close(): void } | null = null;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private failedAttempts = 0;

  constructor(private readonly options: HttpApiOptions) {}

  subscribe<Name extends EventName>(name: Name, listener: (payload: Events[Name]) => void): () => void {
    if (!Object.hasOwn(EVENT_CHANNELS, name)) {
      throw new TypeError(`there is no event "${String(name)}"; use one of ${Object.keys(EVENT_CHANNELS).join(', ')}`);
    }
    let set = this.listeners.get(name);
    if (!set) {
      set = new Set();
      this.listeners.set(name, set);
    }
    set.add(listener as Listener);
    this.connect();
    return () => {
      set.delete(listener as Listener);
      if (this.listenerCount() === 0) this.disconnect();
    };
  }

  private listenerCount(): number {
    let count = 0;
    for (const set of this.listeners.values()) count += set.size;
    return count;
  }

  private connect(): void {
    if (this.socket !== null || this.reconnectTimer !== null) return;
    const url = `${this.options.origin.replace(/^http/, 'ws')}${EVENTS_PATH}`;
    // The token travels as a subprotocol, which keeps it out of the URL.
    const protocols = [EVENTS_PROTOCOL, `${TOKEN_PROTOCOL_PREFIX}${this.options.token}`];
    const socket = this.options.openSocket(url, protocols, {
      open: () => {
        this.failedAttempts = 0;
      },
      message: (data) => this.deliver(data),
      close: () => {
        if (this.socket !== socket) return;
        this.socket = null;
        if (this.listenerCount() > 0) this.scheduleReconnect();
      },
    });
    this.socket = socket;
  }

  private scheduleReconnect(): void {
    const delay = RECONNECT_DELAYS_MS[Math.min(this.failedAttempts, RECONNECT_DELAYS_MS.length - 1)];
    this.failedAttempts += 1;
    if (this.failedAttempts === 1) console.warn(`events: the connection to ${this.options.origin} closed; reconnecting`);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.listenerCount() > 0) this.connect();
    }, delay);
  }

  private disconnect(): void {
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    const socket = this.socket;
    this.socket = null;
    socket?.close();
  }

  private deliver(data: string): void {
    let message: EventMessage;
    try {
      message = JSON.parse(data) as EventMessage;
    } catch {
      console.error('events: ignored a message that is not JSON');
      return;
    }
    const set = this.listeners.get(message.name);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        (listener as (payload: unknown) => void)(message.payload);
      } catch (error) {
        console.error(`events: a listener of "${message.name}" failed`, error);
      }
    }
  }
}

/** Builds the `WorkbenchApi` on the HTTP and WebSocket transport of `localist serve`. */
export function createHttpApi(options: HttpApiOptions): WorkbenchApi {
  const resolved: HttpApiOptions = { ...options, origin: options.origin.replace(/\/+$/, '') };
  const call = <Name extends OperationName>(name: Name, request: Operations[Name]['request']) => callOperation(resolved, name, request);
  const events = new EventConnection(resolved);

  return {
    appVersion: () => call('appVersion', undefined),
    status: () => call('status', undefined),
    recentProjects: () => call('recentProjects', undefined),
    openDemoProject: () => call('openDemoProject', undefined),
    createProject: (request) => call('createProject', request),
    openProject: (request) => call('openProject', request),
    startTraining: (request) => call('startTraining', request),
    cancelJob: (request) => call('cancelJob', request),
    inspect: (request) => call('inspect', request),
    referenceExamples: () => call('referenceExamples', undefined),
    pinReferenceExample: (request) => call('pinReferenceExample', request),
    unpinReferenceExample: (request) => call('unpinReferenceExample', request),
    subscribe: (name, listener) => events.subscribe(name, listener),
  };
}

/** Returns an API whose every operation rejects with `error` and that sends no events, for a page opened without a token. */
export function failingApi(error: ApiError): WorkbenchApi {
  const reject = () => Promise.reject(error);
  return {
    appVersion: reject,
    status: reject,
    recentProjects: reject,
    openDemoProject: reject,
    createProject: reject,
    openProject: reject,
    startTraining: reject,
    cancelJob: reject,
    inspect: reject,
    referenceExamples: reject,
    pinReferenceExample: reject,
    unpinReferenceExample: reject,
    subscribe: () => () => {},
  };
}
