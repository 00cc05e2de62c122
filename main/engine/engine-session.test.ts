import { copyFile, mkdtemp, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { InspectRequest } from '../../common/api';
import { initBackend } from './backend';
import { EngineSession } from './engine-session';
import { inspectText } from './inspector';
import { trainFixtureCheckpoint } from './inspector-fixture';
import { EngineError } from './jobs';
import { loadModel } from './trainer';

/** Gives the tests the worker, to end it as a crash would. */
class TestSession extends EngineSession {
  get currentWorker() {
    return this.worker;
  }
}

const TEXT = 'the mother paid cash and said the father paid the bank';

function request(overrides: Partial<InspectRequest> = {}): InspectRequest {
  return { text: TEXT, lambda: 0.8, selection: { layer: 1, head: 0 }, seed: 7, continuationTokens: 4, ...overrides };
}

let folder: string;
let first: string;
let second: string;
/** A copy of `first` that the tests overwrite. */
let working: string;

beforeAll(async () => {
  await initBackend();
  folder = await mkdtemp(join(tmpdir(), 'localist-session-'));
  first = await trainFixtureCheckpoint(folder, 'first', { seed: 1, steps: 30 });
  second = await trainFixtureCheckpoint(folder, 'second', { seed: 2, steps: 30 });
  working = join(folder, 'working.localist');
  await copyFile(first, working);
});

afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

describe('one session', () => {
  const session = new TestSession();

  afterAll(() => session.dispose());

  test('backend names the backend', async () => {
    const backend = await session.backend();
    expect(['node-gpu', 'node', 'wasm', 'cpu']).toContain(backend.name);
    expect(Array.isArray(backend.skipped)).toBe(true);
  });

  test('answers equal the in-process inspector', async () => {
    const response = await session.inspect(working, request());
    const loaded = await loadModel(working);
    try {
      const expected = await inspectText(loaded, request());
      expect(response.tokens).toEqual(expected.tokens);
      expect(response.dialled.greedy).toEqual(expected.dialled.greedy);
      expect(response.dialled.sampled).toEqual(expected.dialled.sampled);
      expect(response.ruleTargets).toEqual(expected.ruleTargets);
      response.dialled.tokenAttention.forEach((row, i) => row.forEach((value, j) => expect(value).toBeCloseTo(expected.dialled.tokenAttention[i][j], 6)));
      expect(response.elapsedMs).toBeGreaterThan(0);
    } finally {
      loaded.model.dispose();
    }
  });

  test('second inspect reuses the loaded model', async () => {
    const before = await session.statistics();
    await session.inspect(working, request({ lambda: 0.3 }));
    const after = await session.statistics();
    expect(after.modelLoads).toBe(before.modelLoads);
    expect(after.modelLoads).toBe(1);
    expect(after.checkpointHashes).toBe(0);
    expect(after.cachedModels).toEqual([working]);
    expect(session.startedWorkers).toBe(1);
  });

  test('touched checkpoint is hashed, not reloaded', async () => {
    const later = new Date(Date.now() + 5_000);
    await utimes(working, later, later);
    await session.inspect(working, request());
    const statistics = await session.statistics();
    expect(statistics.checkpointHashes).toBe(1);
    expect(statistics.modelLoads).toBe(1);
  });

  test('changed checkpoint file reloads', async () => {
    const before = await session.inspect(working, request());
    await copyFile(second, working);
    const after = await session.inspect(working, request());
    const statistics = await session.statistics();
    expect(statistics.modelLoads).toBe(2);
    expect(after.distributed.topPredictions).not.toEqual(before.distributed.topPredictions);
  });

  test('superseded requests reject as cancelled', async () => {
    const lambdas = [0.1, 0.2, 0.3, 0.4];
    const results = await Promise.allSettled(lambdas.map((lambda) => session.inspect(working, request({ lambda }))));
    // The first one was running when the others arrived, so it gets a response, and so does the latest one.
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    for (const result of results.slice(1, 3)) {
      const reason = (result as PromiseRejectedResult).reason as EngineError;
      expect(reason).toBeInstanceOf(EngineError);
      expect(reason.code).toBe('cancelled');
      expect(reason.details).toEqual({ reason: 'superseded', checkpoint: working });
      expect(reason.message).toMatch(/superseded by a newer one before it started/);
    }
    const last = results[3] as PromiseFulfilledResult<Awaited<ReturnType<EngineSession['inspect']>>>;
    expect(last.value.dialled.lambda).toBe(0.4);
  });

  test('other checkpoints are not superseded, and replies come in order', async () => {
    const order: string[] = [];
    const track = (name: string, promise: Promise<unknown>) => promise.then(() => order.push(name));
    await Promise.all([
      track('working 0.1', session.inspect(working, request({ lambda: 0.1 }))),
      track('first 0.2', session.inspect(first, request({ lambda: 0.2 }))),
      track('statistics', session.statistics()),
      track('working 0.3', session.inspect(working, request({ lambda: 0.3 }))),
    ]);
    expect(order).toEqual(['working 0.1', 'first 0.2', 'statistics', 'working 0.3']);
  });

  test('invalid request rejects at once and supersedes nothing', async () => {
    const running = session.inspect(working, request({ lambda: 0.1 }));
    const queued = session.inspect(working, request({ lambda: 0.2 }));
    await expect(session.inspect(working, request({ lambda: 2 }))).rejects.toMatchObject({ code: 'invalid-input', message: expect.stringMatching(/lambda 2 is outside/) });
    expect((await running).dialled.lambda).toBe(0.1);
    expect((await queued).dialled.lambda).toBe(0.2);
  });

  test('layer out of range rejects from the worker', async () => {
    const promise = session.inspect(working, request({ selection: { layer: 5, head: 0 } }));
    await expect(promise).rejects.toBeInstanceOf(EngineError);
    await expect(session.inspect(working, request({ selection: { layer: 5, head: 0 } }))).rejects.toMatchObject({
      code: 'invalid-input',
      message: expect.stringMatching(/layer 5 is out of range for a model with 2 layers/),
    });
  });

  test('missing checkpoint rejects as not found', async () => {
    const missing = join(folder, 'missing.localist');
    await expect(session.inspect(missing, request())).rejects.toMatchObject({ code: 'not-found', message: expect.stringContaining(missing) });
  });

  test('unknown words reject as invalid input', async () => {
    await expect(session.inspect(working, request({ text: 'zyzzyva quokka' }))).rejects.toMatchObject({
      code: 'invalid-input',
      message: expect.stringMatching(/has no word of the model's vocabulary/),
    });
  });
});

describe('worker lifetime', () => {
  test('dead worker rejects and the next call restarts', async () => {
    const logs: string[] = [];
    const session = new TestSession({ onLog: (line) => logs.push(line) });
    try {
      await session.backend();
      const running = session.inspect(working, request({ continuationTokens: 64 }));
      const waiting = session.inspect(first, request());
      // Handlers go on before the worker ends, because the wasm backend turns an unhandled rejection into a crash of the process.
      const outcomes = [running, waiting].map((promise) =>
        expect(promise).rejects.toMatchObject({
          code: 'failed',
          message: expect.stringMatching(/engine worker stopped with exit code 1 before it replied; the next request starts a new worker/),
        }),
      );
      await session.currentWorker?.terminate();
      await Promise.all(outcomes);
      expect(session.currentWorker).toBeNull();

      const response = await session.inspect(working, request());
      expect(response.tokens[0]).toBe('<doc>');
      expect(session.startedWorkers).toBe(2);
      expect((await session.statistics()).modelLoads).toBe(1);
      expect(logs.some((line) => /stopped with exit code 1/.test(line))).toBe(true);
    } finally {
      await session.dispose();
    }
  });

  test('dispose ends the worker', async () => {
    const session = new TestSession();
    await session.backend();
    const worker = session.currentWorker;
    expect(worker).not.toBeNull();
    const exited = new Promise<number>((resolve) => worker?.once('exit', resolve));
    // The rejection gets its handler before dispose, because the wasm backend turns an unhandled rejection into a crash of the process.
    const pending = expect(session.inspect(working, request())).rejects.toMatchObject({ code: 'cancelled', message: expect.stringMatching(/disposed/) });
    await session.dispose();
    await expect(exited).resolves.toBeTypeOf('number');
    await pending;
    expect(session.currentWorker).toBeNull();
    await expect(session.inspect(working, request())).rejects.toMatchObject({ code: 'failed', message: expect.stringMatching(/disposed; create a new EngineSession/) });
  });

  test('unused session starts no worker', async () => {
    const session = new TestSession();
    await session.dispose();
    expect(session.startedWorkers).toBe(0);
  });
});
