import { beforeEach, describe, expect, it, vi } from 'vitest';
import { CHANNELS, EVENT_CHANNELS, OPERATION_NAMES, type WorkbenchApi } from '../common/api';

// The electron package only exports the binary's path in plain Node, so the
// test replaces the bridge and ipcRenderer with recorders.
const exposed = new Map<string, unknown>();
/** Channels and requests that the bridge sent, and the reply main gives to the next ones. */
const sent: [string, unknown][] = [];
let answer: () => Promise<unknown> = () => Promise.resolve({ ok: true, value: undefined });
const listeners = new Map<string, Set<(event: unknown, payload: unknown) => void>>();

vi.mock('electron', () => ({
  contextBridge: { exposeInMainWorld: (key: string, value: unknown) => exposed.set(key, value) },
  ipcRenderer: {
    invoke: (channel: string, request: unknown) => {
      sent.push([channel, request]);
      return answer();
    },
    on: (channel: string, listener: (event: unknown, payload: unknown) => void) => {
      if (!listeners.has(channel)) listeners.set(channel, new Set());
      listeners.get(channel)?.add(listener);
    },
    removeListener: (channel: string, listener: (event: unknown, payload: unknown) => void) => {
      listeners.get(channel)?.delete(listener);
    },
  },
}));

await import('./index');
const api = exposed.get('api') as WorkbenchApi;

function send(channel: string, payload: unknown): void {
  for (const listener of listeners.get(channel) ?? []) listener({ sender: 'the IPC event' }, payload);
}

describe('preload bridge', () => {
  beforeEach(() => {
    sent.length = 0;
  });

  it('exposes one function per operation and subscribe, nothing else', () => {
    expect(Object.keys(api).sort()).toEqual([...OPERATION_NAMES, 'subscribe'].sort());
    for (const name of Object.keys(api)) expect(typeof (api as unknown as Record<string, unknown>)[name]).toBe('function');
  });

  it('sends each operation on its channel', async () => {
    answer = () => Promise.resolve({ ok: true, value: 'result' });
    await api.status();
    await api.openProject({ folder: '/srv/project' });
    expect(sent).toEqual([
      [CHANNELS.status, undefined],
      [CHANNELS.openProject, { folder: '/srv/project' }],
    ]);
  });

  it('resolves to the value of a successful reply', async () => {
    answer = () => Promise.resolve({ ok: true, value: '0.1.0' });
    await expect(api.appVersion()).resolves.toBe('0.1.0');
  });

  it('rejects with the ApiError of a failed reply', async () => {
    const error = { code: 'not-found', message: 'no project in "/srv/x"', details: {} };
    answer = () => Promise.resolve({ ok: false, error });
    await expect(api.openProject({ folder: '/srv/x' })).rejects.toEqual(error);
  });

  it('rejects with unavailable when main does not answer', async () => {
    answer = () => Promise.reject(new Error("No handler registered for 'localist:status'"));
    await expect(api.status()).rejects.toMatchObject({ code: 'unavailable' });
  });
});

describe('subscribe', () => {
  it('passes the payload without the IPC event', () => {
    const received: unknown[] = [];
    const stop = api.subscribe('log', (payload) => received.push(payload));
    const line = { level: 'info', message: 'opened the demo project', time: '2025-01-01T00:00:00.000Z' };
    send(EVENT_CHANNELS.log, line);
    stop();
    expect(received).toEqual([line]);
  });

  it('stops after the returned function is called', () => {
    const received: unknown[] = [];
    const stop = api.subscribe('training', (payload) => received.push(payload));
    stop();
    send(EVENT_CHANNELS.training, { state: 'idle' });
    expect(received).toEqual([]);
  });

  it('rejects an event name outside the contract', () => {
    const subscribeAny = api.subscribe as unknown as (name: string, listener: () => void) => () => void;
    expect(() => subscribeAny('localist:create-project', () => {})).toThrow('there is no event');
    expect(() => subscribeAny('toString', () => {})).toThrow('there is no event');
    expect(listeners.has('localist:create-project')).toBe(false);
  });
});
