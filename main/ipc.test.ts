import { beforeEach, describe, expect, it, vi } from 'vitest';
import { CHANNELS, OPERATION_NAMES, type ApiError, type Reply } from '../common/api';
import type { TransportLog } from './dispatch';
import { isRendererUrl } from './renderer-origin';
import { createFakeServices, FAKE_INSPECT_RESPONSE } from './testing/fake-services';

// The electron package only exports the binary's path in plain Node, so the
// test replaces ipcMain with a recorder of registered handlers.
const registered = new Map<string, (event: unknown, raw: unknown) => Promise<unknown>>();
vi.mock('electron', () => ({
  ipcMain: {
    handle: (channel: string, handler: (event: unknown, raw: unknown) => Promise<unknown>) => {
      registered.set(channel, handler);
    },
    removeHandler: (channel: string) => {
      registered.delete(channel);
    },
  },
}));

const { registerServiceHandlers, removeServiceHandlers, replyToMessage } = await import('./ipc');

const ENTRY_URL = 'app://workbench/index.html';
const isTrustedSender = (url: string) => isRendererUrl(url, ENTRY_URL);

const VALID_INSPECT = { text: 'the jury said', lambda: 0.5, selection: { layer: 0, head: 'mean' }, seed: 1, continuationTokens: 4 };

function recordingLog(): TransportLog & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    warn: (line) => lines.push(line),
    error: (line) => lines.push(line),
  };
}

function errorOf(reply: Reply<unknown>): ApiError {
  if (reply.ok) throw new Error(`expected a failed reply, got the value ${JSON.stringify(reply.value)}`);
  return reply.error;
}

describe('replyToMessage', () => {
  it('returns the response to the workbench page', async () => {
    const { handlers } = createFakeServices();
    const reply = await replyToMessage('appVersion', ENTRY_URL, undefined, { isTrustedSender, handlers });
    expect(reply).toEqual({ ok: true, value: '0.1.0' });
  });

  it('passes the parsed request to the service', async () => {
    const { handlers, calls } = createFakeServices();
    const reply = await replyToMessage('inspect', `${ENTRY_URL}#/inspector`, VALID_INSPECT, { isTrustedSender, handlers });
    expect(reply).toEqual({ ok: true, value: FAKE_INSPECT_RESPONSE });
    expect(calls).toEqual([{ operation: 'inspect', request: VALID_INSPECT }]);
  });

  const forgedSenders = [
    ['another file page', 'file:///home/user/Downloads/page.html'],
    ['the built page as a file', 'file:///app/out/renderer/index.html'],
    ['a web page', 'http://evil.example/'],
    ['a web page on the app host name', 'https://workbench/index.html'],
    ['another app host', 'app://other/index.html'],
    ['an empty URL', ''],
  ];

  for (const [label, senderUrl] of forgedSenders) {
    it(`rejects ${label} as forbidden`, async () => {
      const { handlers, calls } = createFakeServices();
      const log = recordingLog();
      const reply = await replyToMessage('openProject', senderUrl, { folder: '/srv/project' }, { isTrustedSender, handlers, log });
      const error = errorOf(reply);
      expect(error.code).toBe('forbidden');
      expect(error.details.senderUrl).toBe(senderUrl);
      expect(calls).toEqual([]);
      expect(log.lines).toHaveLength(1);
    });
  }

  it('rejects a malformed payload', async () => {
    const { handlers, calls } = createFakeServices();
    const reply = await replyToMessage('inspect', ENTRY_URL, { ...VALID_INSPECT, lambda: 2 }, { isTrustedSender, handlers });
    const error = errorOf(reply);
    expect(error.code).toBe('invalid-request');
    expect(error.details.field).toBe('lambda');
    expect(calls).toEqual([]);
  });

  it('rejects a payload sent to an operation without a request', async () => {
    const { handlers } = createFakeServices();
    const reply = await replyToMessage('status', ENTRY_URL, { extra: true }, { isTrustedSender, handlers });
    expect(errorOf(reply).code).toBe('invalid-request');
  });

  it('passes a service ApiError through', async () => {
    const notFound: ApiError = { code: 'not-found', message: 'no project in "/srv/missing"', details: { folder: '/srv/missing' } };
    const { handlers } = createFakeServices({ openProject: () => Promise.reject(notFound) });
    const reply = await replyToMessage('openProject', ENTRY_URL, { folder: '/srv/missing' }, { isTrustedSender, handlers });
    expect(reply).toEqual({ ok: false, error: notFound });
  });

  it('copies an Error subclass that carries ApiError fields', async () => {
    const thrown = Object.assign(new Error('engine worker is not running'), { code: 'unavailable', details: {} });
    const { handlers } = createFakeServices({ status: () => Promise.reject(thrown) });
    const reply = await replyToMessage('status', ENTRY_URL, undefined, { isTrustedSender, handlers });
    const error = errorOf(reply);
    expect(Object.getPrototypeOf(error)).toBe(Object.prototype);
    expect(error).toEqual({ code: 'unavailable', message: 'engine worker is not running', details: {} });
  });

  it('turns an unexpected exception into internal and logs it', async () => {
    const { handlers } = createFakeServices({ recentProjects: () => Promise.reject(new Error('disk full')) });
    const log = recordingLog();
    const reply = await replyToMessage('recentProjects', ENTRY_URL, undefined, { isTrustedSender, handlers, log });
    const error = errorOf(reply);
    expect(error.code).toBe('internal');
    expect(error.message).toContain('disk full');
    expect(log.lines).toEqual(['operation "recentProjects" failed unexpectedly']);
  });

  it('turns a synchronous throw into internal', async () => {
    const { handlers } = createFakeServices({
      appVersion: () => {
        throw new TypeError('version is undefined');
      },
    });
    const log = recordingLog();
    const reply = await replyToMessage('appVersion', ENTRY_URL, undefined, { isTrustedSender, handlers, log });
    expect(errorOf(reply).code).toBe('internal');
    expect(log.lines).toHaveLength(1);
  });
});

describe('registerServiceHandlers', () => {
  beforeEach(() => registered.clear());

  it('registers every operation of the contract', () => {
    registerServiceHandlers({ isTrustedSender, handlers: createFakeServices().handlers });
    expect([...registered.keys()].sort()).toEqual(OPERATION_NAMES.map((name) => CHANNELS[name]).sort());
  });

  it('reads the sender from the event', async () => {
    registerServiceHandlers({ isTrustedSender, handlers: createFakeServices().handlers, log: recordingLog() });
    const handler = registered.get(CHANNELS.appVersion);
    expect(await handler?.({ senderFrame: { url: ENTRY_URL } }, undefined)).toEqual({ ok: true, value: '0.1.0' });
    const forged = (await handler?.({ senderFrame: { url: 'http://evil.example/' } }, undefined)) as Reply<string>;
    expect(errorOf(forged).code).toBe('forbidden');
  });

  it('rejects a destroyed sender frame', async () => {
    registerServiceHandlers({ isTrustedSender, handlers: createFakeServices().handlers, log: recordingLog() });
    const reply = (await registered.get(CHANNELS.status)?.({ senderFrame: null }, undefined)) as Reply<unknown>;
    expect(errorOf(reply).code).toBe('forbidden');
  });

  it('removes every handler', () => {
    registerServiceHandlers({ isTrustedSender, handlers: createFakeServices().handlers });
    removeServiceHandlers();
    expect(registered.size).toBe(0);
  });
});
