import { describe, expect, it } from 'vitest';

import {
  DEFAULT_INTERPOLATION_GRID,
  bigramPerplexity,
  bigramProbability,
  fitBigram,
  pairCount,
  tuneInterpolation,
} from './bigram';
import { loadBrownCorpus, splitCorpus } from './corpus';
import { createRandom } from './random';
import { Tokenizer } from './tokenizer';

// Stream 1 2 3 2 3 4 over a vocabulary of 5: N = 6, so Puni(w) = (c(w) + 1) / 11
// with c = [0, 1, 2, 2, 1]. Pairs: (1,2) (2,3) (3,2) (2,3) (3,4), so
// c(1) = 1, c(2) = 2, c(3) = 2, and id 4 is never a context.
const TINY_STREAM = Int32Array.from([1, 2, 3, 2, 3, 4]);
const TINY_VOCAB = 5;

describe('fitBigram', () => {
  const model = fitBigram(TINY_STREAM, TINY_VOCAB, 0.5);

  it('bigram matches hand-computed probabilities', () => {
    expect([...model.unigramProbabilities]).toEqual([1 / 11, 2 / 11, 3 / 11, 3 / 11, 2 / 11]);
    expect([...model.contextCounts]).toEqual([0, 1, 2, 2, 0]);
    // 0.5 * 2/2 + 0.5 * 3/11
    expect(bigramProbability(model, 2, 3)).toBeCloseTo(7 / 11, 12);
    // 0.5 * 1/2 + 0.5 * 2/11
    expect(bigramProbability(model, 3, 4)).toBeCloseTo(15 / 44, 12);
    // Unseen pair: only the unigram term, 0.5 * 1/11.
    expect(bigramProbability(model, 2, 0)).toBeCloseTo(1 / 22, 12);
  });

  it('unseen context falls back to unigram', () => {
    expect(bigramProbability(model, 4, 2)).toBe(3 / 11);
    expect(bigramProbability(model, 0, 1)).toBe(2 / 11);
  });

  it('probabilities sum to one per context', () => {
    for (let previous = 0; previous < TINY_VOCAB; previous++) {
      let total = 0;
      for (let next = 0; next < TINY_VOCAB; next++) total += bigramProbability(model, previous, next);
      expect(total).toBeCloseTo(1, 12);
    }
  });

  it('sparse counts equal dense counts', () => {
    const vocabSize = 30;
    const random = createRandom(4);
    const stream = Int32Array.from({ length: 5_000 }, () => Math.floor(random() * random() * vocabSize));
    const dense = new Float64Array(vocabSize * vocabSize);
    for (let t = 1; t < stream.length; t++) dense[stream[t - 1] * vocabSize + stream[t]]++;

    const sparse = fitBigram(stream, vocabSize);
    for (let previous = 0; previous < vocabSize; previous++) {
      for (let next = 0; next < vocabSize; next++) {
        expect(pairCount(sparse, previous, next)).toBe(dense[previous * vocabSize + next]);
      }
    }
  });

  it('rejects invalid input', () => {
    expect(() => fitBigram(Int32Array.from([1, 5]), 5)).toThrow('training stream has token id 5 at position 1');
    expect(() => fitBigram(Int32Array.from([1]), 5)).toThrow('training stream length 1 is too short');
    expect(() => fitBigram(TINY_STREAM, 0)).toThrow('vocabulary size 0 is invalid');
    expect(() => fitBigram(TINY_STREAM, 5, 1.5)).toThrow('interpolation weight 1.5 is invalid');
  });
});

describe('bigramPerplexity', () => {
  const model = fitBigram(TINY_STREAM, TINY_VOCAB, 0.5);

  it('perplexity matches hand computation', () => {
    // Positions 1 and 2 of [2, 3, 4]: P(3 | 2) = 7/11 and P(4 | 3) = 15/44.
    const expected = Math.exp(-(Math.log(7 / 11) + Math.log(15 / 44)) / 2);
    expect(bigramPerplexity(model, Int32Array.from([2, 3, 4]))).toBeCloseTo(expected, 10);
  });

  it('weight zero gives unigram perplexity', () => {
    const unigram = fitBigram(TINY_STREAM, TINY_VOCAB, 0);
    const ids = Int32Array.from([1, 2, 0, 4]);
    const expected = Math.exp(-(Math.log(3 / 11) + Math.log(1 / 11) + Math.log(2 / 11)) / 3);
    expect(bigramPerplexity(unigram, ids)).toBeCloseTo(expected, 10);
  });

  it('rejects streams too short or out of range', () => {
    expect(() => bigramPerplexity(model, Int32Array.from([2]))).toThrow('evaluation stream length 1 is too short');
    expect(() => bigramPerplexity(model, Int32Array.from([2, 9]))).toThrow('evaluation stream has token id 9 at position 1');
  });
});

describe('tuneInterpolation', () => {
  it('tuning picks the grid minimum', () => {
    const random = createRandom(8);
    const vocabSize = 50;
    const stream = (length: number): Int32Array => {
      // Each token is the previous one plus one with probability 0.6, otherwise
      // uniform, so bigrams help but do not decide the next token.
      const ids = new Int32Array(length);
      for (let t = 1; t < length; t++) {
        ids[t] = random() < 0.6 ? (ids[t - 1] + 1) % vocabSize : Math.floor(random() * vocabSize);
      }
      return ids;
    };
    const model = fitBigram(stream(20_000), vocabSize);
    const validation = stream(2_000);
    const tuning = tuneInterpolation(model, validation);

    expect(tuning.perplexities.map((entry) => entry.interpolation)).toEqual(DEFAULT_INTERPOLATION_GRID);
    const minimum = Math.min(...tuning.perplexities.map((entry) => entry.perplexity));
    expect(tuning.validationPerplexity).toBe(minimum);
    expect(tuning.model.interpolation).toBe(tuning.interpolation);
    expect(tuning.interpolation).toBeGreaterThan(0.05);
    expect(tuning.interpolation).toBeLessThan(0.95);
    expect(bigramPerplexity(tuning.model, validation)).toBeCloseTo(tuning.validationPerplexity, 9);
  });

  it('deterministic stream prefers the largest weight', () => {
    const cycle = Int32Array.from({ length: 300 }, (_, t) => t % 3);
    const tuning = tuneInterpolation(fitBigram(cycle, 3), cycle);
    expect(tuning.interpolation).toBe(0.95);
  });

  it('rejects an empty or invalid grid', () => {
    const model = fitBigram(TINY_STREAM, TINY_VOCAB);
    expect(() => tuneInterpolation(model, TINY_STREAM, [])).toThrow('interpolation grid is empty');
    expect(() => tuneInterpolation(model, TINY_STREAM, [0.5, -1])).toThrow('interpolation weight -1 is invalid');
  });
});

describe('brown bigram baseline', () => {
  it('brown bigram test perplexity is about 180', () => {
    const splits = splitCorpus(loadBrownCorpus());
    const tokenizer = Tokenizer.fit(splits.train.map((document) => document.text), 8000);
    const encode = (documents: typeof splits.train): Int32Array =>
      tokenizer.encodeDocuments(documents.map((document) => document.text));

    const tuning = tuneInterpolation(fitBigram(encode(splits.train), tokenizer.size), encode(splits.validation));
    const perplexity = bigramPerplexity(tuning.model, encode(splits.test));

    // Measured with seed 1 and a 5% / 5% split: weight 0.7, test perplexity 176.8.
    expect(tuning.interpolation).toBeCloseTo(0.7, 10);
    expect(perplexity).toBeGreaterThan(170);
    expect(perplexity).toBeLessThan(185);
  }, 60_000);
});
