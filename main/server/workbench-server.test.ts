import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { ApiError, Reply } from '../../common/api';
import { EVENTS_PROTOCOL, MAX_REQUEST_BYTES, TOKEN_PROTOCOL_PREFIX, type EventMessage } from '../../common/http-transport';
import type { TransportLog } from '../dispatch';
import { EventHub } from '../event-hub';
import { CONTENT_SECURITY_POLICY } from '../security-headers';
import { createFakeServices, FAKE_INSPECT_RESPONSE, type FakeServices } from '../testing/fake-services';
import { bearerToken, SERVER_HOST, startWorkbenchServer, type WorkbenchServer } from './workbench-server';

let folder: string;
let staticRoot: string;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'localist-serve-'));
  staticRoot = join(folder, 'renderer');
  await mkdir(join(staticRoot, 'assets'), { recursive: true });
  await writeFile(join(staticRoot, 'index.html'), '<!doctype html><title>Localist Workbench</title>');
  await writeFile(join(staticRoot, 'assets', 'app.js'), 'console.log("workbench");');
  await writeFile(join(folder, 'secret.txt'), 'outside the served folder');
  await symlink(join(folder, 'secret.txt'), join(staticRoot, 'link.txt'));
});

afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

const TOKEN = 'a'.repeat(64);

interface Running {
  server: WorkbenchServer;
  services: FakeServices;
  events: EventHub;
  log: string[];
  base: string;
}

let running: Running | undefined;

async function start(overrides: Parameters<typeof createFakeServices>[0] = {}): Promise<Running> {
  const services = createFakeServices(overrides);
  const events = new EventHub();
  const log: string[] = [];
  const transportLog: TransportLog = { warn: (line) => log.push(line), error: (line) => log.push(line) };
  const server = await startWorkbenchServer({ handlers: services.handlers, events, staticRoot, token: TOKEN, log: transportLog });
  running = { server, services, events, log, base: `http://${SERVER_HOST}:${server.port}` };
  return running;
}

afterEach(async () => {
  await running?.server.close();
  running = undefined;
});

async function post(base: string, operation: string, body: string | undefined, token: string | null = TOKEN): Promise<{ status: number; reply: Reply<unknown> }> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (token !== null) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(`${base}/api/${operation}`, { method: 'POST', headers, body });
  return { status: response.status, reply: (await response.json()) as Reply<unknown> };
}

function errorOf(reply: Reply<unknown>): ApiError {
  if (reply.ok) throw new Error(`expected a failed reply, got ${JSON.stringify(reply.value)}`);
  return reply.error;
}

/** Sends a GET with the path exactly as given, because fetch and URL would remove its ".." segments first. */
function rawGet(port: number, path: string): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: SERVER_HOST, port, path, method: 'GET' }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: response.headers }));
    });
    request.on('error', reject);
    request.end();
  });
}

/** Opens a WebSocket and resolves when it is open, or rejects with the HTTP status of a refused upgrade. */
function connect(url: string, protocols: string[] = []): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, protocols);
    socket.once('open', () => resolve(socket));
    socket.once('unexpected-response', (_request, response) => reject(new Error(`refused with ${response.statusCode}`)));
    socket.once('error', reject);
  });
}

function nextMessage(socket: WebSocket): Promise<EventMessage> {
  return new Promise((resolve) => socket.once('message', (data) => resolve(JSON.parse(String(data)) as EventMessage)));
}

describe('token', () => {
  it('is required', async () => {
    const { base, services } = await start();
    const { status, reply } = await post(base, 'status', undefined, null);
    expect(status).toBe(401);
    expect(errorOf(reply).code).toBe('forbidden');
    expect(services.calls).toEqual([]);
  });

  it('rejects a wrong token', async () => {
    const { base, services } = await start();
    const { status } = await post(base, 'status', undefined, 'b'.repeat(64));
    expect(status).toBe(401);
    expect(services.calls).toEqual([]);
  });

  it('rejects a prefix of the token', async () => {
    const { base } = await start();
    expect((await post(base, 'status', undefined, TOKEN.slice(0, 32))).status).toBe(401);
  });

  it('accepts the right token', async () => {
    const { base } = await start();
    const { status, reply } = await post(base, 'appVersion', undefined);
    expect(status).toBe(200);
    expect(reply).toEqual({ ok: true, value: '0.1.0' });
  });

  it('rejects an unknown operation without a token as unauthorized', async () => {
    const { base } = await start();
    expect((await post(base, 'deleteEverything', undefined, null)).status).toBe(401);
  });

  it('logs rejections without the token', async () => {
    const { base, log } = await start();
    await post(base, 'status', undefined, 'wrong');
    expect(log).toHaveLength(1);
    expect(log[0]).toContain('POST /api/status');
    expect(log[0]).not.toContain('wrong');
  });

  it('is 256 random bits by default', async () => {
    const first = await startWorkbenchServer({ handlers: createFakeServices().handlers, events: new EventHub(), staticRoot: null });
    const second = await startWorkbenchServer({ handlers: createFakeServices().handlers, events: new EventHub(), staticRoot: null });
    await first.close();
    await second.close();
    expect(first.token).toMatch(/^[0-9a-f]{64}$/);
    expect(first.token).not.toBe(second.token);
  });
});

describe('bearerToken', () => {
  it('reads the token of a Bearer header', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('bearer abc')).toBe('abc');
  });

  it('ignores other schemes and empty headers', () => {
    expect(bearerToken('Basic abc')).toBeUndefined();
    expect(bearerToken('Bearer')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });
});

describe('listening', () => {
  it('binds 127.0.0.1 only', async () => {
    const { server } = await start();
    expect(server.pageUrl).toBe(`http://127.0.0.1:${server.port}/#token=${TOKEN}`);
    const response = await fetch(`http://127.0.0.1:${server.port}/`);
    expect(response.status).toBe(200);
  });

  it('listens on the requested port', async () => {
    const probe = await startWorkbenchServer({ handlers: createFakeServices().handlers, events: new EventHub(), staticRoot: null });
    const port = probe.port;
    await probe.close();
    const server = await startWorkbenchServer({ handlers: createFakeServices().handlers, events: new EventHub(), staticRoot: null, port });
    await server.close();
    expect(server.port).toBe(port);
  });
});

describe('operations', () => {
  it('round-trips a request and response', async () => {
    const { base, services } = await start();
    const request = { text: 'the jury said', lambda: 0.8, selection: { layer: 0, head: 'mean' }, seed: 3, continuationTokens: 8 };
    const { status, reply } = await post(base, 'inspect', JSON.stringify(request));
    expect(status).toBe(200);
    expect(reply).toEqual({ ok: true, value: FAKE_INSPECT_RESPONSE });
    expect(services.calls).toEqual([{ operation: 'inspect', request }]);
  });

  it('returns no value for a void response', async () => {
    const { base } = await start();
    const { status, reply } = await post(base, 'cancelJob', JSON.stringify({ jobId: 'job-1' }));
    expect(status).toBe(200);
    expect(reply).toEqual({ ok: true });
  });

  it('answers an unknown operation with 404', async () => {
    const { base } = await start();
    const { status, reply } = await post(base, 'deleteEverything', undefined);
    expect(status).toBe(404);
    expect(errorOf(reply).code).toBe('not-found');
    expect(errorOf(reply).message).toContain('deleteEverything');
  });

  it('does not treat inherited names as operations', async () => {
    const { base } = await start();
    expect((await post(base, 'toString', undefined)).status).toBe(404);
    expect((await post(base, '__proto__', undefined)).status).toBe(404);
  });

  it('answers a malformed JSON body with 400', async () => {
    const { base } = await start();
    const { status, reply } = await post(base, 'openProject', '{"folder": ');
    expect(status).toBe(400);
    expect(errorOf(reply).code).toBe('invalid-request');
    expect(errorOf(reply).message).toContain('not valid JSON');
  });

  it('answers an invalid request with 400 and the field', async () => {
    const { base, services } = await start();
    const { status, reply } = await post(base, 'startTraining', JSON.stringify({ preset: 'full' }));
    expect(status).toBe(400);
    expect(errorOf(reply).details.field).toBe('preset');
    expect(services.calls).toEqual([]);
  });

  it('maps a service error code to its status', async () => {
    const notFound: ApiError = { code: 'not-found', message: 'no project in "/srv/x"', details: {} };
    const { base } = await start({ openProject: () => Promise.reject(notFound) });
    const { status, reply } = await post(base, 'openProject', JSON.stringify({ folder: '/srv/x' }));
    expect(status).toBe(404);
    expect(reply).toEqual({ ok: false, error: notFound });
  });

  it('answers an unexpected exception with 500 and logs it', async () => {
    const { base, log } = await start({ status: () => Promise.reject(new Error('database is locked')) });
    const { status, reply } = await post(base, 'status', undefined);
    expect(status).toBe(500);
    expect(errorOf(reply).code).toBe('internal');
    expect(log).toEqual(['operation "status" failed unexpectedly']);
  });

  it('answers a GET on an operation with 405', async () => {
    const { base } = await start();
    const response = await fetch(`${base}/api/status`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
  });

  it('answers a body over 1 MiB with 413', async () => {
    const { base, services } = await start();
    const text = 'x'.repeat(MAX_REQUEST_BYTES);
    const { status, reply } = await post(base, 'pinReferenceExample', JSON.stringify({ text }));
    expect(status).toBe(413);
    expect(errorOf(reply).code).toBe('invalid-request');
    expect(services.calls).toEqual([]);
  });

  it('answers a streamed body over 1 MiB with 413', async () => {
    const { server, services } = await start();
    const status = await new Promise<number>((resolve, reject) => {
      const request = httpRequest(
        {
          host: SERVER_HOST,
          port: server.port,
          path: '/api/pinReferenceExample',
          method: 'POST',
          headers: { Authorization: `Bearer ${TOKEN}`, 'Transfer-Encoding': 'chunked' },
        },
        (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        },
      );
      // The server may close the connection before the whole body is written.
      request.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' || error.code === 'EPIPE' ? undefined : reject(error)));
      const chunk = Buffer.alloc(64 * 1024, 'x');
      for (let written = 0; written <= MAX_REQUEST_BYTES; written += chunk.length) request.write(chunk);
      request.end();
    });
    expect(status).toBe(413);
    expect(services.calls).toEqual([]);
  });
});

describe('events WebSocket', () => {
  it('sends events to a client with the token in the query', async () => {
    const { server, events } = await start();
    const socket = await connect(`ws://${SERVER_HOST}:${server.port}/events?token=${TOKEN}`);
    const message = nextMessage(socket);
    events.emit('log', { level: 'info', message: 'training started', time: '2025-01-01T00:00:00.000Z' });
    expect(await message).toEqual({ name: 'log', payload: { level: 'info', message: 'training started', time: '2025-01-01T00:00:00.000Z' } });
    socket.close();
  });

  it('sends events to a client with the token as a subprotocol', async () => {
    const { server, events } = await start();
    const socket = await connect(`ws://${SERVER_HOST}:${server.port}/events`, [EVENTS_PROTOCOL, `${TOKEN_PROTOCOL_PREFIX}${TOKEN}`]);
    expect(socket.protocol).toBe(EVENTS_PROTOCOL);
    const message = nextMessage(socket);
    events.emit('training', { state: 'running', jobId: 'job-1', step: 3, steps: 20, share: 0.15, loss: 6.1, etaSeconds: 12 });
    expect(await message).toEqual({
      name: 'training',
      payload: { state: 'running', jobId: 'job-1', step: 3, steps: 20, share: 0.15, loss: 6.1, etaSeconds: 12 },
    });
    socket.close();
  });

  it('refuses a client without the token', async () => {
    const { server } = await start();
    await expect(connect(`ws://${SERVER_HOST}:${server.port}/events`)).rejects.toThrow('refused with 401');
  });

  it('refuses a client with a wrong token', async () => {
    const { server } = await start();
    await expect(connect(`ws://${SERVER_HOST}:${server.port}/events?token=${'b'.repeat(64)}`)).rejects.toThrow('refused with 401');
    await expect(
      connect(`ws://${SERVER_HOST}:${server.port}/events`, [EVENTS_PROTOCOL, `${TOKEN_PROTOCOL_PREFIX}wrong`]),
    ).rejects.toThrow('refused with 401');
  });

  it('refuses a WebSocket on another path', async () => {
    const { server } = await start();
    await expect(connect(`ws://${SERVER_HOST}:${server.port}/other?token=${TOKEN}`)).rejects.toThrow('refused with 404');
  });

  it('closes clients when the server closes', async () => {
    const { server } = await start();
    const socket = await connect(`ws://${SERVER_HOST}:${server.port}/events?token=${TOKEN}`);
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    await server.close();
    running = undefined;
    await closed;
  });
});

describe('static files', () => {
  it('serves index.html at / with the CSP header', async () => {
    const { base } = await start();
    const response = await fetch(`${base}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await response.text()).toContain('<title>Localist Workbench</title>');
  });

  it('serves assets without a token', async () => {
    const { base } = await start();
    const response = await fetch(`${base}/assets/app.js`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(response.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
  });

  it('answers a missing file with 404', async () => {
    const { base } = await start();
    expect((await fetch(`${base}/assets/missing.js`)).status).toBe(404);
  });

  const traversals = [
    '/../secret.txt',
    '/../../package.json',
    '/assets/../../secret.txt',
    '/%2e%2e/secret.txt',
    '/%2E%2E/secret.txt',
    '/..%2fsecret.txt',
    '/..%2Fsecret.txt',
    '/assets/..%5c..%5csecret.txt',
    '/%252e%252e/secret.txt',
    '/index.html%00.js',
    '/link.txt',
    '/%',
  ];

  for (const path of traversals) {
    it(`refuses ${path}`, async () => {
      const { server } = await start();
      const response = await rawGet(server.port, path);
      expect([400, 404]).toContain(response.status);
      expect(response.body).not.toContain('outside the served folder');
    });
  }

  it('refuses to answer POST on a page', async () => {
    const { base } = await start();
    expect((await fetch(`${base}/index.html`, { method: 'POST' })).status).toBe(405);
  });

  it('explains a missing build', async () => {
    const server = await startWorkbenchServer({ handlers: createFakeServices().handlers, events: new EventHub(), staticRoot: null, token: TOKEN });
    const response = await fetch(`http://${SERVER_HOST}:${server.port}/`);
    await server.close();
    expect(response.status).toBe(404);
    expect(await response.text()).toContain('npm run build');
  });
});
