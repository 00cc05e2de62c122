import { describe, expect, it, vi } from 'vitest';
import { EventHub } from './event-hub';

const LINE = { level: 'info' as const, message: 'opened', time: '2025-01-01T00:00:00.000Z' };

describe('EventHub', () => {
  it('sends events to every listener', () => {
    const hub = new EventHub();
    const first: unknown[] = [];
    const second: unknown[] = [];
    hub.subscribe((name, payload) => first.push([name, payload]));
    hub.subscribe((name, payload) => second.push([name, payload]));
    hub.emit('log', LINE);
    expect(first).toEqual([['log', LINE]]);
    expect(second).toEqual([['log', LINE]]);
  });

  it('stops a listener that unsubscribed', () => {
    const hub = new EventHub();
    const received: unknown[] = [];
    const stop = hub.subscribe((name) => received.push(name));
    stop();
    hub.emit('log', LINE);
    expect(received).toEqual([]);
  });

  it('keeps sending after a listener throws', () => {
    const hub = new EventHub();
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    const received: unknown[] = [];
    hub.subscribe(() => {
      throw new Error('window closed');
    });
    hub.subscribe((name) => received.push(name));
    hub.emit('training', { state: 'idle' });
    expect(received).toEqual(['training']);
    expect(error).toHaveBeenCalledOnce();
    error.mockRestore();
  });
});
