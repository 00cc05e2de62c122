/**
 * A fake `window.api` for tests of states that the real server reaches only
 * slowly or never on purpose: training progress step by step, and API
 * errors. `installFakeWorkbenchApi` runs inside the page (Playwright's
 * `addInitScript` serializes it), so it must not refer to anything outside
 * its own body; imports are types only.
 */
import type { ApiError, InspectPane, InspectRequest, InspectResponse, ModelSummary, ProjectSummary, ReferenceExample, TrainingState, WorkbenchStatus } from '../../common/api';

export interface FakeApiOptions {
  /** Whether the demo project starts with a trained model. */
  hasModel: boolean;
  /** Error that every `inspect` call rejects with, or null to return a response. */
  inspectError: ApiError | null;
  /** Training steps of a started job, and milliseconds between progress events. */
  trainingSteps: number;
  stepIntervalMs: number;
}

/** Defines `window.api` as a fake of the workbench services. Runs in the page. */
export function installFakeWorkbenchApi(options: FakeApiOptions): void {
  const listeners = new Map<string, Set<(payload: unknown) => void>>();
  const project: ProjectSummary = {
    id: 'fake-demo',
    name: 'Demo (fake services)',
    folder: '/fake/demo',
    demo: true,
    corpus: 'brown',
    openedAt: new Date(0).toISOString(),
  };
  const fakeModel: ModelSummary = {
    id: 'fake-model',
    checkpoint: '/fake/demo/model.localist',
    sha256: '0'.repeat(64),
    steps: options.trainingSteps,
    backend: 'fake',
    layers: 2,
    heads: 4,
    contextLength: 64,
    blocks: ['background', 'money', 'law'],
    createdAt: new Date(0).toISOString(),
  };
  let projectOpen = false;
  let model: ModelSummary | null = options.hasModel ? fakeModel : null;
  let training: TrainingState = { state: 'idle' };
  let timer: ReturnType<typeof setInterval> | undefined;
  const examples: ReferenceExample[] = [];

  function emit(name: string, payload: unknown): void {
    for (const listener of listeners.get(name) ?? []) listener(payload);
  }

  function setTraining(next: TrainingState): void {
    training = next;
    emit('training', next);
  }

  function fail(code: ApiError['code'], message: string): never {
    const error: ApiError = { code, message, details: {} };
    throw error;
  }

  function pane(tokens: string[], lambda: number): InspectPane {
    // Causal attention that sharpens toward the previous token as lambda grows.
    const tokenAttention = tokens.map((_, query) => {
      const weights = tokens.map((__, key) => (key > query ? 0 : Math.exp((1 + 6 * lambda) * -(query - key))));
      const total = weights.reduce((sum, weight) => sum + weight, 0);
      return weights.map((weight) => weight / total);
    });
    return {
      lambda,
      topPredictions: [
        { token: 'the', probability: 0.3 + 0.2 * lambda },
        { token: 'court', probability: 0.2 },
        { token: 'money', probability: 0.1 - 0.05 * lambda },
      ],
      greedy: ['the', 'court', 'said'],
      sampled: ['a', 'jury', 'paid'],
      attentionEntropyBits: 2 - lambda,
      pointerFidelity: 0.5 + 0.4 * lambda,
      tokenAttention,
      blockAttention: [
        [0.6 - 0.3 * lambda, 0.2 + 0.2 * lambda, 0.2 + 0.1 * lambda],
        [0.5, 0.3, 0.2],
        [0.4, 0.2, 0.4],
      ],
    };
  }

  function blockOf(token: string): number {
    if (token === 'money') return 1;
    if (token === 'court') return 2;
    return 0;
  }

  function inspect(request: InspectRequest): InspectResponse {
    const tokens = request.text.toLowerCase().split(/\s+/).filter(Boolean).slice(-64);
    return {
      tokens,
      tokenBlocks: tokens.map(blockOf),
      blocks: fakeModel.blocks,
      dialled: pane(tokens, request.lambda),
      distributed: pane(tokens, 0),
      ruleTargets: [],
      elapsedMs: 1,
    };
  }

  const api = {
    appVersion: async () => '0.0.0-fake',
    status: async (): Promise<WorkbenchStatus> => ({
      version: '0.0.0-fake',
      backend: 'fake',
      backendSkipped: [],
      project: projectOpen ? project : null,
      model: projectOpen ? model : null,
      training,
    }),
    recentProjects: async () => [project],
    openDemoProject: async () => {
      projectOpen = true;
      return project;
    },
    openProject: async ({ folder }: { folder: string }) => {
      if (folder !== project.folder) fail('not-found', `project folder "${folder}" not found; check the path`);
      projectOpen = true;
      return project;
    },
    createProject: async ({ folder }: { folder: string }) =>
      fail('invalid-request', `folder "${folder}" is not empty; choose an empty or new folder`),
    startTraining: async () => {
      const jobId = 'fake-job';
      let step = 0;
      setTraining({ state: 'running', jobId, step, steps: options.trainingSteps, share: 0, loss: null, etaSeconds: null });
      timer = setInterval(() => {
        step += 1;
        if (step >= options.trainingSteps) {
          clearInterval(timer);
          model = fakeModel;
          setTraining({ state: 'finished', jobId, checkpoint: fakeModel.checkpoint });
          return;
        }
        const share = step / options.trainingSteps;
        const etaSeconds = ((options.trainingSteps - step) * options.stepIntervalMs) / 1000;
        setTraining({ state: 'running', jobId, step, steps: options.trainingSteps, share, loss: 9 - 4 * share, etaSeconds });
      }, options.stepIntervalMs);
      return { jobId };
    },
    cancelJob: async ({ jobId }: { jobId: string }) => {
      clearInterval(timer);
      setTraining({ state: 'cancelled', jobId });
    },
    inspect: async (request: InspectRequest) => {
      if (options.inspectError) throw options.inspectError;
      if (!model) fail('unavailable', 'the open project has no model yet; train one first');
      return inspect(request);
    },
    referenceExamples: async () => [...examples],
    pinReferenceExample: async ({ text }: { text: string }) => {
      const example = { id: `example-${examples.length + 1}`, text, pinnedAt: new Date().toISOString() };
      examples.push(example);
      return example;
    },
    unpinReferenceExample: async ({ id }: { id: string }) => {
      const index = examples.findIndex((example) => example.id === id);
      if (index >= 0) examples.splice(index, 1);
    },
    subscribe: (name: string, listener: (payload: unknown) => void) => {
      const set = listeners.get(name) ?? new Set();
      set.add(listener);
      listeners.set(name, set);
      return () => set.delete(listener);
    },
  };
  Object.defineProperty(globalThis, 'api', { value: api, configurable: true });
}
