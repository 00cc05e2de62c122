/**
 * Messages between the engine host and its worker threads. Every job reports
 * progress and can be cancelled; errors cross as plain data.
 */
import type { BlocksFileInput } from './blocks';
import type { EvaluationMetrics } from './evaluate';
import type { GuaranteeReport } from './guarantee-report';
import type { CandidateRecord, RecruitmentOptions } from './recruit-blocks';
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

export interface RecruitJob {
  kind: 'recruit';
  /** Only block recruitment exists so far; model recruitment (LoRA specialists) is to come. */
  level: 'block';
  checkpoint: string;
  /** Path of the checkpoint the recruited model is written to. */
  output: string;
  /** JSON Lines file that every evaluated candidate is appended to. */
  recordsPath: string;
  options: Partial<RecruitmentOptions>;
}

export type EngineJob = TrainJob | EvaluateJob | InspectJob | GuaranteesJob | RecruitJob;

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

export type JobResult = TrainResult | EvaluateResult | InspectResult | GuaranteesResult | RecruitResult;

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
