/**
 * Block recruitment within one model, by penalized likelihood in BIC form
 * (nats). A model's score is
 *
 *     F(M) = NLL(D_train | M) + sum over blocks k of C_k
 *     C_k  = (P_block / 2) ln N_train + |B_k| ln(K + 1),  P_block = D + L H
 *
 * with N_train the training tokens, K the model's block count, and
 * NLL(D_train | M) estimated as N_train times the mean NLL on a fixed sample
 * E of the training split. Each round clusters frequent background tokens
 * by their input embeddings into candidate blocks. It trains the most
 * promising candidates and an unchanged baseline for the same steps on the
 * same batches. The best candidate is kept only when it lowers F by more
 * than delta and also lowers the held-out NLL. Otherwise the baseline is
 * kept and recruitment stops. F >= 0 falls by more than delta at every
 * accepted round, so recruitment ends after finitely many rounds.
 */
import * as tf from '@tensorflow/tfjs';
import { appendFile } from 'node:fs/promises';
import { heldOutWindows, mean, positionNll, sampleWindows, type WindowSet } from './sample-windows';
import { BACKGROUND_BLOCK, type BlockInfo, type BlockSpec } from './blocks';
import { cosineKMeans } from './kmeans';
import { blocksFileOf, copyRun, copyRunWithBlock, runWithModel } from './model-copy';
import type { ModelConfig } from './model';
import type { OptimizerConfig } from './optimizer';
import { DOC_ID, UNK_ID } from './tokenizer';
import { computeGradients, disposeRun, type RunState } from './trainer';

export interface RecruitmentOptions {
  /** Training steps S of each candidate and of the round's baseline (default 200). */
  stepsPerCandidate: number;
  /** Minimum training-split count c_min of a candidate token (default 20). */
  minimumCount: number;
  /** Clusters C of the cosine k-means over candidate tokens' input embeddings (default 8). */
  clusters: number;
  /** Maximum tokens of a candidate block, so a larger cluster keeps its most frequent tokens (default 64). */
  maximumBlockTokens: number;
  /** Minimum tokens of a candidate block. Smaller clusters are dropped (default 2). */
  minimumBlockTokens: number;
  /** Candidates trained per round, those with the largest total NLL of their tokens on E (default 3). */
  shortlistSize: number;
  /** Tokens of the fixed training sample E, in whole context windows (default 32,768). */
  sampleTokens: number;
  /** Validation tokens of the held-out check, in whole context windows (default 16,384). */
  heldOutTokens: number;
  /** Margin delta in nats by which F must fall for a candidate to be accepted (default 1). */
  delta: number;
  /** Block count K_max at which recruitment stops (default 32). */
  maximumBlocks: number;
  /** Rounds after which recruitment stops (default 8). */
  maximumRounds: number;
  /** Seed of E's windows and of the k-means seeding (default 1). */
  seed: number;
  /**
   * Dial values at which NLL is measured, and the NLL is their mean. Default:
   * the fixed training lambda, or 0.25 and 0.75 (the two-point midpoint rule
   * for the mean over lambda in [0, 1]) when training draws lambda uniformly.
   */
  evaluationLambdas?: number[];
  /**
   * Token lists to use as the candidates of every round in place of the
   * clusters. Tokens already in a block are dropped, and the count and size
   * limits do not apply.
   */
  candidateTokens?: string[][];
  /** JSON Lines file to which each candidate record is appended as one line. */
  recordsPath?: string;
}

export const DEFAULT_RECRUITMENT_OPTIONS: Omit<RecruitmentOptions, 'evaluationLambdas' | 'candidateTokens' | 'recordsPath'> = {
  stepsPerCandidate: 200,
  minimumCount: 20,
  clusters: 8,
  maximumBlockTokens: 64,
  minimumBlockTokens: 2,
  shortlistSize: 3,
  sampleTokens: 32_768,
  heldOutTokens: 16_384,
  delta: 1,
  maximumBlocks: 32,
  maximumRounds: 8,
  seed: 1,
};

/** Position of recruitment, reported after every training step. */
export interface RecruitmentProgress {
  /** Round, from 1. */
  round: number;
  /** Shortlist index of the candidate being trained, from 0, or null for the baseline. */
  candidate: number | null;
  /** Steps done of `steps` for this model. */
  step: number;
  steps: number;
}

export interface RecruitmentCallbacks {
  onProgress?: (progress: RecruitmentProgress) => void;
  /** Receives each candidate record once its round is decided. */
  onRecord?: (record: CandidateRecord) => void;
  /** Signal checked between training steps and evaluation batches. Abort raises an `AbortError`. */
  signal?: AbortSignal;
}

export type RecruitmentDecision = 'accepted' | 'rejected: cost' | 'rejected: held-out' | 'rejected: not best';

/** The settings that produced a record. */
export interface RecordConfig {
  stepsPerCandidate: number;
  minimumCount: number;
  clusters: number;
  maximumBlockTokens: number;
  shortlistSize: number;
  seed: number;
  /** Tokens actually in E: whole windows, at most the training text. */
  sampleTokens: number;
  heldOutTokens: number;
  delta: number;
  evaluationLambdas: number[];
  /** True when the candidates came from `candidateTokens`, not from clustering. */
  givenCandidates: boolean;
}

/** One evaluated candidate block. All NLL and F values are in nats. */
export interface CandidateRecord {
  round: number;
  /** Index in the round's shortlist, from 0. */
  candidate: number;
  blockId: string;
  blockName: string;
  /** Tokens of the candidate block, most frequent first. */
  tokens: string[];
  /** Total NLL on E, under the model at the start of the round, of the positions whose target is one of the tokens. */
  sampleTokenNll: number;
  /** Mean NLL per token on E of the baseline and of the candidate after S steps. */
  baselineSampleNll: number;
  candidateSampleNll: number;
  /** N_train times (baseline - candidate) mean NLL on E. */
  gain: number;
  /** C_new of the candidate block, with K counting it. */
  cost: number;
  /** Rise of the other blocks' membership code from adding this block: sum of |B_k| ln((K + 2) / (K + 1)), K counted before. */
  repricing: number;
  baselineHeldOutNll: number;
  candidateHeldOutNll: number;
  /** F of the baseline, and F the model would have with this candidate. */
  fBefore: number;
  fAfter: number;
  decision: RecruitmentDecision;
  config: RecordConfig;
}

/** A candidate found at the start of a round, evaluated or not. */
export interface CandidateSummary {
  tokens: string[];
  sampleTokenNll: number;
  shortlisted: boolean;
}

export interface RecruitmentRound {
  round: number;
  /** Named blocks at the start of the round. */
  blocksBefore: number;
  /** Mean NLL on E of the model at the start of the round, before the S steps. */
  startSampleNll: number;
  candidates: CandidateSummary[];
  /** Id of the accepted block, or null when the baseline was kept. */
  accepted: string | null;
  /** F of the baseline, and of the model kept (the accepted candidate, or the baseline). */
  fBefore: number;
  fAfter: number;
}

export type RecruitmentStop = 'rejected' | 'maximum-blocks' | 'maximum-rounds' | 'no-candidates';

export interface RecruitmentResult {
  /** The kept model in a new run with its blocks and a fresh optimizer. The caller disposes it. */
  run: RunState;
  records: CandidateRecord[];
  rounds: RecruitmentRound[];
  /** Blocks recruited, in order. */
  recruited: BlockInfo[];
  stopReason: RecruitmentStop;
  /** N_train. */
  trainingTokens: number;
}

// ---------------------------------------------------------------------------
// Costs

/** Parameters P_block = D + L H that one block adds. */
export function blockParameterCount(config: Pick<ModelConfig, 'width' | 'layers' | 'heads'>): number {
  return config.width + config.layers * config.heads;
}

/** C_k = (P_block / 2) ln N_train + |B_k| ln(K + 1), in nats. */
export function blockCost(blockTokens: number, blockCount: number, parameters: number, trainingTokens: number): number {
  return (parameters / 2) * Math.log(trainingTokens) + blockTokens * Math.log(blockCount + 1);
}

/** F = N_train * meanNll + sum of C_k over blocks of the given sizes, in nats. */
export function penalizedLikelihood(
  meanNll: number,
  blockSizes: number[],
  parameters: number,
  trainingTokens: number,
): number {
  let total = trainingTokens * meanNll;
  for (const size of blockSizes) total += blockCost(size, blockSizes.length, parameters, trainingTokens);
  return total;
}

// ---------------------------------------------------------------------------
// Measurement

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new DOMException('block recruitment cancelled', 'AbortError');
}

/** Lets abort events and progress messages through between steps. */
function yieldToEvents(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

// ---------------------------------------------------------------------------
// Candidates

/** A candidate block before evaluation: token ids, most frequent first. */
interface Candidate {
  tokenIds: number[];
  sampleTokenNll: number;
}

function byCountDescending(counts: Float64Array): (a: number, b: number) => number {
  return (a, b) => counts[b] - counts[a] || a - b;
}

/**
 * Clusters the background tokens seen at least `minimumCount` times by
 * cosine k-means on their rows of the token embedding. Each cluster with at
 * least `minimumBlockTokens` tokens, cut to its `maximumBlockTokens` most
 * frequent, is a candidate. Returns each candidate's token ids, most
 * frequent first.
 */
export function clusterCandidates(run: RunState, options: RecruitmentOptions): number[][] {
  const counts = run.data.trainCounts;
  const ids: number[] = [];
  for (let id = 0; id < counts.length; id++) {
    if (id === UNK_ID || id === DOC_ID || run.blockTable.blockOf[id] !== BACKGROUND_BLOCK) continue;
    if (counts[id] >= options.minimumCount) ids.push(id);
  }
  if (ids.length < options.minimumBlockTokens) return [];

  const D = run.modelConfig.width;
  const embedding = run.model.param('tokenEmbedding').dataSync() as Float32Array; // [V, D]
  const rows = new Float32Array(ids.length * D); // [candidate tokens, D]
  ids.forEach((id, row) => rows.set(embedding.subarray(id * D, (id + 1) * D), row * D));
  const { assignments } = cosineKMeans(rows, D, { clusters: Math.min(options.clusters, ids.length), seed: options.seed });

  const clusters = new Map<number, number[]>();
  ids.forEach((id, row) => {
    const members = clusters.get(assignments[row]);
    if (members) members.push(id);
    else clusters.set(assignments[row], [id]);
  });
  return [...clusters.keys()]
    .sort((a, b) => a - b)
    .map((cluster) => (clusters.get(cluster) as number[]).sort(byCountDescending(counts)).slice(0, options.maximumBlockTokens))
    .filter((tokens) => tokens.length >= options.minimumBlockTokens);
}

/** Resolves given candidate words to ids, dropping words already in a block. */
function givenCandidates(run: RunState, lists: string[][]): number[][] {
  const { tokenizer, trainCounts } = run.data;
  return lists
    .map((words, index) =>
      words.map((word) => {
        const id = tokenizer.idOf(word);
        if (id === undefined || id === UNK_ID || id === DOC_ID) {
          throw new RangeError(
            `candidate ${index} token "${word}" is not a vocabulary word; list words the tokenizer knows, lower-cased`,
          );
        }
        return id;
      }),
    )
    .map((ids) => [...new Set(ids)].filter((id) => run.blockTable.blockOf[id] === BACKGROUND_BLOCK).sort(byCountDescending(trainCounts)))
    .filter((ids) => ids.length > 0);
}

/** Total NLL on E of the positions whose target is one of the candidate's tokens. */
function tokenNllTotal(tokenIds: number[], sample: WindowSet, nll: Float32Array, T: number): number {
  const members = new Set(tokenIds);
  let total = 0;
  sample.offsets.forEach((offset, window) => {
    for (let t = 0; t < T; t++) {
      if (members.has(sample.stream[offset + t + 1])) total += nll[window * T + t];
    }
  });
  return total;
}

/** Returns `text` in lower-case ASCII letters and digits, with every other run of characters as one "-", for ids and file names. */
export function slug(text: string): string {
  return text.normalize('NFKD').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
}

/**
 * Returns a block spec for recruited words, given most frequent first. Its
 * id is "recruited-" and the two most frequent words, made unique among
 * `usedIds`, and its name lists the three most frequent words.
 */
export function recruitedBlockSpec(words: string[], usedIds: Set<string>): BlockSpec {
  const joined = words
    .slice(0, 2)
    .map(slug)
    .filter((part) => part.length > 0)
    .join('-');
  const stem = joined ? `recruited-${joined}` : 'recruited';
  let id = stem;
  for (let suffix = 2; usedIds.has(id); suffix++) id = `${stem}-${suffix}`;
  return { id, name: words.slice(0, 3).join(', '), tokens: [...words], origin: 'recruited' };
}

async function appendRecord(path: string, record: CandidateRecord): Promise<void> {
  try {
    await appendFile(path, `${JSON.stringify(record)}\n`, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new Error(`recruitment records file "${path}" could not be written (${code}); check that its folder exists and is writable`);
  }
}

// ---------------------------------------------------------------------------
// Training

/**
 * Trains `steps` steps on the run's batches, which follow the run's seed and
 * step counter, so copies at one step see the same batches. The optimizer's
 * schedule restarts at 0 for these steps.
 */
async function trainSteps(
  run: RunState,
  steps: number,
  report: (step: number) => void,
  signal: AbortSignal | undefined,
): Promise<void> {
  const tokensPerStep = run.config.batchSize * run.config.model.contextLength;
  for (let step = 0; step < steps; step++) {
    throwIfAborted(signal);
    const started = performance.now();
    const { report: stepReport, grads } = computeGradients(run);
    if (!Number.isFinite(stepReport.loss)) {
      tf.dispose(Object.values(grads));
      throw new Error(
        `recruitment training diverged at step ${run.step} (loss ${stepReport.loss}); lower the learning rate (now ${run.config.optimizer.learningRate})`,
      );
    }
    run.optimizer.apply(run.model.params, grads, step);
    tf.dispose(Object.values(grads));
    run.step += 1;
    run.tokensSeen += tokensPerStep;
    run.elapsedSeconds += (performance.now() - started) / 1000;
    report(step + 1);
    await yieldToEvents();
  }
}

/**
 * Optimizer config of the S recruitment steps: the run's, with a schedule
 * over S steps. Warm-up is cut to S / 4 so that the decay has room.
 */
function recruitmentOptimizer(run: RunState, steps: number): OptimizerConfig {
  const base = run.config.optimizer;
  return { ...base, totalSteps: steps, warmupSteps: Math.min(base.warmupSteps, Math.floor(steps / 4)) };
}

// ---------------------------------------------------------------------------
// Recruitment

function resolveOptions(run: RunState, options: Partial<RecruitmentOptions>): RecruitmentOptions & { evaluationLambdas: number[] } {
  const resolved = { ...DEFAULT_RECRUITMENT_OPTIONS, ...options };
  const lambdaTrain = run.config.lambdaTrain;
  const evaluationLambdas = options.evaluationLambdas ?? (lambdaTrain === 'uniform' ? [0.25, 0.75] : [lambdaTrain]);
  const integers: [string, number, number][] = [
    ['steps per candidate', resolved.stepsPerCandidate, 1],
    ['minimum count', resolved.minimumCount, 1],
    ['cluster count', resolved.clusters, 1],
    ['maximum block tokens', resolved.maximumBlockTokens, 1],
    ['minimum block tokens', resolved.minimumBlockTokens, 1],
    ['shortlist size', resolved.shortlistSize, 1],
    ['sample tokens', resolved.sampleTokens, 1],
    ['held-out tokens', resolved.heldOutTokens, 1],
    ['maximum blocks', resolved.maximumBlocks, 1],
    ['maximum rounds', resolved.maximumRounds, 1],
  ];
  for (const [name, value, minimum] of integers) {
    if (!Number.isInteger(value) || value < minimum) {
      throw new RangeError(`recruitment ${name} ${value} is invalid; use an integer >= ${minimum}`);
    }
  }
  if (resolved.minimumBlockTokens > resolved.maximumBlockTokens) {
    throw new RangeError(
      `recruitment minimum block tokens ${resolved.minimumBlockTokens} exceeds the maximum ${resolved.maximumBlockTokens}; lower the minimum`,
    );
  }
  if (!(resolved.delta >= 0) || !Number.isFinite(resolved.delta)) {
    throw new RangeError(`recruitment delta ${resolved.delta} is invalid; use a finite number of nats >= 0, such as 1`);
  }
  if (evaluationLambdas.length === 0 || evaluationLambdas.some((lambda) => !(lambda >= 0 && lambda <= 1))) {
    throw new RangeError(`evaluation lambdas [${evaluationLambdas}] are invalid; list one or more values in [0, 1]`);
  }
  return { ...resolved, evaluationLambdas };
}

/** Measurements of one trained candidate in a round, before the decision. */
interface Evaluated {
  spec: BlockSpec;
  candidate: Candidate;
  sampleNll: number;
  heldOutNll: number;
  fAfter: number;
  gain: number;
  cost: number;
  repricing: number;
}

/** Rise of the existing blocks' membership code when a block is added to `sizes`: sum of |B_k| ln((K + 2) / (K + 1)). */
function membershipRepricing(sizes: number[]): number {
  const K = sizes.length;
  let tokens = 0;
  for (const size of sizes) tokens += size;
  return tokens * (Math.log(K + 2) - Math.log(K + 1));
}

/**
 * Recruits blocks into a copy of `run`'s model, round by round, until a
 * round keeps its baseline or a limit is reached. `run` itself is neither
 * trained nor disposed. Every shortlisted candidate becomes a record, passed
 * to `onRecord` and appended to `recordsPath` once its round is decided.
 * Abort raises an `AbortError` and disposes every copy.
 */
export async function recruitBlocks(
  run: RunState,
  options: Partial<RecruitmentOptions> = {},
  callbacks: RecruitmentCallbacks = {},
): Promise<RecruitmentResult> {
  if (run.modelConfig.adapters) {
    // Training a block into a specialist would move the parent weights that it shares.
    throw new RangeError('this checkpoint is a specialist, whose parent weights are frozen; recruit blocks in its parent, then recruit specialists again');
  }
  const settings = resolveOptions(run, options);
  const { signal } = callbacks;
  const S = settings.stepsPerCandidate;
  const T = run.config.model.contextLength;
  const trainingTokens = run.data.streams.train.length;
  const parameters = blockParameterCount(run.modelConfig);
  const sample = sampleWindows(run.data.streams.train, T, settings.sampleTokens, settings.seed);
  const heldOut = heldOutWindows(run.data.streams.validation, T, settings.heldOutTokens);
  const optimizer = recruitmentOptimizer(run, S);
  const lambdas = settings.evaluationLambdas;
  const recordConfig: RecordConfig = {
    stepsPerCandidate: S,
    minimumCount: settings.minimumCount,
    clusters: settings.clusters,
    maximumBlockTokens: settings.maximumBlockTokens,
    shortlistSize: settings.shortlistSize,
    seed: settings.seed,
    sampleTokens: sample.tokens,
    heldOutTokens: heldOut.tokens,
    delta: settings.delta,
    evaluationLambdas: [...lambdas],
    givenCandidates: settings.candidateTokens !== undefined,
  };

  const records: CandidateRecord[] = [];
  const rounds: RecruitmentRound[] = [];
  const live = new Set<RunState>();
  const release = (state: RunState) => {
    live.delete(state);
    disposeRun(state);
  };
  const own = (state: RunState) => {
    live.add(state);
    return state;
  };
  const blockSizes = (state: RunState) => state.blockTable.blocks.map((block) => block.tokenIds.length);
  const fOf = (state: RunState, meanNll: number) => penalizedLikelihood(meanNll, blockSizes(state), parameters, trainingTokens);

  // Resolving the given candidates once up front rejects unknown words before any training.
  if (settings.candidateTokens) givenCandidates(run, settings.candidateTokens);

  let current = own(copyRun(run, optimizer));
  let stopReason: RecruitmentStop = 'maximum-rounds';
  try {
    for (let round = 1; round <= settings.maximumRounds; round++) {
      const K = current.blockTable.blocks.length;
      if (K >= settings.maximumBlocks) {
        stopReason = 'maximum-blocks';
        break;
      }

      // Candidates from the round's starting model, shortlisted by their tokens' NLL on E.
      const startNll = await positionNll(current, sample, lambdas, signal);
      const candidateIds = settings.candidateTokens
        ? givenCandidates(current, settings.candidateTokens)
        : clusterCandidates(current, settings);
      if (candidateIds.length === 0) {
        stopReason = 'no-candidates';
        break;
      }
      const candidates: Candidate[] = candidateIds.map((tokenIds) => ({
        tokenIds,
        sampleTokenNll: tokenNllTotal(tokenIds, sample, startNll, T),
      }));
      const shortlist = [...candidates]
        .sort((a, b) => b.sampleTokenNll - a.sampleTokenNll)
        .slice(0, settings.shortlistSize);

      // The baseline: an unchanged copy trained S steps, so that extra training alone earns nothing.
      const baseline = own(copyRun(current, optimizer));
      await trainSteps(baseline, S, (step) => callbacks.onProgress?.({ round, candidate: null, step, steps: S }), signal);
      const baselineSampleNll = mean(await positionNll(baseline, sample, lambdas, signal));
      const baselineHeldOutNll = mean(await positionNll(baseline, heldOut, lambdas, signal));
      const fBefore = fOf(baseline, baselineSampleNll);

      // Each shortlisted candidate: the model with the block added, trained on the same S batches.
      const usedIds = new Set(current.blockTable.blocks.map((block) => block.id));
      const evaluated: Evaluated[] = [];
      let best: { index: number; state: RunState } | null = null;
      for (const [index, candidate] of shortlist.entries()) {
        const spec = recruitedBlockSpec(current.data.tokenizer.decode(candidate.tokenIds), usedIds);
        usedIds.add(spec.id);
        const state = own(copyRunWithBlock(current, spec, optimizer));
        await trainSteps(state, S, (step) => callbacks.onProgress?.({ round, candidate: index, step, steps: S }), signal);
        const sampleNll = mean(await positionNll(state, sample, lambdas, signal));
        const heldOutNll = mean(await positionNll(state, heldOut, lambdas, signal));
        const result: Evaluated = {
          spec,
          candidate,
          sampleNll,
          heldOutNll,
          fAfter: fOf(state, sampleNll),
          gain: trainingTokens * (baselineSampleNll - sampleNll),
          cost: blockCost(candidate.tokenIds.length, K + 1, parameters, trainingTokens),
          repricing: membershipRepricing(blockSizes(current)),
        };
        evaluated.push(result);
        // Only the best trained candidate stays alive, because its F decides the round.
        if (!best || result.fAfter < evaluated[best.index].fAfter) {
          if (best) release(best.state);
          best = { index, state };
        } else {
          release(state);
        }
      }

      // Decide: the best candidate must lower F by more than delta and lower the held-out NLL.
      const decisions = evaluated.map((result, index) =>
        decide(result, index === best?.index, fBefore, baselineHeldOutNll, settings.delta),
      );
      const acceptedIndex = decisions.indexOf('accepted');
      const roundRecords = evaluated.map(
        (result, index): CandidateRecord => ({
          round,
          candidate: index,
          blockId: result.spec.id,
          blockName: result.spec.name,
          tokens: result.spec.tokens,
          sampleTokenNll: result.candidate.sampleTokenNll,
          baselineSampleNll,
          candidateSampleNll: result.sampleNll,
          gain: result.gain,
          cost: result.cost,
          repricing: result.repricing,
          baselineHeldOutNll,
          candidateHeldOutNll: result.heldOutNll,
          fBefore,
          fAfter: result.fAfter,
          decision: decisions[index],
          config: recordConfig,
        }),
      );
      for (const record of roundRecords) {
        records.push(record);
        callbacks.onRecord?.(record);
        if (settings.recordsPath) await appendRecord(settings.recordsPath, record);
      }

      const shortlisted = new Set(shortlist);
      const summary: RecruitmentRound = {
        round,
        blocksBefore: K,
        startSampleNll: mean(startNll),
        candidates: candidates.map((candidate) => ({
          tokens: current.data.tokenizer.decode(candidate.tokenIds),
          sampleTokenNll: candidate.sampleTokenNll,
          shortlisted: shortlisted.has(candidate),
        })),
        accepted: acceptedIndex >= 0 ? evaluated[acceptedIndex].spec.id : null,
        fBefore,
        fAfter: acceptedIndex >= 0 ? evaluated[acceptedIndex].fAfter : fBefore,
      };
      rounds.push(summary);

      release(current);
      if (acceptedIndex >= 0 && best) {
        release(baseline);
        current = best.state;
        continue;
      }
      if (best) release(best.state);
      current = baseline;
      stopReason = 'rejected';
      break;
    }

    // The kept model moves into a run with the caller's optimizer config.
    const final = runWithModel(current, current.model, blocksFileOf(current));
    live.delete(current);
    current.optimizer.dispose();
    const recruited = final.blockTable.blocks.slice(run.blockTable.blocks.length);
    return { run: final, records, rounds, recruited, stopReason, trainingTokens };
  } catch (error) {
    for (const state of live) disposeRun(state);
    live.clear();
    throw error;
  }
}

/**
 * Decides on one candidate. The best one is accepted when it lowers F by
 * more than delta and lowers the held-out NLL. Every other candidate is
 * rejected with the first test it fails, or as "not best" when it passes both.
 *
 * NOTE: the F test is gain - cost - repricing > delta. Adding a block raises
 * K, so the membership code of every existing block rises too (repricing).
 * Without existing blocks repricing is 0 and the test is the plain
 * gain - cost > delta. With them, the plain test alone would not guarantee
 * that F falls by more than delta.
 */
function decide(
  result: Evaluated,
  isBest: boolean,
  fBefore: number,
  baselineHeldOutNll: number,
  delta: number,
): RecruitmentDecision {
  if (!(fBefore - result.fAfter > delta)) return 'rejected: cost';
  if (!(result.heldOutNll < baselineHeldOutNll)) return 'rejected: held-out';
  return isBest ? 'accepted' : 'rejected: not best';
}
