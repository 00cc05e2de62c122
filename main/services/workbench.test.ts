import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ApiError, EventName, Events, InspectRequest, InspectResponse, TrainingState } from '../../common/api';
import { isApiError } from '../../common/api';
import { EngineError } from '../engine/jobs';
import { DEMO_PROJECT_FOLDER } from './demo-project';
import { DATA_DIR_VARIABLE, ProjectStore } from './project-store';
import { defaultReplicas } from './training';
import type { EventSink, InspectEngine } from './types';
import { Workbench } from './workbench';

type RecordedEvent = { [Name in EventName]: { name: Name; payload: Events[Name] } }[EventName];

/** Keeps every event and lets a test wait for one that matches. */
class RecordingSink implements EventSink {
  readonly events: RecordedEvent[] = [];
  private waiters: { match: (event: RecordedEvent) => boolean; resolve: (event: RecordedEvent) => void }[] = [];

  emit<Name extends EventName>(name: Name, payload: Events[Name]): void {
    // The payload crosses a process boundary in the app, so it must survive JSON.
    const event = { name, payload: JSON.parse(JSON.stringify(payload)) } as RecordedEvent;
    this.events.push(event);
    for (const waiter of [...this.waiters]) {
      if (!waiter.match(event)) continue;
      this.waiters = this.waiters.filter((other) => other !== waiter);
      waiter.resolve(event);
    }
  }

  training(): TrainingState[] {
    return this.events.flatMap((event) => (event.name === 'training' ? [event.payload] : []));
  }

  logs(): string[] {
    return this.events.flatMap((event) => (event.name === 'log' ? [`${event.payload.level}: ${event.payload.message}`] : []));
  }

  /** Resolves with the first training state, recorded or future, that matches. */
  waitForTraining(match: (state: TrainingState) => boolean): Promise<TrainingState> {
    const seen = this.training().find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => {
      this.waiters.push({ match: (event) => event.name === 'training' && match(event.payload), resolve: (event) => resolve(event.payload as TrainingState) });
    });
  }
}

const FAKE_RESPONSE: InspectResponse = {
  tokens: ['the', 'jury'],
  tokenBlocks: [0, 2],
  blocks: ['background', 'money', 'law'],
  dialled: {
    lambda: 0.8,
    topPredictions: [{ token: 'said', probability: 0.4 }],
    greedy: ['said'],
    sampled: ['found'],
    attentionEntropyBits: 0.5,
    pointerFidelity: null,
    tokenAttention: [[1, 0], [0.5, 0.5]],
    blockAttention: [[1, 0, 0], [0, 0, 1]],
  },
  distributed: {
    lambda: 0,
    topPredictions: [{ token: 'said', probability: 0.3 }],
    greedy: ['said'],
    sampled: ['was'],
    attentionEntropyBits: 0.9,
    pointerFidelity: null,
    tokenAttention: [[1, 0], [0.5, 0.5]],
    blockAttention: [[1, 0, 0], [0, 0, 1]],
  },
  ruleTargets: [],
  elapsedMs: 3,
};

/** An inspector engine that records its calls and returns a fixed response. */
class FakeEngine implements InspectEngine {
  backendCalls = 0;
  inspectCalls: { checkpoint: string; request: InspectRequest }[] = [];
  disposed = false;
  failWith: unknown = null;

  async backend(): Promise<{ name: string; skipped: string[] }> {
    this.backendCalls += 1;
    return { name: 'fake-backend', skipped: ['node-gpu: not installed'] };
  }

  async inspect(checkpoint: string, request: InspectRequest): Promise<InspectResponse> {
    if (this.failWith) throw this.failWith;
    this.inspectCalls.push({ checkpoint, request });
    return FAKE_RESPONSE;
  }

  async dispose(): Promise<void> {
    this.disposed = true;
  }
}

const REQUEST: InspectRequest = { text: 'the jury said the money', lambda: 0.8, selection: { layer: 'mean', head: 1 }, seed: 1, continuationTokens: 8 };

/** Awaits a call that must fail and returns its error, which must be a plain ApiError object. */
async function rejection(call: Promise<unknown>): Promise<ApiError> {
  try {
    await call;
  } catch (error) {
    expect(isApiError(error), `thrown value is not an ApiError: ${String(error)}`).toBe(true);
    expect(error instanceof Error, 'an ApiError must be a plain object, because Electron keeps only the message of an Error').toBe(false);
    return error as ApiError;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

describe('Workbench without training', () => {
  let root: string;
  let engine: FakeEngine;
  let events: RecordingSink;
  let workbench: Workbench;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'localist-workbench-'));
    engine = new FakeEngine();
    events = new RecordingSink();
    workbench = new Workbench({ dataDir: join(root, 'data'), engine, events, appVersion: '9.8.7' });
  });

  afterEach(async () => {
    await workbench.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  it('reports the app version', async () => {
    expect(await workbench.appVersion()).toBe('9.8.7');
  });

  it('status before and after opening', async () => {
    const before = await workbench.status();
    expect(before).toEqual({ version: '9.8.7', backend: null, backendSkipped: [], project: null, model: null, training: { state: 'idle' } });

    const demo = await workbench.openDemoProject();
    const after = await workbench.status();
    expect(after.project).toEqual(demo);
    expect(after.project?.demo).toBe(true);
    expect(after.model).toBeNull();
    expect(after.training).toEqual({ state: 'idle' });
    // Status must not start the engine worker.
    expect(engine.backendCalls).toBe(0);
    expect(events.logs()).toContain(`info: opened project "${demo.name}" in ${demo.folder}`);
    // Pages follow a project opened elsewhere through this event.
    expect(events.events.filter((event) => event.name === 'project').map((event) => event.payload)).toEqual([demo]);
  });

  it('lists created and opened projects', async () => {
    const created = await workbench.createProject({ folder: join(root, 'policy'), name: 'Policy', corpus: 'brown' });
    expect(created).toMatchObject({ name: 'Policy', demo: false, corpus: 'brown', folder: join(root, 'policy') });
    const demo = await workbench.openDemoProject();
    expect((await workbench.recentProjects()).map((project) => project.id)).toEqual([demo.id, created.id]);

    const reopened = await workbench.openProject({ folder: join(root, 'policy') });
    expect(reopened.id).toBe(created.id);
    expect((await workbench.status()).project?.id).toBe(created.id);
    expect((await workbench.recentProjects()).map((project) => project.id)).toEqual([created.id, demo.id]);
  });

  it('failed open keeps current project', async () => {
    const demo = await workbench.openDemoProject();
    const error = await rejection(workbench.openProject({ folder: join(root, 'nowhere') }));
    expect(error.code).toBe('not-found');
    expect(error.message).toContain(join(root, 'nowhere'));
    expect((await workbench.status()).project?.id).toBe(demo.id);
  });

  it('rejects malformed project requests', async () => {
    const relative = await rejection(workbench.createProject({ folder: 'policy', name: 'Policy', corpus: 'brown' }));
    expect(relative.code).toBe('invalid-request');
    expect(relative.message).toContain('"policy" is a relative path');

    const notObject = await rejection(workbench.openProject(null as unknown as { folder: string }));
    expect(notObject.code).toBe('invalid-request');
  });

  it('inspect without a model fails', async () => {
    const noProject = await rejection(workbench.inspect(REQUEST));
    expect(noProject.code).toBe('not-found');
    expect(noProject.message).toContain('train the demo model first');

    await workbench.openDemoProject();
    const noModel = await rejection(workbench.inspect(REQUEST));
    expect(noModel.code).toBe('not-found');
    expect(noModel.message).toContain('has no trained model yet; train the demo model first');
    expect(engine.inspectCalls).toHaveLength(0);
  });

  it('pins and unpins reference examples', async () => {
    expect(await workbench.referenceExamples()).toEqual([]);
    expect((await rejection(workbench.pinReferenceExample({ text: 'she paid' }))).code).toBe('invalid-request');

    await workbench.openDemoProject();
    const pinned = await workbench.pinReferenceExample({ text: 'she paid the bill' });
    expect(await workbench.referenceExamples()).toEqual([pinned]);

    const duplicate = await rejection(workbench.pinReferenceExample({ text: 'she paid the bill' }));
    expect(duplicate.code).toBe('invalid-request');
    expect(duplicate.message).toContain('already pinned');
    expect((await rejection(workbench.pinReferenceExample({ text: '' }))).code).toBe('invalid-request');

    await workbench.createProject({ folder: join(root, 'other'), name: 'Other', corpus: 'brown' });
    expect(await workbench.referenceExamples()).toEqual([]);
    await workbench.openDemoProject();
    expect(await workbench.referenceExamples()).toEqual([pinned]);

    await workbench.unpinReferenceExample({ id: pinned.id });
    expect(await workbench.referenceExamples()).toEqual([]);
    expect((await rejection(workbench.unpinReferenceExample({ id: pinned.id }))).code).toBe('not-found');
  });

  it('rejects bad training and cancel requests', async () => {
    expect((await rejection(workbench.startTraining({ preset: 'quick' }))).message).toContain('no project is open');
    await workbench.openDemoProject();
    const preset = await rejection(workbench.startTraining({ preset: 'huge' as 'quick' }));
    expect(preset.code).toBe('invalid-request');
    expect(preset.message).toContain('"huge" is unknown; use "demo" or "quick"');

    const cancel = await rejection(workbench.cancelJob({ jobId: 'train-missing' }));
    expect(cancel.code).toBe('not-found');
    expect(cancel.message).toContain('job "train-missing" is not running; no job is running');
  });

  it('disposes the engine', async () => {
    await workbench.dispose();
    expect(engine.disposed).toBe(true);
  });
});

describe('Workbench training on the demo project', () => {
  let dataDir: string;
  let engine: FakeEngine;
  let events: RecordingSink;
  let workbench: Workbench;

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'localist-training-'));
    // The data folder comes from the environment, as in the app.
    vi.stubEnv(DATA_DIR_VARIABLE, dataDir);
    engine = new FakeEngine();
    events = new RecordingSink();
    workbench = new Workbench({ engine, events, appVersion: '0.1.0' });
  });

  afterAll(async () => {
    await workbench.dispose();
    vi.unstubAllEnvs();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** Reads the demo project's runs and metrics through a second store, as another process would. */
  function readDemoRecords() {
    const store = new ProjectStore({ dataDir });
    const project = store.openProject(join(dataDir, DEMO_PROJECT_FOLDER));
    try {
      const runs = project.runs();
      return {
        runs,
        metrics: new Map(runs.map((run) => [run.id, project.metrics(run.id)])),
        checkpoints: project.checkpoints(),
        fingerprint: project.corpusFingerprint(),
      };
    } finally {
      project.close();
      store.close();
    }
  }

  it('quick preset trains and records', async () => {
    const demo = await workbench.openDemoProject();
    expect(demo.folder).toBe(join(dataDir, DEMO_PROJECT_FOLDER));

    const { jobId } = await workbench.startTraining({ preset: 'quick' });
    const second = await rejection(workbench.startTraining({ preset: 'quick' }));
    expect(second.code).toBe('invalid-request');
    expect(second.message).toContain(`training job "${jobId}" is already running`);
    const switching = await rejection(workbench.createProject({ folder: join(dataDir, 'other'), name: 'Other', corpus: 'brown' }));
    expect(switching.message).toContain(`training job "${jobId}" is running`);
    expect((await workbench.status()).training).toMatchObject({ state: 'running', jobId });

    const end = await events.waitForTraining((state) => state.state !== 'running');
    expect(end, events.logs().join('\n')).toMatchObject({ state: 'finished', jobId });
    const states = events.training();
    expect(states[0]).toEqual({ state: 'running', jobId, step: 0, steps: 20, share: 0, loss: null, etaSeconds: null });
    const progress = states.filter((state) => state.state === 'running' && state.step > 0);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)).toMatchObject({ step: 20, steps: 20, share: 1 });
    expect(states.at(-1)).toBe(end);
    const checkpoint = (end as Extract<TrainingState, { state: 'finished' }>).checkpoint;
    expect(dirname(checkpoint)).toBe(join(demo.folder, 'checkpoints'));
    expect(existsSync(checkpoint)).toBe(true);

    const status = await workbench.status();
    expect(status.training).toEqual(end);
    expect(status.model).toMatchObject({ checkpoint, steps: 20, layers: 2, heads: 4, contextLength: 64 });
    expect(status.model?.blocks[0]).toBe('background');
    expect(status.model?.blocks).toContain('Money and prices');
    expect(status.backend).toBe(status.model?.backend);
    expect(engine.backendCalls).toBe(0);

    const records = readDemoRecords();
    expect(records.runs).toMatchObject([{ id: jobId, state: 'finished', backend: status.model?.backend, config: { preset: 'quick' } }]);
    expect(records.checkpoints).toMatchObject([{ path: checkpoint, runId: jobId, steps: 20, sha256: status.model?.sha256 }]);
    const steps = new Set(records.metrics.get(jobId)?.filter((metric) => metric.name === 'loss').map((metric) => metric.step));
    expect(steps.size).toBe(20);
    expect(records.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(events.logs()).toContain(`info: training job ${jobId} started on project "${demo.name}": preset quick, 20 steps, ${defaultReplicas()} replica(s)`);
    expect(events.logs().some((line) => line.startsWith(`info: training job ${jobId} finished at step 20 on ${status.model?.backend}`))).toBe(true);
  }, 300_000);

  it('inspect uses the latest checkpoint', async () => {
    const model = (await workbench.status()).model;
    expect(model).not.toBeNull();
    expect(await workbench.inspect(REQUEST)).toEqual(FAKE_RESPONSE);
    expect(engine.inspectCalls).toEqual([{ checkpoint: model?.checkpoint, request: REQUEST }]);
    expect((await workbench.status()).backend).toBe('fake-backend');
    expect((await workbench.status()).backendSkipped).toEqual(['node-gpu: not installed']);

    const badHead = await rejection(workbench.inspect({ ...REQUEST, selection: { layer: 0, head: 4 } }));
    expect(badHead.code).toBe('invalid-request');
    expect(badHead.message).toContain('head 4 is out of range; the model has 4 heads');
  });

  it('maps engine errors to contract codes', async () => {
    const consoleError = vi.spyOn(console, 'error').mockImplementation(() => {});
    engine.failWith = new EngineError({ code: 'invalid-checkpoint', message: 'checkpoint is damaged', details: { path: '/x', part: 'weights' } });
    const damaged = await rejection(workbench.inspect(REQUEST));
    expect(damaged).toEqual({
      code: 'invalid-request',
      message: 'checkpoint is damaged',
      details: { engineCode: 'invalid-checkpoint', path: '/x', part: 'weights' },
    });

    // The session worker sends its errors as plain data.
    engine.failWith = { code: 'invalid-input', message: 'text is empty', details: [{ path: '/text', message: 'type a text' }] };
    expect(await rejection(workbench.inspect(REQUEST))).toEqual({
      code: 'invalid-request',
      message: 'text is empty',
      details: { engineCode: 'invalid-input', issues: [{ path: '/text', message: 'type a text' }] },
    });

    engine.failWith = new EngineError({ code: 'failed', message: 'engine worker crashed: out of memory' });
    const crashed = await rejection(workbench.inspect(REQUEST));
    expect(crashed.code).toBe('internal');
    expect(events.logs()).toContain('error: engine worker crashed: out of memory');
    expect(consoleError).toHaveBeenCalled();
    consoleError.mockRestore();
    engine.failWith = null;
  });

  it('cancels a running job', async () => {
    const { jobId } = await workbench.startTraining({ preset: 'quick' });
    await events.waitForTraining((state) => state.state === 'running' && state.jobId === jobId && state.step >= 1);
    await workbench.cancelJob({ jobId });

    const end = await events.waitForTraining((state) => state.state !== 'running' && 'jobId' in state && state.jobId === jobId);
    expect(end, events.logs().join('\n')).toEqual({ state: 'cancelled', jobId });
    expect((await workbench.status()).training).toEqual({ state: 'cancelled', jobId });
    expect((await rejection(workbench.cancelJob({ jobId }))).code).toBe('not-found');

    const run = readDemoRecords().runs.find((candidate) => candidate.id === jobId);
    expect(run).toMatchObject({ state: 'cancelled' });
    expect(run?.finishedAt).not.toBeNull();
  }, 300_000);
});
