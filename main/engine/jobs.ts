/**
 * Messages between the engine host and its worker threads. Every job reports
 * progress and can be cancelled; errors cross as plain data.
 */
import type { InspectRequest, InspectResponse } from '../../common/api';
import type { BlocksFileInput } from './blocks';
import type { EvaluationMetrics } from './evaluate';
import type { GuaranteeReport } from './guarantee-report';
import type { CandidateRecord, RecruitmentOptions } from './recruit-blocks';
import type { ModelRecruitmentOptions, RecruitTask, SpecialistRecord, TaskMeasurement } from './recruit-models';
import type { RoutingDecision, RoutingSummary } from './routing';
import type { RulesFileInput } from './rules';
import type { TrainConfig } from './trainer';

export interface TrainJob {
  kind: 'train';
  /** A new run, or a checkpoint to resume. */
  start: { config: TrainConfig; blocks: BlocksFileInput; rules: RulesFileInput } | { resume: string; steps?: number };
  /** Checkpoint path; each save replaces the file atomically. */
  checkpointPath: string;
  /** Replicas training data-parallel, one worker thread each (default 1). */
  replicas: number;
}

export interface EvaluateJob {
  kind: 'evaluate';
  checkpoint: string;
  split: 'validation' | 'test';
  lambdas: number[];
  kappa?: number;
  maxTokens?: number;
  /** Also fit and score the interpolated bigram baseline on the same split. */
  bigram?: boolean;
}

export interface InspectJob {
  kind: 'inspect';
  checkpoint: string;
  text: string;
  lambda: number;
  kappa?: number;
  topK: number;
}

export interface GuaranteesJob {
  kind: 'guarantees';
  checkpoint: string;
  split: 'validation' | 'test';
  lambda: number;
  kappa?: number;
  maxTokens?: number;
  /** Include every active rule row in the result (large). */
  includeRows?: boolean;
  /** Skip the stationary-point check, which costs one backward pass per batch. */
  skipStationary?: boolean;
}

export interface BlockRecruitJob {
  kind: 'recruit';
  level: 'block';
  checkpoint: string;
  /** Path of the checkpoint the recruited model is written to. */
  output: string;
  /** JSON Lines file that every evaluated candidate is appended to. */
  recordsPath: string;
  options: Partial<RecruitmentOptions>;
}

export interface ModelRecruitJob {
  kind: 'recruit';
  level: 'model';
  /** The parent: a generalist checkpoint written by "localist train". */
  checkpoint: string;
  /** Folder for the specialists' checkpoints, the model set file, the records and the routing log. */
  outputFolder: string;
  options: Partial<ModelRecruitmentOptions>;
  /** Workers that run the tasks side by side (default 1). */
  workers: number;
  /**
   * Every task's measurement. The host sets this for the last stage, which
   * decides, writes the accepted specialists and checks routing.
   */
  measurements?: TaskMeasurement[];
}

export type RecruitJob = BlockRecruitJob | ModelRecruitJob;

/** Routes documents to the models of a model set. */
export interface RouteJob {
  kind: 'route';
  /** Model set file (models.json) written by "localist recruit --level model". */
  modelSet: string;
  documents: { id: string; text: string; domain: string | null }[];
  /** JSON Lines file that each decision is appended to, or null. */
  logPath: string | null;
  /** Tokens of an unlabelled document's prefix that are scored (default 64). */
  prefixTokens?: number;
}

export type EngineJob = TrainJob | EvaluateJob | InspectJob | GuaranteesJob | RecruitJob | RouteJob;

export interface TrainProgress {
  type: 'progress';
  step: number;
  steps: number;
  loss: number;
  crossEntropy: number;
  lambda: number;
  gradientNorm: number;
  tokensPerSecond: number;
  etaSeconds: number;
  elapsedSeconds: number;
  /** Share of the run done in [0, 1]: the larger of the step share and, with a time budget, the time share. */
  share: number;
}

export interface EvaluateProgress {
  type: 'evaluate-progress';
  lambda: number;
  done: number;
  total: number;
}

export interface GuaranteesProgress {
  type: 'guarantees-progress';
  /** "rows" while collecting rule rows, "stationary" during the gradient pass. */
  stage: string;
  done: number;
  total: number;
}

export interface RecruitProgressMessage {
  type: 'recruit-progress';
  round: number;
  /** Shortlist index of the candidate in training, or null for the baseline. */
  candidate: number | null;
  step: number;
  steps: number;
}

export interface ModelRecruitProgressMessage {
  type: 'recruit-model-progress';
  task: RecruitTask;
  stage: 'training' | 'measuring';
  done: number;
  total: number;
  /** Tasks finished so far, across workers, and all tasks. */
  tasksDone: number;
  tasks: number;
}

export interface RecruitRecordMessage {
  type: 'recruit-record';
  record: CandidateRecord;
}

export interface CheckpointSaved {
  type: 'checkpoint';
  path: string;
  step: number;
  sha256: string;
}

export interface LogMessage {
  type: 'log';
  message: string;
}

export interface TrainResult {
  kind: 'train';
  backend: string;
  backendSkipped: string[];
  parameterCount: number;
  steps: number;
  tokensSeen: number;
  elapsedSeconds: number;
  checkpoint: string;
  sha256: string;
  /** True when the run stopped early on request. The checkpoint then contains the last finished step. */
  cancelled: boolean;
  /** Reason the run ended: its step count, its time budget, or a cancel request. */
  stoppedBy: 'steps' | 'time-budget' | 'cancelled';
  finalLoss: number | null;
}

export interface EvaluateResult {
  kind: 'evaluate';
  backend: string;
  /** Reasons, one line each, why each faster backend was not used. */
  backendSkipped: string[];
  checkpoint: string;
  sha256: string;
  split: 'validation' | 'test';
  results: EvaluationMetrics[];
  bigram: { interpolation: number; perplexity: number } | null;
}

export interface TokenPrediction {
  token: string;
  probability: number;
}

export interface InspectResult {
  kind: 'inspect';
  backend: string;
  /** Reasons, one line each, why each faster backend was not used. */
  backendSkipped: string[];
  tokens: string[];
  lambda: number;
  /** Top next-token predictions after the last position, at the dial and at lambda = 0. */
  dialled: TokenPrediction[];
  distributed: TokenPrediction[];
  /** Block names, index 0 being the background block. */
  blocks: string[];
  /** Block masses of the last position's attention, [layer][head][block], at the dial and at 0. */
  blockMassesDialled: number[][][];
  blockMassesDistributed: number[][][];
  /** Rules active on the last position, per layer and head. */
  activeRules: { layer: number; head: number; rules: string[] }[];
}

export interface GuaranteesResult {
  kind: 'guarantees';
  backend: string;
  /** Reasons, one line each, why each faster backend was not used. */
  backendSkipped: string[];
  checkpoint: string;
  sha256: string;
  split: 'validation' | 'test';
  report: GuaranteeReport;
  /** True when the job skipped the stationary-point check on request. */
  stationarySkipped: boolean;
}

export interface RecruitResult {
  kind: 'recruit';
  backend: string;
  backendSkipped: string[];
  checkpoint: string;
  sha256: string;
  recordsPath: string;
  records: CandidateRecord[];
  /** Ids and names of the recruited blocks, in order. */
  recruited: { id: string; name: string; tokens: string[] }[];
  stopReason: string;
  rounds: number;
  trainingTokens: number;
}

/** A specialist written by model recruitment. */
export interface SpecialistFile {
  domain: string;
  checkpoint: string;
  sha256: string;
}

export interface ModelRecruitResult {
  kind: 'recruit-models';
  backend: string;
  backendSkipped: string[];
  parent: string;
  parentSha256: string;
  outputFolder: string;
  modelSet: string;
  recordsPath: string;
  routingPath: string;
  /** One record per domain that was trained, in domain order. */
  records: SpecialistRecord[];
  /** Domains without a training window, which got no specialist task. */
  skippedDomains: string[];
  /** Training tokens a domain needs for one window: the context length plus 1. */
  minimumDomainTokens: number;
  specialists: SpecialistFile[];
  /** P_spec. */
  parameters: number;
  /** Unlabelled routing of the test documents, per domain. */
  routing: RoutingSummary[];
  workers: number;
  /** Wall-clock seconds of the whole job, from the start of its first worker. */
  seconds: number;
}

/** The measurements of the tasks that one worker ran; the host merges them. */
export interface RecruitTasksResult {
  kind: 'recruit-tasks';
  backend: string;
  backendSkipped: string[];
  measurements: TaskMeasurement[];
}

export interface RouteResult {
  kind: 'route';
  backend: string;
  backendSkipped: string[];
  modelSet: string;
  decisions: RoutingDecision[];
  logPath: string | null;
}

export type JobResult =
  | TrainResult
  | EvaluateResult
  | InspectResult
  | GuaranteesResult
  | RecruitResult
  | ModelRecruitResult
  | RecruitTasksResult
  | RouteResult;

/** Error codes of the engine, so callers can tell bad input from failures. */
export type EngineErrorCode = 'invalid-input' | 'not-found' | 'invalid-checkpoint' | 'cancelled' | 'failed';

export interface EngineErrorData {
  code: EngineErrorCode;
  message: string;
  details?: unknown;
}

export type WorkerMessage =
  | TrainProgress
  | EvaluateProgress
  | GuaranteesProgress
  | RecruitProgressMessage
  | RecruitRecordMessage
  | ModelRecruitProgressMessage
  | CheckpointSaved
  | LogMessage
  | { type: 'result'; result: JobResult }
  | { type: 'error'; error: EngineErrorData };

export class EngineError extends Error {
  readonly code: EngineErrorCode;
  readonly details?: unknown;
  constructor(data: EngineErrorData) {
    super(data.message);
    this.name = 'EngineError';
    this.code = data.code;
    this.details = data.details;
  }
}

/** Operations of the persistent engine session's worker, keyed by message type. */
export interface SessionOperations {
  /** Backend the worker runs on, and one line per faster backend it skipped. */
  backend: { request: Record<string, never>; response: { name: string; skipped: string[] } };
  /** Runs the inspector with the checkpoint's model, loaded once and kept while the file is unchanged. */
  inspect: { request: { checkpoint: string; request: InspectRequest }; response: InspectResponse };
  /** Counters of the worker's model cache, for tests and diagnostics. */
  statistics: { request: Record<string, never>; response: SessionStatistics };
}

export type SessionOperationName = keyof SessionOperations;

/** Counters of the session worker since it started. */
export interface SessionStatistics {
  /** Checkpoints read and turned into a model. */
  modelLoads: number;
  /** Checkpoint files hashed because their size, time stamps or inode changed. */
  checkpointHashes: number;
  /** Checkpoint paths whose model is loaded now. */
  cachedModels: string[];
}

/** Message from the session host to its worker; `id` ties the reply to it. */
export type SessionRequest = {
  [Name in SessionOperationName]: { id: number; type: Name } & SessionOperations[Name]['request'];
}[SessionOperationName];

/** Reply of the session worker to the request with the same `id`. */
export type SessionReply = { id: number; ok: true; value: SessionOperations[SessionOperationName]['response'] } | { id: number; ok: false; error: EngineErrorData };
