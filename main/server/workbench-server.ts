/**
 * The HTTP and WebSocket transport of `localist serve`: the services of the
 * API contract at `POST /api/<operation>`, their events on a WebSocket at
 * `/events`, and the built renderer as static files at `/`. It listens on
 * 127.0.0.1 only, and every API request and WebSocket must carry the token
 * of this start; common/http-transport.ts describes the wire format.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, WebSocket } from 'ws';
import { CHANNELS, type ApiError, type ErrorCode, type OperationName, type Reply } from '../../common/api';
import {
  API_PATH_PREFIX,
  EVENTS_PATH,
  EVENTS_PROTOCOL,
  MAX_REQUEST_BYTES,
  TOKEN_PARAMETER,
  TOKEN_PROTOCOL_PREFIX,
  type EventMessage,
} from '../../common/http-transport';
import { CONSOLE_LOG, dispatchToService, type TransportLog } from '../dispatch';
import type { EventHub } from '../event-hub';
import type { ServiceHandlers } from '../services/types';
import { serveStaticFile } from './static-response';
import { generateToken, tokensEqual } from './token';

/** The only address the server listens on, so that no other machine can reach it. */
export const SERVER_HOST = '127.0.0.1';

/** HTTP status of a failed reply, by its error code. */
const ERROR_STATUS: { readonly [Code in ErrorCode]: number } = {
  'invalid-request': 400,
  'not-found': 404,
  cancelled: 409,
  forbidden: 403,
  unavailable: 503,
  internal: 500,
};

export interface WorkbenchServerOptions {
  handlers: ServiceHandlers;
  events: EventHub;
  /** Folder of the built renderer (out/renderer), or null to serve the API alone. */
  staticRoot: string | null;
  /** Port to listen on; 0 lets the system choose a free one. */
  port?: number;
  /** Token to require; a new random one when omitted. */
  token?: string;
  log?: TransportLog;
}

export interface WorkbenchServer {
  readonly port: number;
  readonly token: string;
  /** Address of the page with the token in its fragment, as printed for the user. */
  readonly pageUrl: string;
  /** Stops listening, closes every WebSocket and connection, and resolves when the server has closed. */
  close(): Promise<void>;
}

/** Logs at most one line per interval for a repeating event, with the number of repeats left out. */
class RepeatLimiter {
  private lastLoggedAt = -Infinity;
  private suppressed = 0;

  constructor(private readonly intervalMs: number) {}

  /** Returns the number of events suppressed since the last logged one, or null when this one is suppressed too. */
  take(now: number): number | null {
    if (now - this.lastLoggedAt < this.intervalMs) {
      this.suppressed += 1;
      return null;
    }
    const suppressed = this.suppressed;
    this.lastLoggedAt = now;
    this.suppressed = 0;
    return suppressed;
  }
}

function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(text)),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    ...headers,
  });
  response.end(text);
}

function sendError(response: ServerResponse, status: number, error: ApiError, headers: Record<string, string> = {}): void {
  const reply: Reply<never> = { ok: false, error };
  sendJson(response, status, reply, headers);
}

function isOperationName(name: string): name is OperationName {
  return Object.hasOwn(CHANNELS, name);
}

/** Returns the token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer +(\S+) *$/i.exec(header ?? '');
  return match?.[1];
}

/** Returns the token that a WebSocket upgrade carries in its query or its subprotocols, or undefined. */
export function upgradeToken(request: IncomingMessage): string | undefined {
  const url = new URL(request.url ?? '/', 'http://localhost');
  const fromQuery = url.searchParams.get(TOKEN_PARAMETER);
  if (fromQuery !== null) return fromQuery;
  const protocols = (request.headers['sec-websocket-protocol'] ?? '').split(',').map((protocol) => protocol.trim());
  const tokenProtocol = protocols.find((protocol) => protocol.startsWith(TOKEN_PROTOCOL_PREFIX));
  return tokenProtocol?.slice(TOKEN_PROTOCOL_PREFIX.length);
}

type BodyResult = { kind: 'body'; text: string } | { kind: 'too-large' } | { kind: 'aborted' };

/** Reads a request body of at most MAX_REQUEST_BYTES bytes; stops reading as soon as it grows past that. */
function readBody(request: IncomingMessage): Promise<BodyResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (result: BodyResult) => {
      if (settled) return;
      settled = true;
      resolve(result);
    };
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BYTES) {
        request.pause();
        settle({ kind: 'too-large' });
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => settle({ kind: 'body', text: Buffer.concat(chunks).toString('utf8') }));
    request.on('error', () => settle({ kind: 'aborted' }));
    request.on('close', () => settle({ kind: 'aborted' }));
  });
}

function tooLargeError(): ApiError {
  return {
    code: 'invalid-request',
    message: `the request body is larger than ${MAX_REQUEST_BYTES} bytes (1 MiB); send a shorter text`,
    details: { maxBytes: MAX_REQUEST_BYTES },
  };
}

/** Starts the server and resolves once it listens. */
export async function startWorkbenchServer(options: WorkbenchServerOptions): Promise<WorkbenchServer> {
  const token = options.token ?? generateToken();
  const log = options.log ?? CONSOLE_LOG;
  const rejections = new RepeatLimiter(10_000);

  function logRejection(what: string): void {
    const suppressed = rejections.take(Date.now());
    if (suppressed === null) return;
    const repeats = suppressed > 0 ? ` (${suppressed} more rejections since the last line)` : '';
    log.warn(`serve: rejected ${what} without a valid token${repeats}`);
  }

  async function handleApi(request: IncomingMessage, response: ServerResponse, path: string): Promise<void> {
    if (!tokensEqual(bearerToken(request.headers.authorization), token)) {
      logRejection(`${request.method} ${path}`);
      sendError(
        response,
        401,
        {
          code: 'forbidden',
          message: 'the request has no valid token; open the address that "localist serve" printed, with its #token=... part',
          details: {},
        },
        { 'WWW-Authenticate': 'Bearer' },
      );
      return;
    }

    const name = path.slice(API_PATH_PREFIX.length);
    if (!isOperationName(name)) {
      sendError(response, 404, {
        code: 'not-found',
        message: `there is no operation "${name}"; use one of ${Object.keys(CHANNELS).join(', ')}`,
        details: { operation: name },
      });
      return;
    }

    if (request.method !== 'POST') {
      sendError(
        response,
        405,
        { code: 'invalid-request', message: `operation "${name}" takes POST, not ${request.method}`, details: { operation: name } },
        { Allow: 'POST' },
      );
      return;
    }

    const declaredLength = Number(request.headers['content-length'] ?? 0);
    if (declaredLength > MAX_REQUEST_BYTES) {
      // The body is never read, so the connection cannot carry another request.
      sendError(response, 413, tooLargeError(), { Connection: 'close' });
      return;
    }
    const body = await readBody(request);
    if (body.kind === 'aborted') return;
    if (body.kind === 'too-large') {
      sendError(response, 413, tooLargeError(), { Connection: 'close' });
      return;
    }

    let raw: unknown = undefined;
    if (body.text.trim() !== '') {
      try {
        raw = JSON.parse(body.text);
      } catch (error) {
        sendError(response, 400, {
          code: 'invalid-request',
          message: `${name}: the request body is not valid JSON (${(error as Error).message}); send the request as a JSON object`,
          details: { operation: name },
        });
        return;
      }
    }

    const reply = await dispatchToService(name, raw, options.handlers, log);
    sendJson(response, reply.ok ? 200 : ERROR_STATUS[reply.error.code], reply);
  }

  async function handleRequest(request: IncomingMessage, response: ServerResponse): Promise<void> {
    // The raw target, not a parsed URL, because URL parsing would remove ".." segments before the static file check.
    const target = request.url ?? '/';
    const path = target.split('?')[0];
    if (path.startsWith(API_PATH_PREFIX)) {
      await handleApi(request, response, path);
      return;
    }
    if (path === EVENTS_PATH) {
      sendError(response, 426, { code: 'invalid-request', message: `${EVENTS_PATH} is a WebSocket; connect with a WebSocket client`, details: {} }, {
        Upgrade: 'websocket',
      });
      return;
    }
    await serveStaticFile(request, response, path, options.staticRoot);
  }

  const server: Server = createServer((request, response) => {
    handleRequest(request, response).catch((error: unknown) => {
      log.error(`serve: ${request.method} ${request.url} failed`, error);
      if (!response.headersSent) {
        sendError(response, 500, { code: 'internal', message: 'the server failed on this request; its log has the details', details: {} });
      } else {
        response.destroy();
      }
    });
  });

  const sockets = new WebSocketServer({
    noServer: true,
    maxPayload: 4096,
    // Selecting the events protocol, never the token protocol, keeps the token out of the response.
    handleProtocols: (protocols) => (protocols.has(EVENTS_PROTOCOL) ? EVENTS_PROTOCOL : false),
  });

  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (request.url ?? '/').split('?')[0];
    const refuse = (status: number, reason: string) => {
      socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (path !== EVENTS_PATH) {
      refuse(404, 'Not Found');
      return;
    }
    if (!tokensEqual(upgradeToken(request), token)) {
      logRejection(`a WebSocket to ${EVENTS_PATH}`);
      refuse(401, 'Unauthorized');
      return;
    }
    sockets.handleUpgrade(request, socket, head, (client) => {
      // Clients only listen; a message from one is ignored.
      client.on('error', (error) => log.warn(`serve: an events WebSocket failed: ${error.message}`));
    });
  });

  const unsubscribe = options.events.subscribe((name, payload) => {
    const message: EventMessage = { name, payload } as EventMessage;
    const text = JSON.stringify(message);
    for (const client of sockets.clients) {
      if (client.readyState === WebSocket.OPEN) client.send(text);
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, SERVER_HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  return {
    port,
    token,
    pageUrl: `http://${SERVER_HOST}:${port}/#${TOKEN_PARAMETER}=${token}`,
    close: async () => {
      unsubscribe();
      for (const client of sockets.clients) client.terminate();
      sockets.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
