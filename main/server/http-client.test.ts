import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { Events, WorkbenchApi } from '../../common/api';
import { createHttpApi, failingApi, type OpenEventSocket } from '../../common/http-client';
import { EventHub } from '../event-hub';
import { createFakeServices, FAKE_INSPECT_RESPONSE, FAKE_STATUS } from '../testing/fake-services';
import { SERVER_HOST, startWorkbenchServer, type WorkbenchServer } from './workbench-server';

const TOKEN = 'c'.repeat(64);

const openNodeSocket: OpenEventSocket = (url, protocols, handlers) => {
  const socket = new WebSocket(url, protocols);
  socket.on('open', () => handlers.open());
  socket.on('message', (data) => handlers.message(String(data)));
  socket.on('close', () => handlers.close());
  // A refused upgrade also emits 'close', after which the client reconnects.
  socket.on('error', () => {});
  return socket;
};

const SILENT = { warn: () => {}, error: () => {} };

let server: WorkbenchServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function startWithClient(token = TOKEN): Promise<{ api: WorkbenchApi; events: EventHub; calls: ReturnType<typeof createFakeServices>['calls'] }> {
  const services = createFakeServices();
  const events = new EventHub();
  server = await startWorkbenchServer({ handlers: services.handlers, events, staticRoot: null, token: TOKEN, log: SILENT });
  const api = createHttpApi({ origin: `http://${SERVER_HOST}:${server.port}/`, token, fetch, openSocket: openNodeSocket });
  return { api, events, calls: services.calls };
}

function nextEvent<Name extends keyof Events>(api: WorkbenchApi, name: Name): { received: Promise<Events[Name]>; stop: () => void } {
  let stop = () => {};
  const received = new Promise<Events[Name]>((resolve) => {
    stop = api.subscribe(name, resolve);
  });
  return { received, stop };
}

/** Emits `payload` every 50 ms until `done` settles, because the WebSocket opens some time after `subscribe`. */
async function emitUntil<Name extends keyof Events>(events: EventHub, name: Name, payload: Events[Name], done: Promise<unknown>): Promise<void> {
  let settled = false;
  void done.finally(() => (settled = true));
  while (!settled) {
    events.emit(name, payload);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('createHttpApi against localist serve', () => {
  it('calls an operation without a request', async () => {
    const { api } = await startWithClient();
    expect(await api.status()).toEqual(FAKE_STATUS);
  });

  it('sends the request of an operation', async () => {
    const { api, calls } = await startWithClient();
    const request = { text: 'the jury said', lambda: 0.25, selection: { layer: 'mean' as const, head: 1 }, seed: 9, continuationTokens: 2 };
    expect(await api.inspect(request)).toEqual(FAKE_INSPECT_RESPONSE);
    expect(calls).toEqual([{ operation: 'inspect', request }]);
  });

  it('resolves a void response to undefined', async () => {
    const { api } = await startWithClient();
    expect(await api.cancelJob({ jobId: 'job-1' })).toBeUndefined();
  });

  it('rejects with the server ApiError', async () => {
    const { api } = await startWithClient();
    await expect(api.inspect({ text: '', lambda: 0, selection: { layer: 0, head: 0 }, seed: 0, continuationTokens: 1 })).rejects.toMatchObject({
      code: 'invalid-request',
      details: { field: 'text' },
    });
  });

  it('rejects with forbidden for a wrong token', async () => {
    const { api } = await startWithClient('d'.repeat(64));
    await expect(api.status()).rejects.toMatchObject({ code: 'forbidden' });
  });

  it('rejects with unavailable when the server is gone', async () => {
    const { api } = await startWithClient();
    await server?.close();
    server = undefined;
    await expect(api.status()).rejects.toMatchObject({ code: 'unavailable' });
  });

  it('receives events', async () => {
    const { api, events } = await startWithClient();
    const { received, stop } = nextEvent(api, 'training');
    await emitUntil(events, 'training', { state: 'cancelled', jobId: 'job-1' }, received);
    expect(await received).toEqual({ state: 'cancelled', jobId: 'job-1' });
    stop();
  });

  it('delivers each event to its own listeners only', async () => {
    const { api, events } = await startWithClient();
    const training: unknown[] = [];
    const stopTraining = api.subscribe('training', (payload) => training.push(payload));
    const log = nextEvent(api, 'log');
    const line = { level: 'warning' as const, message: 'slow backend', time: '2025-01-01T00:00:00.000Z' };
    await emitUntil(events, 'log', line, log.received);
    expect(await log.received).toEqual(line);
    expect(training).toEqual([]);
    stopTraining();
    log.stop();
  });

  it('reconnects after the server restarts', async () => {
    const { api, events } = await startWithClient();
    const first = nextEvent(api, 'training');
    await emitUntil(events, 'training', { state: 'idle' }, first.received);
    const port = server!.port;
    await server!.close();

    const restartedEvents = new EventHub();
    server = await startWorkbenchServer({ handlers: createFakeServices().handlers, events: restartedEvents, staticRoot: null, token: TOKEN, port, log: SILENT });
    const second = nextEvent(api, 'log');
    const line = { level: 'info' as const, message: 'back again', time: '2025-01-01T00:00:00.000Z' };
    await emitUntil(restartedEvents, 'log', line, second.received);
    expect(await second.received).toEqual(line);
    first.stop();
    second.stop();
  });

  it('rejects an event name outside the contract', async () => {
    const { api } = await startWithClient();
    const subscribeAny = api.subscribe as unknown as (name: string, listener: () => void) => () => void;
    expect(() => subscribeAny('status', () => {})).toThrow('there is no event "status"');
  });
});

describe('failingApi', () => {
  it('rejects every operation with its error', async () => {
    const error = { code: 'forbidden' as const, message: 'no token', details: {} };
    const api = failingApi(error);
    await expect(api.status()).rejects.toEqual(error);
    await expect(api.openProject({ folder: '/srv/x' })).rejects.toEqual(error);
    expect(typeof api.subscribe('log', () => {})).toBe('function');
  });
});
