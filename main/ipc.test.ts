import { beforeEach, describe, expect, it, vi } from 'vitest';
import { CHANNELS, type ApiError, type Reply } from '../common/api';

// The electron package only exports the binary's path in plain Node, so the
// test replaces ipcMain with a recorder of registered handlers.
const handlers = new Map<string, (event: unknown, raw: unknown) => Promise<unknown>>();
vi.mock('electron', () => ({
  ipcMain: {
    handle: (channel: string, handler: (event: unknown, raw: unknown) => Promise<unknown>) => {
      handlers.set(channel, handler);
    },
  },
}));

const { expectNoRequest, handleOperation } = await import('./ipc');

const TRUSTED_URL = 'file:///app/out/renderer/index.html';

function eventFrom(url: string | null): unknown {
  return { senderFrame: url === null ? null : { url } };
}

async function callAppVersion(event: unknown, raw: unknown): Promise<Reply<string>> {
  const handler = handlers.get(CHANNELS.appVersion);
  if (!handler) throw new Error(`no handler registered on ${CHANNELS.appVersion}`);
  return (await handler(event, raw)) as Reply<string>;
}

function errorOf(reply: Reply<string>): ApiError {
  if (reply.ok) throw new Error(`expected a failed reply, got the value ${JSON.stringify(reply.value)}`);
  return reply.error;
}

describe('handleOperation', () => {
  beforeEach(() => {
    handlers.clear();
    vi.spyOn(console, 'error').mockImplementation(() => {});
  });

  function register(run: () => Promise<string>): void {
    handleOperation('appVersion', {
      isTrustedSender: (url) => url === TRUSTED_URL,
      parseRequest: expectNoRequest,
      run,
    });
  }

  it('returns the response to a trusted sender', async () => {
    register(() => Promise.resolve('0.1.0'));
    expect(await callAppVersion(eventFrom(TRUSTED_URL), undefined)).toEqual({ ok: true, value: '0.1.0' });
  });

  it('rejects an untrusted sender', async () => {
    const run = vi.fn(() => Promise.resolve('0.1.0'));
    register(run);
    const reply = await callAppVersion(eventFrom('https://example.com/'), undefined);
    expect(errorOf(reply).code).toBe('forbidden');
    expect(run).not.toHaveBeenCalled();
  });

  it('rejects a destroyed sender frame', async () => {
    register(() => Promise.resolve('0.1.0'));
    const reply = await callAppVersion(eventFrom(null), undefined);
    expect(errorOf(reply).code).toBe('forbidden');
  });

  it('rejects an unexpected request', async () => {
    register(() => Promise.resolve('0.1.0'));
    const reply = await callAppVersion(eventFrom(TRUSTED_URL), { extra: true });
    expect(errorOf(reply).code).toBe('invalid-request');
  });

  it('passes an ApiError through', async () => {
    register(() => Promise.reject({ code: 'unavailable', message: 'engine worker is not running', details: {} }));
    const reply = await callAppVersion(eventFrom(TRUSTED_URL), undefined);
    expect(reply).toEqual({ ok: false, error: { code: 'unavailable', message: 'engine worker is not running', details: {} } });
  });

  it('wraps an unexpected exception', async () => {
    register(() => Promise.reject(new Error('disk full')));
    const reply = await callAppVersion(eventFrom(TRUSTED_URL), undefined);
    expect(errorOf(reply).code).toBe('internal');
    expect(errorOf(reply).message).toContain('disk full');
  });
});
