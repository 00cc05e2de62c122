import { describe, expect, it } from 'vitest';
import { LatestOnlyRunner } from './latest-only-runner';

/** Returns a promise with its resolve and reject functions, so that a test decides when a request finishes. */
function deferred<Value>() {
  let resolve!: (value: Value) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<Value>((onResolve, onReject) => {
    resolve = onResolve;
    reject = onReject;
  });
  return { promise, resolve, reject };
}

/** Lets every pending promise callback run. */
const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

function harness(options: { maxSilenceMs?: number; now?: () => number } = {}) {
  const started: { request: string; response: ReturnType<typeof deferred<string>> }[] = [];
  const results: string[] = [];
  const errors: unknown[] = [];
  const busy: boolean[] = [];
  const runner = new LatestOnlyRunner<string, string>(
    (request) => {
      const response = deferred<string>();
      started.push({ request, response });
      return response.promise;
    },
    {
      onResult: (response) => results.push(response),
      onError: (reason) => errors.push(reason),
      onBusyChange: (value) => busy.push(value),
    },
    options,
  );
  return { runner, started, results, errors, busy };
}

describe('LatestOnlyRunner', () => {
  it('delivers a single response', async () => {
    const { runner, started, results, busy } = harness();
    runner.submit('a');
    started[0].response.resolve('response a');
    await flush();
    expect(results).toEqual(['response a']);
    expect(busy).toEqual([true, false]);
  });

  it('coalesces requests while running', async () => {
    const { runner, started } = harness();
    runner.submit('a');
    runner.submit('b');
    runner.submit('c');
    expect(started.map((entry) => entry.request)).toEqual(['a']);
    started[0].response.resolve('response a');
    await flush();
    expect(started.map((entry) => entry.request)).toEqual(['a', 'c']);
  });

  it('drops stale response', async () => {
    const { runner, started, results } = harness();
    runner.submit('a');
    runner.submit('b');
    started[0].response.resolve('response a');
    await flush();
    expect(results).toEqual([]);
    started[1].response.resolve('response b');
    await flush();
    expect(results).toEqual(['response b']);
  });

  it('drops stale error', async () => {
    const { runner, started, results, errors } = harness();
    runner.submit('a');
    runner.submit('b');
    started[0].response.reject(new Error('failed a'));
    await flush();
    expect(errors).toEqual([]);
    started[1].response.resolve('response b');
    await flush();
    expect(results).toEqual(['response b']);
  });

  it('reports newest request error', async () => {
    const { runner, started, errors } = harness();
    runner.submit('a');
    started[0].response.reject(new Error('failed a'));
    await flush();
    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).message).toBe('failed a');
  });

  it('delivers stale response after silence', async () => {
    let time = 0;
    const { runner, started, results } = harness({ maxSilenceMs: 250, now: () => time });
    runner.submit('a');
    runner.submit('b');
    time = 300;
    started[0].response.resolve('response a');
    await flush();
    expect(results).toEqual(['response a']);

    runner.submit('c');
    time = 400;
    started[1].response.resolve('response b');
    await flush();
    expect(results, 'only 100 ms since the last delivery').toEqual(['response a']);

    started[2].response.resolve('response c');
    await flush();
    expect(results).toEqual(['response a', 'response c']);
  });

  it('returns growing tickets', () => {
    const { runner } = harness();
    expect(runner.submit('a')).toBe(1);
    expect(runner.submit('b')).toBe(2);
  });

  it('delivers nothing after dispose', async () => {
    const { runner, started, results } = harness();
    runner.submit('a');
    runner.dispose();
    started[0].response.resolve('response a');
    await flush();
    expect(results).toEqual([]);
  });
});
