import { describe, expect, test } from 'vitest';
import { cosineKMeans, normalizeRows } from './kmeans';
import { createRandom } from './random';

const DIMENSION = 8;

/**
 * Rows around `groups` random directions, each row scaled by a factor in
 * [0.1, 10] so that Euclidean k-means would split groups by length while
 * cosine k-means must not. Returns the rows and each row's group.
 */
function directionGroups(groups: number, rowsPerGroup: number, noise: number, seed: number): { rows: Float32Array; truth: number[] } {
  const random = createRandom(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const directions = Array.from({ length: groups }, () => Array.from({ length: DIMENSION }, normal));
  const rows = new Float32Array(groups * rowsPerGroup * DIMENSION);
  const truth: number[] = [];
  let r = 0;
  for (let g = 0; g < groups; g++) {
    for (let i = 0; i < rowsPerGroup; i++, r++) {
      const scale = 0.1 + random() * 9.9;
      for (let d = 0; d < DIMENSION; d++) rows[r * DIMENSION + d] = scale * (directions[g][d] + noise * normal());
      truth.push(g);
    }
  }
  return { rows, truth };
}

/** True when two labelings split the rows the same way, up to renaming clusters. */
function samePartition(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  const forward = new Map<number, number>();
  const backward = new Map<number, number>();
  for (let i = 0; i < a.length; i++) {
    if ((forward.get(a[i]) ?? b[i]) !== b[i] || (backward.get(b[i]) ?? a[i]) !== a[i]) return false;
    forward.set(a[i], b[i]);
    backward.set(b[i], a[i]);
  }
  return true;
}

describe('cosineKMeans', () => {
  test('recovers direction groups of mixed lengths', () => {
    const { rows, truth } = directionGroups(4, 15, 0.1, 3);
    const result = cosineKMeans(rows, DIMENSION, { clusters: 4, seed: 1 });
    expect(samePartition(result.assignments, truth)).toBe(true);
    expect(result.converged).toBe(true);
  });

  test('centroids have unit length', () => {
    const { rows } = directionGroups(3, 10, 0.3, 5);
    const { centroids } = cosineKMeans(rows, DIMENSION, { clusters: 3, seed: 2 });
    for (let c = 0; c < 3; c++) {
      let squares = 0;
      for (let d = 0; d < DIMENSION; d++) squares += centroids[c * DIMENSION + d] ** 2;
      expect(Math.abs(Math.sqrt(squares) - 1)).toBeLessThan(1e-5);
    }
  });

  test('same seed gives same clusters', () => {
    const { rows } = directionGroups(5, 12, 1.5, 7);
    const first = cosineKMeans(rows, DIMENSION, { clusters: 5, seed: 11 });
    const second = cosineKMeans(rows, DIMENSION, { clusters: 5, seed: 11 });
    expect(Array.from(second.assignments)).toEqual(Array.from(first.assignments));
    expect(Array.from(second.centroids)).toEqual(Array.from(first.centroids));
  });

  test('rescaling rows leaves clusters unchanged', () => {
    const { rows } = directionGroups(4, 10, 1, 13);
    const random = createRandom(17);
    const rescaled = Float32Array.from(rows);
    for (let r = 0; r < rows.length / DIMENSION; r++) {
      const scale = 0.01 + random() * 100;
      for (let d = 0; d < DIMENSION; d++) rescaled[r * DIMENSION + d] *= scale;
    }
    const original = cosineKMeans(rows, DIMENSION, { clusters: 4, seed: 3 });
    const scaled = cosineKMeans(rescaled, DIMENSION, { clusters: 4, seed: 3 });
    expect(Array.from(scaled.assignments)).toEqual(Array.from(original.assignments));
  });

  test('duplicate rows leave no cluster empty', () => {
    // Five copies of one row and one other row, in three clusters: two seeds
    // fall on equal copies, so one cluster starts empty and must be re-seeded.
    const rows = new Float32Array(6 * 2);
    for (let r = 0; r < 5; r++) rows.set([1, 0], r * 2);
    rows.set([0, 1], 10);
    for (let seed = 1; seed <= 10; seed++) {
      const { assignments } = cosineKMeans(rows, 2, { clusters: 3, seed });
      const sizes = [0, 0, 0];
      for (const cluster of assignments) sizes[cluster]++;
      expect(sizes.every((size) => size > 0)).toBe(true);
      expect(assignments[5]).not.toBe(assignments[0]);
    }
  });

  test('iteration limit stops early', () => {
    const { rows } = directionGroups(6, 20, 3, 19);
    const result = cosineKMeans(rows, DIMENSION, { clusters: 6, seed: 1, maxIterations: 1 });
    expect(result.iterations).toBe(1);
    expect(result.converged).toBe(false);
  });

  test('invalid cluster count is rejected', () => {
    const rows = new Float32Array(3 * DIMENSION).fill(1);
    expect(() => cosineKMeans(rows, DIMENSION, { clusters: 4, seed: 1 })).toThrow(/cluster count 4 is invalid for 3 rows/);
    expect(() => cosineKMeans(rows, DIMENSION, { clusters: 0, seed: 1 })).toThrow(/cluster count 0/);
  });

  test('non-finite input is rejected', () => {
    const rows = new Float32Array(2 * DIMENSION).fill(1);
    rows[DIMENSION + 3] = Number.NaN;
    expect(() => cosineKMeans(rows, DIMENSION, { clusters: 1, seed: 1 })).toThrow(/NaN at row 1/);
  });
});

describe('normalizeRows', () => {
  test('scales rows to unit length and keeps zero rows', () => {
    const unit = normalizeRows(Float32Array.from([3, 4, 0, 0]), 2, 2);
    expect(Array.from(unit)).toEqual([0.6000000238418579, 0.800000011920929, 0, 0]);
  });
});
