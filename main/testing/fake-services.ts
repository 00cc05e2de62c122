/**
 * A `ServiceHandlers` with canned responses, for transport tests that need
 * the contract's shapes but no database or engine. Each call is recorded in
 * `calls` with its request.
 */
import type { InspectResponse, OperationName, ProjectSummary, WorkbenchStatus } from '../../common/api';
import type { ServiceHandlers } from '../services/types';

export const FAKE_PROJECT: ProjectSummary = {
  id: 'project-1',
  name: 'Demo',
  folder: '/tmp/localist-fake/demo',
  demo: true,
  corpus: 'brown',
  openedAt: '2025-01-01T00:00:00.000Z',
};

export const FAKE_STATUS: WorkbenchStatus = {
  version: '0.1.0',
  backend: 'cpu',
  backendSkipped: [],
  project: FAKE_PROJECT,
  model: null,
  training: { state: 'idle' },
};

export const FAKE_INSPECT_RESPONSE: InspectResponse = {
  tokens: ['the', 'jury'],
  tokenBlocks: [0, 1],
  blocks: ['background', 'law'],
  dialled: {
    lambda: 0.8,
    topPredictions: [{ token: 'said', probability: 0.5 }],
    greedy: ['said'],
    sampled: ['said'],
    attentionEntropyBits: 0.5,
    pointerFidelity: null,
    tokenAttention: [[1, 0], [0.5, 0.5]],
    blockAttention: [[1, 0], [0.5, 0.5]],
  },
  distributed: {
    lambda: 0,
    topPredictions: [{ token: 'said', probability: 0.4 }],
    greedy: ['said'],
    sampled: ['was'],
    attentionEntropyBits: 0.7,
    pointerFidelity: null,
    tokenAttention: [[1, 0], [0.5, 0.5]],
    blockAttention: [[1, 0], [0.5, 0.5]],
  },
  ruleTargets: [],
  elapsedMs: 3,
};

export interface FakeServices {
  handlers: ServiceHandlers;
  calls: { operation: OperationName; request: unknown }[];
}

export function createFakeServices(overrides: Partial<ServiceHandlers> = {}): FakeServices {
  const calls: FakeServices['calls'] = [];
  const record = <T>(operation: OperationName, request: unknown, value: T): Promise<T> => {
    calls.push({ operation, request });
    return Promise.resolve(value);
  };
  const handlers: ServiceHandlers = {
    appVersion: (request) => record('appVersion', request, '0.1.0'),
    status: (request) => record('status', request, FAKE_STATUS),
    recentProjects: (request) => record('recentProjects', request, [FAKE_PROJECT]),
    openDemoProject: (request) => record('openDemoProject', request, FAKE_PROJECT),
    createProject: (request) => record('createProject', request, { ...FAKE_PROJECT, demo: false, ...request }),
    openProject: (request) => record('openProject', request, { ...FAKE_PROJECT, folder: request.folder }),
    startTraining: (request) => record('startTraining', request, { jobId: 'job-1' }),
    cancelJob: (request) => record('cancelJob', request, undefined),
    inspect: (request) => record('inspect', request, FAKE_INSPECT_RESPONSE),
    referenceExamples: (request) => record('referenceExamples', request, []),
    pinReferenceExample: (request) =>
      record('pinReferenceExample', request, { id: 'example-1', text: request.text, pinnedAt: '2025-01-01T00:00:00.000Z' }),
    unpinReferenceExample: (request) => record('unpinReferenceExample', request, undefined),
    ...overrides,
  };
  return { handlers, calls };
}
