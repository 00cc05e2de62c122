/**
 * Interpolated bigram baseline over token id streams, the yardstick that a
 * trained transformer's perplexity is compared with:
 *
 *   P(w | v) = a * c(v, w) / c(v) + (1 - a) * Puni(w)
 *   Puni(w)  = (c(w) + 1) / (N + V)            add-one smoothing
 *
 * c(v, w) counts the pair "v then w" in the training stream, c(v) counts v as
 * the first token of a pair, c(w) counts w anywhere in the stream, N is the
 * stream length and V the vocabulary size. When c(v) = 0, P(w | v) = Puni(w).
 * Log-quantities are in nats.
 */

/** Bigram counts in compressed sparse row form, plus the interpolation weight. */
export interface BigramModel {
  readonly vocabSize: number;
  /** Weight a of the bigram term, in [0, 1]. */
  readonly interpolation: number;
  /** Add-one smoothed unigram probabilities Puni, indexed by token id. */
  readonly unigramProbabilities: Float64Array;
  /** c(v): how often each id is the first token of a training pair. */
  readonly contextCounts: Float64Array;
  /** Offsets of the rows, length V + 1: row v's pairs are entries rowStarts[v] to rowStarts[v + 1] - 1. */
  readonly rowStarts: Int32Array;
  /** Second token w of each pair, ascending within a row. */
  readonly nextIds: Int32Array;
  /** c(v, w) of each pair. */
  readonly pairCounts: Float64Array;
}

/** Result of choosing the interpolation weight on validation data. */
export interface BigramTuning {
  /** The input model with the chosen interpolation weight. */
  model: BigramModel;
  interpolation: number;
  validationPerplexity: number;
  /** Validation perplexity at every weight tried, in grid order. */
  perplexities: { interpolation: number; perplexity: number }[];
}

/** Interpolation weights 0.05, 0.10, ..., 0.95. */
export const DEFAULT_INTERPOLATION_GRID: readonly number[] = Array.from({ length: 19 }, (_, i) => (i + 1) / 20);

/** Counts unigrams and bigrams of a training stream. `interpolation` is the weight a. */
export function fitBigram(trainIds: Int32Array, vocabSize: number, interpolation = 0.5): BigramModel {
  if (!Number.isInteger(vocabSize) || vocabSize < 1) {
    throw new Error(`vocabulary size ${vocabSize} is invalid; use a positive integer`);
  }
  validateInterpolation(interpolation);
  validateIds(trainIds, vocabSize, 'training');
  if (trainIds.length < 2) {
    throw new Error(`training stream length ${trainIds.length} is too short; a bigram model needs at least 2 tokens`);
  }

  const tokenCounts = new Float64Array(vocabSize);
  for (let t = 0; t < trainIds.length; t++) tokenCounts[trainIds[t]]++;
  const unigramProbabilities = new Float64Array(vocabSize);
  const unigramDenominator = trainIds.length + vocabSize;
  for (let id = 0; id < vocabSize; id++) unigramProbabilities[id] = (tokenCounts[id] + 1) / unigramDenominator;

  // Sorting the pair keys v * V + w groups equal pairs and orders them by row,
  // which builds the sparse rows in one pass. Keys are exact integers while
  // V * V < 2^53, that is for vocabularies below about 94 million ids.
  const keys = new Float64Array(trainIds.length - 1);
  for (let t = 1; t < trainIds.length; t++) keys[t - 1] = trainIds[t - 1] * vocabSize + trainIds[t];
  keys.sort();

  const contextCounts = new Float64Array(vocabSize);
  const rowStarts = new Int32Array(vocabSize + 1);
  const nextIds: number[] = [];
  const pairCounts: number[] = [];
  for (let start = 0; start < keys.length; ) {
    let end = start + 1;
    while (end < keys.length && keys[end] === keys[start]) end++;
    const previous = Math.floor(keys[start] / vocabSize);
    nextIds.push(keys[start] - previous * vocabSize);
    pairCounts.push(end - start);
    contextCounts[previous] += end - start;
    rowStarts[previous + 1]++;
    start = end;
  }
  for (let v = 0; v < vocabSize; v++) rowStarts[v + 1] += rowStarts[v];

  return {
    vocabSize,
    interpolation,
    unigramProbabilities,
    contextCounts,
    rowStarts,
    nextIds: Int32Array.from(nextIds),
    pairCounts: Float64Array.from(pairCounts),
  };
}

/** Returns c(previous, next) by binary search in row `previous`. */
export function pairCount(model: BigramModel, previous: number, next: number): number {
  let low = model.rowStarts[previous];
  let high = model.rowStarts[previous + 1] - 1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const id = model.nextIds[middle];
    if (id === next) return model.pairCounts[middle];
    if (id < next) low = middle + 1;
    else high = middle - 1;
  }
  return 0;
}

/** Returns P(next | previous) under the model's interpolation weight. */
export function bigramProbability(model: BigramModel, previous: number, next: number): number {
  return interpolate(model, model.interpolation, previous, next);
}

function interpolate(model: BigramModel, interpolation: number, previous: number, next: number): number {
  const unigram = model.unigramProbabilities[next];
  const context = model.contextCounts[previous];
  if (context === 0) return unigram;
  return (interpolation * pairCount(model, previous, next)) / context + (1 - interpolation) * unigram;
}

/**
 * Computes the perplexity exp(mean negative log-likelihood in nats) of predicting ids[t]
 * from ids[t - 1], over every position t >= 1.
 */
export function bigramPerplexity(model: BigramModel, ids: Int32Array): number {
  validateIds(ids, model.vocabSize, 'evaluation');
  if (ids.length < 2) {
    throw new Error(`evaluation stream length ${ids.length} is too short; perplexity needs at least 2 tokens`);
  }
  let negativeLogLikelihood = 0;
  for (let t = 1; t < ids.length; t++) {
    negativeLogLikelihood -= Math.log(bigramProbability(model, ids[t - 1], ids[t]));
  }
  return Math.exp(negativeLogLikelihood / (ids.length - 1));
}

/**
 * Chooses the interpolation weight with the lowest validation perplexity
 * from `grid`. Ties go to the earlier weight.
 */
export function tuneInterpolation(
  model: BigramModel,
  validationIds: Int32Array,
  grid: readonly number[] = DEFAULT_INTERPOLATION_GRID,
): BigramTuning {
  if (grid.length === 0) throw new Error('interpolation grid is empty; pass at least one weight in [0, 1]');
  grid.forEach(validateInterpolation);
  validateIds(validationIds, model.vocabSize, 'validation');
  if (validationIds.length < 2) {
    throw new Error(`validation stream length ${validationIds.length} is too short; tuning needs at least 2 tokens`);
  }

  // The relative bigram frequency and Puni of each position do not depend on
  // the weight, so they are looked up once and reused for every grid point.
  const positions = validationIds.length - 1;
  const bigramTerms = new Float64Array(positions);
  const unigramTerms = new Float64Array(positions);
  const hasContext = new Uint8Array(positions);
  for (let t = 1; t < validationIds.length; t++) {
    const previous = validationIds[t - 1];
    const next = validationIds[t];
    const context = model.contextCounts[previous];
    unigramTerms[t - 1] = model.unigramProbabilities[next];
    if (context > 0) {
      hasContext[t - 1] = 1;
      bigramTerms[t - 1] = pairCount(model, previous, next) / context;
    }
  }

  const perplexities = grid.map((interpolation) => {
    let negativeLogLikelihood = 0;
    for (let i = 0; i < positions; i++) {
      const probability = hasContext[i]
        ? interpolation * bigramTerms[i] + (1 - interpolation) * unigramTerms[i]
        : unigramTerms[i];
      negativeLogLikelihood -= Math.log(probability);
    }
    return { interpolation, perplexity: Math.exp(negativeLogLikelihood / positions) };
  });

  let best = perplexities[0];
  for (const entry of perplexities) if (entry.perplexity < best.perplexity) best = entry;
  return {
    model: { ...model, interpolation: best.interpolation },
    interpolation: best.interpolation,
    validationPerplexity: best.perplexity,
    perplexities,
  };
}

function validateInterpolation(interpolation: number): void {
  if (!Number.isFinite(interpolation) || interpolation < 0 || interpolation > 1) {
    throw new Error(`interpolation weight ${interpolation} is invalid; use a number in [0, 1]`);
  }
}

function validateIds(ids: Int32Array, vocabSize: number, streamName: string): void {
  for (let t = 0; t < ids.length; t++) {
    if (ids[t] < 0 || ids[t] >= vocabSize) {
      throw new Error(
        `${streamName} stream has token id ${ids[t]} at position ${t}, outside the vocabulary of size ${vocabSize}; encode it with the model's tokenizer`,
      );
    }
  }
}
