/**
 * Model recruitment across domains. For every domain d of the corpus, a
 * specialist S_d (the parent plus LoRA adapters) trains its adapters for S
 * steps on d's training split. It is kept iff
 *
 *     N_d * (mean NLL on E_d of the baseline - of S_d) > (P_spec / 2) ln N_d + delta
 *
 * and its held-out NLL on d is lower than the baseline's. N_d counts d's
 * training tokens and E_d is a fixed sample of them.
 *
 * NOTE: the baseline is not the parent fine-tuned in full on d's data for
 * the same steps. That model changes every parent weight, far more than the
 * P_spec it would be compared with, and no project keeps it. Here the
 * baseline is the parent plus adapters of the same shape, trained for the
 * same S steps on batches of the whole training split. It has the same
 * parameters and the same extra training, and only the data differ, so a
 * specialist must earn its gain from its domain. On a corpus with one
 * domain the specialist trains on exactly the baseline's batches. The
 * baseline does not depend on d, so it trains once.
 *
 * Work splits into tasks (the baseline, and one specialist per domain) that
 * separate workers can run. `decideSpecialists` then decides from their
 * measurements alone.
 */
import * as tf from '@tensorflow/tfjs';
import { evaluationOffsets } from './batch';
import { corpusDomains, restrictToDomain, type PreparedData } from './data';
import type { AdapterConfig } from './model';
import type { OptimizerConfig } from './optimizer';
import { adapterParameterCount } from './parameter-count';
import { mean, positionNll, sampleWindows, type WindowSet } from './sample-windows';
import { adapterState, DEFAULT_ADAPTERS, specialistModel, specialistRun, type AdapterState } from './specialists';
import { computeGradients, disposeRun, type RunState } from './trainer';

export interface ModelRecruitmentOptions {
  /** Adapter training steps S of each specialist and of the baseline (default 200). */
  stepsPerSpecialist: number;
  /** Adapter rank r (default 2). */
  rank: number;
  /** Whether a specialist has its own output bias of V parameters (default false). */
  outputBias: boolean;
  /** Sequences per adapter training step (default 16). */
  batchSize: number;
  /** Peak learning rate of adapter training (default 0.003). */
  learningRate: number;
  /** Tokens of each domain's fixed training sample E_d, in whole context windows (default 16,384). */
  sampleTokens: number;
  /** Validation tokens of each domain's held-out check, in whole context windows (default 8,192). */
  heldOutTokens: number;
  /** Margin delta in nats by which a specialist's gain must exceed its cost (default 1). */
  delta: number;
  /** Seed of the adapters' initialization, the batches and E_d (default 1). */
  seed: number;
  /**
   * Dial values at which NLL is measured, and the NLL is their mean. Default:
   * the fixed training lambda, or 0.25 and 0.75 when training draws lambda.
   */
  evaluationLambdas?: number[];
  /** Domains to consider, in place of every domain of the corpus. */
  domains?: string[];
}

export const DEFAULT_MODEL_RECRUITMENT_OPTIONS: Omit<ModelRecruitmentOptions, 'evaluationLambdas' | 'domains'> = {
  stepsPerSpecialist: 200,
  rank: DEFAULT_ADAPTERS.rank,
  outputBias: DEFAULT_ADAPTERS.outputBias,
  batchSize: 16,
  learningRate: 0.003,
  sampleTokens: 16_384,
  heldOutTokens: 8_192,
  delta: 1,
  seed: 1,
};

export type ResolvedModelRecruitmentOptions = Omit<ModelRecruitmentOptions, 'domains'> & { evaluationLambdas: number[]; domains?: string[] };

/** Sizes of one domain's training text and of its two measurement sets. */
export interface DomainPlan {
  domain: string;
  /** N_d: tokens of the domain's training split. */
  trainingTokens: number;
  /** Tokens in E_d, whole windows. */
  sampleTokens: number;
  /** Tokens of the held-out check, or 0 when the domain has no validation window. */
  heldOutTokens: number;
}

export type RecruitTask = { kind: 'baseline' } | { kind: 'specialist'; domain: string };

export interface ModelRecruitmentPlan {
  settings: ResolvedModelRecruitmentOptions;
  adapters: AdapterConfig;
  /** P_spec: parameters one specialist adds. */
  parameters: number;
  domains: DomainPlan[];
  /** Baseline first, then one specialist per domain with a training window. */
  tasks: RecruitTask[];
}

/** NLL of one model on one domain, in nats per token. */
export interface DomainMeasurement {
  domain: string;
  sampleNll: number;
  /** Null when the domain has no validation window. */
  heldOutNll: number | null;
}

/** Measurements of one task. */
export interface TaskMeasurement {
  task: RecruitTask;
  /** The baseline measures every domain; a specialist measures its own. */
  measurements: DomainMeasurement[];
  /** Mean training cross-entropy of the last tenth of the steps, in nats. */
  finalTrainingNll: number;
  /** The trained adapters, for specialists; null for the baseline. */
  adapters: AdapterState | null;
  seconds: number;
}

export type SpecialistDecision = 'accepted' | 'rejected: cost' | 'rejected: held-out' | 'rejected: no held-out text';

/** The settings behind a decision. */
export interface SpecialistRecordConfig {
  stepsPerSpecialist: number;
  rank: number;
  outputBias: boolean;
  batchSize: number;
  learningRate: number;
  seed: number;
  delta: number;
  evaluationLambdas: number[];
  baseline: 'parent plus adapters trained on the whole training split';
}

/** One evaluated domain. All NLL values are nats per token; gain, cost and F are nats. */
export interface SpecialistRecord {
  domain: string;
  /** N_d. */
  trainingTokens: number;
  sampleTokens: number;
  heldOutTokens: number;
  /** P_spec. */
  parameters: number;
  baselineSampleNll: number;
  specialistSampleNll: number;
  /** N_d times (baseline - specialist) mean NLL on E_d. */
  gain: number;
  /** (P_spec / 2) ln N_d. */
  cost: number;
  baselineHeldOutNll: number | null;
  specialistHeldOutNll: number | null;
  decision: SpecialistDecision;
  /** Position among accepted specialists, from 1, by falling net gain; null when rejected. */
  round: number | null;
  /** F summed over the considered domains before and after this acceptance; null when rejected. */
  fBefore: number | null;
  fAfter: number | null;
  config: SpecialistRecordConfig;
}

/** Position of a task, reported after every training step and evaluation batch. */
export interface ModelRecruitmentProgress {
  task: RecruitTask;
  stage: 'training' | 'measuring';
  done: number;
  total: number;
}

export interface ModelRecruitmentCallbacks {
  onProgress?: (progress: ModelRecruitmentProgress) => void;
  signal?: AbortSignal;
}

// ---------------------------------------------------------------------------
// Plan

function resolveOptions(run: RunState, options: Partial<ModelRecruitmentOptions>): ResolvedModelRecruitmentOptions {
  const resolved = { ...DEFAULT_MODEL_RECRUITMENT_OPTIONS, ...options };
  const lambdaTrain = run.config.lambdaTrain;
  const evaluationLambdas = options.evaluationLambdas ?? (lambdaTrain === 'uniform' ? [0.25, 0.75] : [lambdaTrain]);
  const integers: [string, number][] = [
    ['steps per specialist', resolved.stepsPerSpecialist],
    ['adapter rank', resolved.rank],
    ['batch size', resolved.batchSize],
    ['sample tokens', resolved.sampleTokens],
    ['held-out tokens', resolved.heldOutTokens],
  ];
  for (const [name, value] of integers) {
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`model recruitment ${name} ${value} is invalid; use an integer >= 1`);
  }
  if (!(resolved.learningRate > 0) || !Number.isFinite(resolved.learningRate)) {
    throw new RangeError(`model recruitment learning rate ${resolved.learningRate} is invalid; use a positive number such as 0.003`);
  }
  if (!(resolved.delta >= 0) || !Number.isFinite(resolved.delta)) {
    throw new RangeError(`model recruitment delta ${resolved.delta} is invalid; use a finite number of nats >= 0, such as 1`);
  }
  if (evaluationLambdas.length === 0 || evaluationLambdas.some((lambda) => !(lambda >= 0 && lambda <= 1))) {
    throw new RangeError(`evaluation lambdas [${evaluationLambdas}] are invalid; list one or more values in [0, 1]`);
  }
  return { ...resolved, evaluationLambdas };
}

/** Domain data already encoded, per prepared corpus, because planning, training and measuring all read it. */
const encodedDomains = new WeakMap<PreparedData, Map<string, PreparedData>>();

/** Returns a domain's splits only, with the parent's tokenizer, encoding them once per prepared corpus. */
function domainData(run: RunState, domain: string): PreparedData {
  let domains = encodedDomains.get(run.data);
  if (!domains) {
    domains = new Map();
    encodedDomains.set(run.data, domains);
  }
  let data = domains.get(domain);
  if (!data) {
    data = restrictToDomain(run.data, domain);
    domains.set(domain, data);
  }
  return data;
}

/** E_d and the held-out windows of one domain, drawn the same way by every worker. */
function domainWindows(data: PreparedData, T: number, settings: ResolvedModelRecruitmentOptions): { sample: WindowSet; heldOut: WindowSet | null } {
  const sample = sampleWindows(data.streams.train, T, settings.sampleTokens, settings.seed);
  const validation = data.streams.validation;
  const offsets = evaluationOffsets(validation.length, T, Math.max(1, Math.floor(settings.heldOutTokens / T)));
  const heldOut = offsets.length === 0 ? null : { stream: validation, offsets, tokens: offsets.length * T };
  return { sample, heldOut };
}

/**
 * Lists the domains and tasks. Throws a RangeError when the corpus has no
 * domains, or when a listed domain is not one of them.
 */
export function planModelRecruitment(run: RunState, options: Partial<ModelRecruitmentOptions> = {}): ModelRecruitmentPlan {
  if (run.modelConfig.adapters) {
    throw new RangeError('this checkpoint is a specialist; recruit specialists from the generalist it was made from');
  }
  const settings = resolveOptions(run, options);
  const available = corpusDomains(run.data.corpus);
  if (available.length === 0) {
    throw new RangeError(
      `corpus "${run.config.data.corpus}" has no domains, so no specialist can be recruited; put documents in subfolders named after their domain`,
    );
  }
  const chosen = settings.domains ?? available;
  const repeated = chosen.find((domain, index) => chosen.indexOf(domain) !== index);
  if (repeated !== undefined) throw new RangeError(`domain "${repeated}" is listed twice; list each domain once`);
  for (const domain of chosen) {
    if (!available.includes(domain)) {
      throw new RangeError(`domain "${domain}" is not in corpus "${run.config.data.corpus}"; its domains are ${available.map((name) => `"${name}"`).join(', ')}`);
    }
  }
  const T = run.config.model.contextLength;
  const domains: DomainPlan[] = [];
  for (const domain of chosen) {
    const data = run.data.splits.train.some((document) => document.domain === domain) ? domainData(run, domain) : null;
    if (!data || evaluationOffsets(data.streams.train.length, T, 1).length === 0) {
      domains.push({ domain, trainingTokens: data?.streams.train.length ?? 0, sampleTokens: 0, heldOutTokens: 0 });
      continue;
    }
    const { sample, heldOut } = domainWindows(data, T, settings);
    domains.push({ domain, trainingTokens: data.streams.train.length, sampleTokens: sample.tokens, heldOutTokens: heldOut?.tokens ?? 0 });
  }
  if (domains.every((plan) => plan.sampleTokens === 0)) {
    throw new RangeError(
      `no domain of corpus "${run.config.data.corpus}" has ${T + 1} training tokens, one context window; add documents to the domains or train with a shorter context`,
    );
  }
  const adapters: AdapterConfig = { rank: settings.rank, outputBias: settings.outputBias };
  const parameters = adapterParameterCount({ ...run.modelConfig, adapters });
  const tasks: RecruitTask[] = [
    { kind: 'baseline' },
    ...domains.filter((plan) => plan.sampleTokens > 0).map((plan): RecruitTask => ({ kind: 'specialist', domain: plan.domain })),
  ];
  return { settings, adapters, parameters, domains, tasks };
}

// ---------------------------------------------------------------------------
// Tasks

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new DOMException('model recruitment cancelled', 'AbortError');
}

function adapterOptimizer(run: RunState, settings: ResolvedModelRecruitmentOptions): OptimizerConfig {
  const base = run.config.optimizer;
  const S = settings.stepsPerSpecialist;
  return { ...base, learningRate: settings.learningRate, totalSteps: S, warmupSteps: Math.min(base.warmupSteps, Math.floor(S / 4)) };
}

/** Trains the adapters of `state` for S steps and returns the mean loss of the last tenth. */
async function trainAdapters(
  state: RunState,
  steps: number,
  report: (step: number) => void,
  signal: AbortSignal | undefined,
): Promise<number> {
  const tail: number[] = [];
  const tokensPerStep = state.config.batchSize * state.config.model.contextLength;
  for (let step = 0; step < steps; step++) {
    throwIfAborted(signal);
    const started = performance.now();
    const { report: stepReport, grads } = computeGradients(state);
    if (!Number.isFinite(stepReport.loss)) {
      tf.dispose(Object.values(grads));
      throw new Error(
        `adapter training diverged at step ${step} (loss ${stepReport.loss}); lower the recruitment learning rate (now ${state.optimizer.config.learningRate})`,
      );
    }
    state.optimizer.apply(state.model.params, grads, step);
    tf.dispose(Object.values(grads));
    state.step += 1;
    state.tokensSeen += tokensPerStep;
    state.elapsedSeconds += (performance.now() - started) / 1000;
    if (step >= steps - Math.max(1, Math.floor(steps / 10))) tail.push(stepReport.crossEntropy);
    report(step + 1);
    await new Promise((resolve) => setImmediate(resolve));
  }
  return tail.reduce((sum, value) => sum + value, 0) / tail.length;
}

/**
 * Builds the adapter run of a task from the parent: the baseline's data is
 * the whole corpus, a specialist's its domain. Batches follow the recruitment
 * seed and the step, so both draw the same batch positions in their streams.
 */
export function taskRun(parent: RunState, plan: ModelRecruitmentPlan, task: RecruitTask): RunState {
  const data = task.kind === 'baseline' ? parent.data : domainData(parent, task.domain);
  const model = specialistModel(parent.model, plan.adapters, plan.settings.seed);
  const optimizer = adapterOptimizer(parent, plan.settings);
  const state = specialistRun(parent, model, data, optimizer);
  // The specialist's checkpoint records how its adapters were trained.
  const { totalSteps, ...schedule } = optimizer;
  state.config = {
    ...state.config,
    batchSize: plan.settings.batchSize,
    seed: plan.settings.seed,
    steps: totalSteps,
    optimizer: schedule,
    timeBudgetSeconds: null,
  };
  return state;
}

/**
 * Runs one task: trains its adapters and measures the NLL on E_d and on the
 * held-out windows of the domains it is responsible for. `parent` is unchanged.
 */
export async function runRecruitTask(
  parent: RunState,
  plan: ModelRecruitmentPlan,
  task: RecruitTask,
  callbacks: ModelRecruitmentCallbacks = {},
): Promise<TaskMeasurement> {
  const { signal } = callbacks;
  const started = performance.now();
  const S = plan.settings.stepsPerSpecialist;
  const T = parent.config.model.contextLength;
  const state = taskRun(parent, plan, task);
  try {
    const finalTrainingNll = await trainAdapters(state, S, (done) => callbacks.onProgress?.({ task, stage: 'training', done, total: S }), signal);
    const measured = task.kind === 'baseline' ? plan.domains.filter((domain) => domain.sampleTokens > 0) : plan.domains.filter((domain) => domain.domain === task.domain);
    const measurements: DomainMeasurement[] = [];
    for (const [index, domain] of measured.entries()) {
      throwIfAborted(signal);
      const { sample, heldOut } = domainWindows(domainData(parent, domain.domain), T, plan.settings);
      const sampleNll = mean(await positionNll(state, sample, plan.settings.evaluationLambdas, signal));
      const heldOutNll = heldOut ? mean(await positionNll(state, heldOut, plan.settings.evaluationLambdas, signal)) : null;
      measurements.push({ domain: domain.domain, sampleNll, heldOutNll });
      callbacks.onProgress?.({ task, stage: 'measuring', done: index + 1, total: measured.length });
    }
    return {
      task,
      measurements,
      finalTrainingNll,
      adapters: task.kind === 'specialist' ? adapterState(state) : null,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    disposeRun(state);
  }
}

// ---------------------------------------------------------------------------
// Decision

/** (P_spec / 2) ln N_d, in nats. */
export function specialistCost(parameters: number, trainingTokens: number): number {
  return (parameters / 2) * Math.log(trainingTokens);
}

function recordConfig(plan: ModelRecruitmentPlan): SpecialistRecordConfig {
  const { settings } = plan;
  return {
    stepsPerSpecialist: settings.stepsPerSpecialist,
    rank: settings.rank,
    outputBias: settings.outputBias,
    batchSize: settings.batchSize,
    learningRate: settings.learningRate,
    seed: settings.seed,
    delta: settings.delta,
    evaluationLambdas: [...settings.evaluationLambdas],
    baseline: 'parent plus adapters trained on the whole training split',
  };
}

/**
 * Decides every domain from the tasks' measurements. A specialist is
 * accepted iff gain - cost > delta and its held-out NLL is below the
 * baseline's. Accepted ones are numbered by falling net gain, and F (the
 * sum over domains of N_d times the NLL on E_d of the model serving d, plus
 * the cost of each specialist) is reported before and after each.
 */
export function decideSpecialists(plan: ModelRecruitmentPlan, results: TaskMeasurement[]): SpecialistRecord[] {
  const baseline = results.find((result) => result.task.kind === 'baseline');
  if (!baseline) throw new Error('model recruitment has no baseline measurement; run the baseline task first');
  const baselineOf = new Map(baseline.measurements.map((measurement) => [measurement.domain, measurement]));
  const specialistOf = new Map<string, DomainMeasurement>();
  for (const result of results) {
    if (result.task.kind === 'specialist') specialistOf.set(result.task.domain, result.measurements[0]);
  }
  const config = recordConfig(plan);
  const records: SpecialistRecord[] = [];
  for (const domain of plan.domains) {
    const before = baselineOf.get(domain.domain);
    const after = specialistOf.get(domain.domain);
    if (!before || !after) continue;
    const gain = domain.trainingTokens * (before.sampleNll - after.sampleNll);
    const cost = specialistCost(plan.parameters, domain.trainingTokens);
    let decision: SpecialistDecision = 'accepted';
    if (!(gain - cost > plan.settings.delta)) decision = 'rejected: cost';
    else if (before.heldOutNll === null || after.heldOutNll === null) decision = 'rejected: no held-out text';
    else if (!(after.heldOutNll < before.heldOutNll)) decision = 'rejected: held-out';
    records.push({
      domain: domain.domain,
      trainingTokens: domain.trainingTokens,
      sampleTokens: domain.sampleTokens,
      heldOutTokens: domain.heldOutTokens,
      parameters: plan.parameters,
      baselineSampleNll: before.sampleNll,
      specialistSampleNll: after.sampleNll,
      gain,
      cost,
      baselineHeldOutNll: before.heldOutNll,
      specialistHeldOutNll: after.heldOutNll,
      decision,
      round: null,
      fBefore: null,
      fAfter: null,
      config,
    });
  }
  let f = records.reduce((total, record) => total + record.trainingTokens * record.baselineSampleNll, 0);
  const accepted = records.filter((record) => record.decision === 'accepted').sort((a, b) => b.gain - b.cost - (a.gain - a.cost));
  accepted.forEach((record, index) => {
    record.round = index + 1;
    record.fBefore = f;
    f = f - record.gain + record.cost;
    record.fAfter = f;
  });
  return records;
}

export interface ModelRecruitmentResult {
  plan: ModelRecruitmentPlan;
  records: SpecialistRecord[];
  /** Trained adapters of every accepted specialist, by domain. */
  accepted: Map<string, AdapterState>;
  measurements: TaskMeasurement[];
}

/** Runs every task in this thread and decides. The job runs the tasks on several workers instead. */
export async function recruitModels(
  parent: RunState,
  options: Partial<ModelRecruitmentOptions> = {},
  callbacks: ModelRecruitmentCallbacks = {},
): Promise<ModelRecruitmentResult> {
  const plan = planModelRecruitment(parent, options);
  const measurements: TaskMeasurement[] = [];
  for (const task of plan.tasks) measurements.push(await runRecruitTask(parent, plan, task, callbacks));
  const records = decideSpecialists(plan, measurements);
  const accepted = new Map<string, AdapterState>();
  for (const record of records) {
    if (record.decision !== 'accepted') continue;
    const result = measurements.find((measurement) => measurement.task.kind === 'specialist' && measurement.task.domain === record.domain);
    if (result?.adapters) accepted.set(record.domain, result.adapters);
  }
  return { plan, records, accepted, measurements };
}
