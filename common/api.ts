/**
 * The API contract between the renderer and the services behind it.
 *
 * Every operation's channel, request and response type is declared here once.
 * The IPC handlers in main, the preload bridge, the HTTP/WebSocket transport
 * and the renderer's client are all typed from this module. It imports no
 * Node, DOM or Electron module, so that every layer can load it.
 */

/** Any value that survives `JSON.stringify` and `JSON.parse` unchanged. */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | readonly JsonValue[]
  | { readonly [key: string]: JsonValue };

/** A workbench project: a folder with its SQLite database and checkpoints. */
export interface ProjectSummary {
  id: string;
  name: string;
  /** Absolute path of the project folder. */
  folder: string;
  /** True for the embedded demo project (the Brown corpus with the demo blocks and rules). */
  demo: boolean;
  /** Corpus the project trains on: "brown" or a folder path. */
  corpus: string;
  /** ISO 8601 time the project was last opened. */
  openedAt: string;
}

/** A trained model of the open project. */
export interface ModelSummary {
  id: string;
  /** Absolute path of the checkpoint file. */
  checkpoint: string;
  sha256: string;
  /** Training steps taken, and the backend the model was trained on. */
  steps: number;
  backend: string;
  /** Layers and heads, for the heatmap pickers. */
  layers: number;
  heads: number;
  contextLength: number;
  /** Block names, index 0 being the background block. */
  blocks: string[];
  /** ISO 8601 time the checkpoint was written. */
  createdAt: string;
}

/** State of the open project's training job. */
export type TrainingState =
  | { state: 'idle' }
  | { state: 'running'; jobId: string; step: number; steps: number; share: number; loss: number | null; etaSeconds: number | null }
  | { state: 'finished'; jobId: string; checkpoint: string }
  | { state: 'failed'; jobId: string; error: ApiError }
  | { state: 'cancelled'; jobId: string };

/** Contents of the status bar. */
export interface WorkbenchStatus {
  version: string;
  /** TensorFlow.js backend the engine runs on, or null before the engine has started. */
  backend: string | null;
  /** Reasons, one line each, why faster backends were skipped. */
  backendSkipped: string[];
  project: ProjectSummary | null;
  model: ModelSummary | null;
  training: TrainingState;
}

/** A reference text pinned in the open project, to rerun in the inspector. */
export interface ReferenceExample {
  id: string;
  text: string;
  /** ISO 8601 time it was pinned. */
  pinnedAt: string;
}

/** Attention selection of the heatmaps: one layer and head, or their mean. */
export interface AttentionSelection {
  /** Layer index from 0, or "mean" over layers. */
  layer: number | 'mean';
  /** Head index from 0, or "mean" over heads. */
  head: number | 'mean';
}

export interface InspectRequest {
  text: string;
  /** Locality dial lambda in [0, 1] of the dialled pane; the other pane is at 0. */
  lambda: number;
  selection: AttentionSelection;
  /** Seed of the sampled continuation. */
  seed: number;
  /** Tokens generated in each continuation (1 to 64). */
  continuationTokens: number;
}

export interface TokenProbability {
  token: string;
  probability: number;
}

/** Output of one model setting on the text. Entropies are in bits. */
export interface InspectPane {
  lambda: number;
  /** Top next-token predictions after the last position, most probable first. */
  topPredictions: TokenProbability[];
  /** Continuations of the text: greedy, and sampled with the request's seed. */
  greedy: string[];
  sampled: string[];
  /** Mean attention entropy over rows, layers and heads, in bits. */
  attentionEntropyBits: number;
  /** Mean attention mass on rule targets over the active rule rows, or null when no rule is active. */
  pointerFidelity: number | null;
  /** Token-by-token attention of the selection, [query][key], rows summing to 1. */
  tokenAttention: number[][];
  /** Block-by-block attention mass of the selection, [query block][key block]: each query block's rows' mean mass on each key block. */
  blockAttention: number[][];
}

/** A cell of the token heatmap whose key is a rule's target for that query. */
export interface RuleTargetCell {
  rule: string;
  query: number;
  key: number;
}

export interface InspectResponse {
  /** The tokens shown, the last context window of the text. */
  tokens: string[];
  /** Block of each token, as an index into `blocks`. */
  tokenBlocks: number[];
  /** Block names, index 0 being the background block. */
  blocks: string[];
  /** The pane at the request's lambda, and the pane at lambda 0. */
  dialled: InspectPane;
  distributed: InspectPane;
  /** Target cells of the rules active in the selection. */
  ruleTargets: RuleTargetCell[];
  /** Milliseconds the engine took. */
  elapsedMs: number;
}

/** Request and response types of every operation, keyed by operation name. */
export interface Operations {
  /** Returns the workbench's version string from package.json, such as "0.1.0". */
  appVersion: { request: void; response: string };
  /** Returns the backend, project, model and training state for the status bar. */
  status: { request: void; response: WorkbenchStatus };
  /** Lists recently opened projects, most recent first. */
  recentProjects: { request: void; response: ProjectSummary[] };
  /** Opens the embedded demo project, creating it on first use. */
  openDemoProject: { request: void; response: ProjectSummary };
  /** Creates a project in an empty or new folder and opens it. */
  createProject: { request: { folder: string; name: string; corpus: string }; response: ProjectSummary };
  /** Opens the project in a folder. */
  openProject: { request: { folder: string }; response: ProjectSummary };
  /** Starts training the open project's model; progress arrives as `training` events. */
  startTraining: { request: { preset: 'demo' | 'quick' }; response: { jobId: string } };
  /** Cancels a running job; training saves a checkpoint at its last finished step. */
  cancelJob: { request: { jobId: string }; response: void };
  /** Runs the open project's model on a text at the dial setting and at lambda 0. */
  inspect: { request: InspectRequest; response: InspectResponse };
  /** Lists the open project's pinned reference examples. */
  referenceExamples: { request: void; response: ReferenceExample[] };
  pinReferenceExample: { request: { text: string }; response: ReferenceExample };
  unpinReferenceExample: { request: { id: string }; response: void };
}

/** Events pushed from the services to the page, keyed by event name. */
export interface Events {
  /** Training progress and state changes of the open project. */
  training: TrainingState;
  /** One line for the log panel. */
  log: { level: 'info' | 'warning' | 'error'; message: string; time: string };
  /** A project was opened or created, by the page or by a menu command. */
  project: ProjectSummary;
  /** The user chose a theme outside the page, as with View > Toggle Dark Theme. */
  theme: { theme: 'light' | 'dark' };
}

export type EventName = keyof Events;

/** IPC channel of each event. */
export const EVENT_CHANNELS: { readonly [Name in EventName]: string } = {
  training: 'localist:event:training',
  log: 'localist:event:log',
  project: 'localist:event:project',
  theme: 'localist:event:theme',
};

export type OperationName = keyof Operations;

/**
 * IPC channel of each operation. Other modules read channel strings from
 * this table instead of repeating them.
 */
export const CHANNELS: { readonly [Name in OperationName]: string } = {
  appVersion: 'localist:app-version',
  status: 'localist:status',
  recentProjects: 'localist:recent-projects',
  openDemoProject: 'localist:open-demo-project',
  createProject: 'localist:create-project',
  openProject: 'localist:open-project',
  startTraining: 'localist:start-training',
  cancelJob: 'localist:cancel-job',
  inspect: 'localist:inspect',
  referenceExamples: 'localist:reference-examples',
  pinReferenceExample: 'localist:pin-reference-example',
  unpinReferenceExample: 'localist:unpin-reference-example',
};

/** Names of every operation, in contract order. */
export const OPERATION_NAMES = Object.keys(CHANNELS) as OperationName[];

/**
 * Function that the bridge exposes for one operation: it takes no argument
 * when the request type is `void`, and resolves to the response.
 */
export type OperationFunction<Name extends OperationName> = Operations[Name]['request'] extends void
  ? () => Promise<Operations[Name]['response']>
  : (request: Operations[Name]['request']) => Promise<Operations[Name]['response']>;

/**
 * The object that the preload script exposes as `window.api`: one named
 * function per operation. A call rejects with an `ApiError` when the
 * operation fails.
 */
export type WorkbenchApi = { readonly [Name in OperationName]: OperationFunction<Name> } & {
  /** Calls `listener` with every event of one name; returns the function that stops it. */
  readonly subscribe: <Name extends EventName>(name: Name, listener: (payload: Events[Name]) => void) => () => void;
};

/**
 * Closed list of error codes. The renderer branches on these, so a new kind
 * of failure gets a new code here, never a new message pattern.
 */
export const ERROR_CODES = [
  /** The request failed validation: a missing field or a value out of range. */
  'invalid-request',
  /** A named project, corpus, checkpoint or file does not exist. */
  'not-found',
  /** The caller aborted the operation before it finished. */
  'cancelled',
  /** The message came from a sender that is not the workbench's own page. */
  'forbidden',
  /** A service the operation needs, such as the engine worker, is not running. */
  'unavailable',
  /** A defect in the workbench: an exception that no handler expected. */
  'internal',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** Failure of an operation, as plain data that crosses process boundaries. */
export interface ApiError {
  code: ErrorCode;
  /** One sentence for the user: what failed, on which value, and what to do next. */
  message: string;
  /** Values that the renderer may show or act on, such as `{ path: "policy.pdf" }`. */
  details: { readonly [key: string]: JsonValue };
}

/**
 * Reply of an IPC handler. Electron keeps only the message of an error
 * thrown in a handler, so handlers return failures as values and the
 * preload script turns them back into a rejected `ApiError`.
 */
export type Reply<Response> = { ok: true; value: Response } | { ok: false; error: ApiError };

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}

/** Checks the shape of an `ApiError` received from another process. */
export function isApiError(value: unknown): value is ApiError {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Record<string, unknown>;
  return (
    isErrorCode(candidate.code) &&
    typeof candidate.message === 'string' &&
    typeof candidate.details === 'object' &&
    candidate.details !== null &&
    !Array.isArray(candidate.details)
  );
}
