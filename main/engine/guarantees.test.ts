import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { initBackend } from './backend';
import {
  binaryEntropy,
  concentratedBlockMasses,
  dialThreshold,
  entropyBound,
  entropyBoundPeak,
  predictedFidelity,
  strengthNeeded,
  summarize,
} from './guarantees';
import { dialAttention } from './model';
import { createRandom, type Random } from './random';

beforeAll(async () => {
  await initBackend();
});

describe('closed forms', () => {
  test('threshold reaches the required fidelity exactly', () => {
    for (const [eps, p, beta] of [
      [0.1, 0.2, 6],
      [0.05, 0.01, 3],
      [0.3, 0.5, 1],
    ]) {
      const lambda = dialThreshold(eps, p, beta);
      expect(predictedFidelity(p, lambda, beta)).toBeCloseTo(1 - eps, 12);
    }
  });

  test('threshold edge cases', () => {
    expect(dialThreshold(0.1, 0, 6)).toBe(Infinity);
    expect(dialThreshold(0.1, 1, 6)).toBe(0);
    expect(dialThreshold(0.1, 0.95, 6)).toBe(0);
    expect(strengthNeeded(0.1, 0.1)).toBeCloseTo(Math.log(81), 12);
    expect(() => dialThreshold(0, 0.5, 6)).toThrow(/outside \(0, 1\)/);
    expect(() => dialThreshold(0.1, 0.5, 0)).toThrow(/beta = 0/);
  });

  test('entropy bound of a uniform row', () => {
    // A row uniform over b + m keys has eps = m / (m + b) and entropy ln(b + m), the bound's peak.
    const b = 3;
    const m = 5;
    expect(entropyBound(entropyBoundPeak(b, m), b, m)).toBeCloseTo(Math.log(b + m), 12);
    expect(binaryEntropy(0)).toBe(0);
    expect(binaryEntropy(0.5)).toBeCloseTo(Math.LN2, 12);
  });

  test('summary interval brackets the mean', () => {
    const summary = summarize([0.9, 0.95, 0.99, 0.8])!;
    expect(summary.count).toBe(4);
    expect(summary.minimum).toBe(0.8);
    expect(summary.mean).toBeCloseTo(0.91, 12);
    expect(summary.interval[0]).toBeLessThan(summary.mean);
    expect(summary.interval[1]).toBeGreaterThan(summary.mean);
    expect(summarize([])).toBeNull();
  });
});

interface Draw {
  lambda: number;
  higherLambda: number;
  kappa: number;
  scores: Float32Array;
  keysOneHot: Float32Array;
  targetMask: Float32Array;
  strength: Float32Array;
  active: Uint8Array;
  eps: Float32Array;
}

const B = 2;
const H = 2;
const T = 16;
const MAX_BLOCKS = 5;

/**
 * One batch of random rows: logits at a random scale, a random block layout
 * per sequence, and on about half the rows an active rule whose targets are
 * one block, two blocks (two rules on the row) or some anchors of a block.
 */
function drawBatch(random: Random): Draw {
  const G = MAX_BLOCKS;
  const scale = 0.5 + 4 * random();
  const scores = new Float32Array(B * H * T * T);
  const keysOneHot = new Float32Array(B * T * G);
  const keyBlock = new Int32Array(B * T);
  const blocksUsed = 2 + Math.floor(random() * (G - 1));
  for (let k = 0; k < B * T; k++) {
    keyBlock[k] = Math.floor(random() * blocksUsed);
    keysOneHot[k * G + keyBlock[k]] = 1;
  }
  const targetMask = new Float32Array(B * H * T * T);
  const strength = new Float32Array(B * H * T);
  const active = new Uint8Array(B * H * T);
  const eps = new Float32Array(B * H * T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < T; i++) {
        const row = (b * H + h) * T + i;
        for (let j = 0; j < T; j++) {
          // Box-Muller normal logits; masked keys get the model's large negative logit.
          const normal = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
          scores[row * T + j] = j <= i ? scale * normal : -1e9;
        }
        eps[row] = 0.01 + 0.4 * random();
        if (random() < 0.5) continue;
        const kind = random();
        const first = 1 + Math.floor(random() * (blocksUsed - 1));
        const second = 1 + Math.floor(random() * (blocksUsed - 1));
        let targets = 0;
        for (let j = 0; j <= i; j++) {
          const g = keyBlock[b * T + j];
          let target = g === first;
          if (kind < 0.33) target = g === first || g === second; // two blocks
          else if (kind < 0.66) target = g === first && random() < 0.5; // anchors only
          if (target) {
            targetMask[row * T + j] = 1;
            targets++;
          }
        }
        if (targets === 0) continue;
        active[row] = 1;
        strength[row] = 0.5 + 9.5 * random();
      }
    }
  }
  const lambda = random();
  return { lambda, higherLambda: lambda + (1 - lambda) * random(), kappa: 8 * random(), scores, keysOneHot, targetMask, strength, active, eps };
}

function dial(draw: Draw, lambda: number): { p: Float32Array; a: Float32Array } {
  return tf.tidy(() => {
    const scores = tf.tensor4d(draw.scores, [B, H, T, T]);
    const attention = tf.softmax(scores);
    const keysOneHot = tf.tensor3d(draw.keysOneHot, [B, T, MAX_BLOCKS]);
    const dialled = dialAttention(
      attention,
      scores,
      {
        keysOneHot,
        keysOneHotT: tf.transpose(keysOneHot, [0, 2, 1]),
        targetMask: tf.tensor4d(draw.targetMask, [B, H, T, T]),
        strength: draw.strength,
        active: draw.active,
      },
      { lambda, kappa: draw.kappa },
    );
    return { p: attention.dataSync() as Float32Array, a: dialled.dataSync() as Float32Array };
  });
}

function rowEntropy(values: Float32Array, start: number, length: number): number {
  let entropy = 0;
  for (let j = 0; j < length; j++) if (values[start + j] > 0) entropy -= values[start + j] * Math.log(values[start + j]);
  return entropy;
}

describe('property: dialled attention keeps its guarantees', () => {
  test('random rows never violate the identities and bounds', () => {
    const random = createRandom(20_261_204);
    const tolerance = 1e-4;
    let ruleRows = 0;
    let thresholdRows = 0;
    let otherRows = 0;
    const violations: string[] = [];
    const fail = (what: string) => {
      if (violations.length < 5) violations.push(what);
    };
    // Each batch draws its own lambda, kappa and logit scale, and each sequence its own block layout.
    for (let batch = 0; batch < 600; batch++) {
      const draw = drawBatch(random);
      const low = dial(draw, draw.lambda);
      const high = dial(draw, draw.higherLambda);
      for (let row = 0; row < B * H * T; row++) {
        const i = row % T;
        const start = row * T;
        const visible = i + 1;
        if (draw.active[row]) {
          let p = 0;
          let measured = 0;
          let measuredHigh = 0;
          let targets = 0;
          for (let j = 0; j <= i; j++) {
            if (!draw.targetMask[start + j]) continue;
            p += low.p[start + j];
            measured += low.a[start + j];
            measuredHigh += high.a[start + j];
            targets++;
          }
          const beta = draw.strength[row];
          const predicted = predictedFidelity(p, draw.lambda, beta);
          if (Math.abs(measured - predicted) > tolerance) fail(`fidelity ${measured} vs formula ${predicted}`);
          if (measuredHigh < measured - 1e-6) fail(`fidelity fell from ${measured} to ${measuredHigh} as lambda rose`);
          const others = visible - targets;
          const entropy = rowEntropy(low.a, start, visible);
          if (entropy > entropyBound(1 - measured, targets, others) + tolerance) fail(`entropy ${entropy} above its bound`);
          const eps = draw.eps[row];
          const threshold = dialThreshold(eps, p, beta);
          if (p > 1e-6 && p < 1 - 1e-6) {
            // The threshold is exact: at or above it the row reaches 1 - eps, below it not.
            if (draw.lambda >= threshold + 1e-3 && measured < 1 - eps - tolerance) fail(`lambda above threshold but fidelity ${measured} < ${1 - eps}`);
            if (draw.lambda <= threshold - 1e-3 && measured > 1 - eps + tolerance) fail(`lambda below threshold but fidelity ${measured} > ${1 - eps}`);
            if (draw.lambda >= threshold && eps < entropyBoundPeak(targets, others)) {
              if (entropy > entropyBound(eps, targets, others) + tolerance) fail(`entropy ${entropy} above the bound at eps ${eps}`);
            }
            thresholdRows++;
          }
          ruleRows++;
          continue;
        }
        // Rows without a rule: block masses follow the concentration law and sharpen with lambda.
        const sequence = Math.floor(row / (H * T));
        const masses = new Array<number>(MAX_BLOCKS).fill(0);
        const dialled = new Array<number>(MAX_BLOCKS).fill(0);
        const dialledHigh = new Array<number>(MAX_BLOCKS).fill(0);
        for (let j = 0; j <= i; j++) {
          const g = draw.keysOneHot.subarray((sequence * T + j) * MAX_BLOCKS, (sequence * T + j + 1) * MAX_BLOCKS).indexOf(1);
          masses[g] += low.p[start + j];
          dialled[g] += low.a[start + j];
          dialledHigh[g] += high.a[start + j];
        }
        // Float32 softmax cannot resolve masses near the 1e-9 floor of the logarithm.
        if (masses.some((mass) => mass > 0 && mass < 1e-5)) continue;
        const law = concentratedBlockMasses(masses, draw.lambda, draw.kappa);
        for (let g = 0; g < MAX_BLOCKS; g++) if (Math.abs(dialled[g] - law[g]) > tolerance) fail(`block mass ${dialled[g]} vs law ${law[g]}`);
        const blockEntropy = (values: number[]) => values.reduce((sum, mass) => (mass > 0 ? sum - mass * Math.log(mass) : sum), 0);
        if (blockEntropy(dialledHigh) > blockEntropy(dialled) + tolerance) fail('block entropy rose with lambda');
        if (Math.max(...dialledHigh) < Math.max(...dialled) - tolerance) fail('largest block share fell as lambda rose');
        otherRows++;
      }
    }
    expect(violations).toEqual([]);
    expect(ruleRows + otherRows).toBeGreaterThanOrEqual(10_000);
    expect(ruleRows).toBeGreaterThan(5_000);
    expect(thresholdRows).toBeGreaterThan(4_000);
    expect(otherRows).toBeGreaterThan(1_000);
  });
});

describe('group sparsity penalties on attention rows', () => {
  // Rows uniform inside each block, with the mass split between blocks in different ways.
  const blockSizes = [4, 6, 2];
  const rowFor = (split: number[]) => blockSizes.flatMap((size, g) => Array.from({ length: size }, () => split[g] / size));
  const splits = [
    [1, 0, 0],
    [0, 0, 1],
    [0.5, 0.5, 0],
    [0.2, 0.3, 0.5],
  ];
  const groups = (row: number[]) => {
    let offset = 0;
    return blockSizes.map((size) => {
      const group = row.slice(offset, offset + size);
      offset += size;
      return group;
    });
  };
  const groupLassoL1 = (row: number[]) => groups(row).reduce((sum, group) => sum + group.reduce((s, a) => s + Math.abs(a), 0), 0);
  const groupLassoL2 = (row: number[]) =>
    groups(row).reduce((sum, group) => sum + Math.sqrt(group.length) * Math.sqrt(group.reduce((s, a) => s + a * a, 0)), 0);
  const blockEntropy = (row: number[]) =>
    groups(row).reduce((sum, group) => {
      const mass = group.reduce((s, a) => s + a, 0);
      return mass > 0 ? sum - mass * Math.log(mass) : sum;
    }, 0);

  test('group lasso forms cannot prefer one block', () => {
    for (const split of splits) {
      const row = rowFor(split);
      // The L1 form is the row's total mass, 1 on every attention row.
      expect(groupLassoL1(row)).toBeCloseTo(1, 12);
      // sqrt|B_g| * ||A_g||_2 equals the block's mass when uniform inside it, so the L2 form is 1 too.
      expect(groupLassoL2(row)).toBeCloseTo(1, 12);
    }
  });

  test('block entropy prefers one block', () => {
    expect(blockEntropy(rowFor(splits[0]))).toBe(0);
    expect(blockEntropy(rowFor(splits[1]))).toBe(0);
    expect(blockEntropy(rowFor(splits[2]))).toBeCloseTo(Math.LN2, 12);
    expect(blockEntropy(rowFor(splits[3]))).toBeGreaterThan(blockEntropy(rowFor(splits[2])));
  });
});
