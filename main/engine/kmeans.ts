/**
 * Cosine (spherical) k-means on the rows of a matrix: rows and centroids
 * are L2-normalized, each row joins the centroid of largest cosine
 * similarity, and a centroid is the normalized mean of its rows. Seeding is
 * k-means++ with a seeded generator, so equal inputs and seeds give equal
 * clusters.
 */
import { createRandom } from './random';

export interface KMeansOptions {
  /** Number of clusters k, an integer in [1, rows]. */
  clusters: number;
  /** Seed of the k-means++ draws. */
  seed: number;
  /** Maximum assignment-update iterations (default 100). */
  maxIterations?: number;
}

export interface KMeansResult {
  /** Cluster of each row, in [0, k). */
  assignments: Int32Array;
  /** Unit-length centroids, [k, dimension] row-major. */
  centroids: Float32Array;
  /** Assignment-update iterations run. */
  iterations: number;
  /** True when an iteration left every assignment unchanged before the iteration limit. */
  converged: boolean;
}

export const DEFAULT_KMEANS_ITERATIONS = 100;

/**
 * Clusters `rows` ([count, dimension] row-major) by cosine similarity.
 * A zero row has cosine 0 with every centroid, so it joins cluster 0. An
 * empty cluster is re-seeded with the row farthest from its own centroid,
 * taken from a cluster that keeps at least one row.
 */
export function cosineKMeans(rows: Float32Array, dimension: number, options: KMeansOptions): KMeansResult {
  const count = validateInputs(rows, dimension, options);
  const k = options.clusters;
  const maxIterations = options.maxIterations ?? DEFAULT_KMEANS_ITERATIONS;
  const random = createRandom(options.seed);

  const unit = normalizeRows(rows, count, dimension); // [count, dimension]
  const centroids = seedCentroids(unit, count, dimension, k, random); // [k, dimension]
  const assignments = new Int32Array(count).fill(-1);
  const similarity = new Float64Array(count); // cosine of each row with its centroid

  let iterations = 0;
  let converged = false;
  while (iterations < maxIterations) {
    iterations++;
    let changed = assignRows(unit, centroids, count, dimension, k, assignments, similarity);
    changed = reseedEmptyClusters(unit, centroids, count, dimension, k, assignments, similarity) || changed;
    updateCentroids(unit, centroids, count, dimension, k, assignments);
    if (!changed) {
      converged = true;
      break;
    }
  }
  return { assignments, centroids, iterations, converged };
}

function validateInputs(rows: Float32Array, dimension: number, options: KMeansOptions): number {
  if (!Number.isInteger(dimension) || dimension < 1) {
    throw new RangeError(`k-means dimension ${dimension} is invalid; use a positive integer`);
  }
  if (rows.length % dimension !== 0) {
    throw new RangeError(`k-means input has ${rows.length} values, not a whole number of rows of dimension ${dimension}`);
  }
  const count = rows.length / dimension;
  if (!Number.isInteger(options.clusters) || options.clusters < 1 || options.clusters > count) {
    throw new RangeError(`k-means cluster count ${options.clusters} is invalid for ${count} rows; use an integer from 1 to ${count}`);
  }
  const maxIterations = options.maxIterations ?? DEFAULT_KMEANS_ITERATIONS;
  if (!Number.isInteger(maxIterations) || maxIterations < 1) {
    throw new RangeError(`k-means iteration limit ${maxIterations} is invalid; use a positive integer`);
  }
  for (let i = 0; i < rows.length; i++) {
    if (!Number.isFinite(rows[i])) {
      throw new RangeError(`k-means input value ${rows[i]} at row ${Math.floor(i / dimension)} is not finite`);
    }
  }
  return count;
}

/** Returns a copy of the rows scaled to unit length. Zero rows stay zero. */
export function normalizeRows(rows: Float32Array, count: number, dimension: number): Float32Array {
  const unit = new Float32Array(count * dimension);
  for (let r = 0; r < count; r++) {
    const base = r * dimension;
    let squares = 0;
    for (let d = 0; d < dimension; d++) squares += rows[base + d] * rows[base + d];
    if (squares === 0) continue;
    const scale = 1 / Math.sqrt(squares);
    for (let d = 0; d < dimension; d++) unit[base + d] = rows[base + d] * scale;
  }
  return unit;
}

function dot(a: Float32Array, aBase: number, b: Float32Array, bBase: number, dimension: number): number {
  let sum = 0;
  for (let d = 0; d < dimension; d++) sum += a[aBase + d] * b[bBase + d];
  return sum;
}

/**
 * k-means++ seeding: the first centroid is a uniformly drawn row, and each
 * next one a row drawn with probability proportional to its squared distance
 * to the nearest chosen centroid. For unit rows that distance is
 * 2 - 2 cos. When every remaining distance is zero, the first row not yet
 * chosen is taken, so duplicate rows still give k distinct seeds.
 */
function seedCentroids(unit: Float32Array, count: number, dimension: number, k: number, random: () => number): Float32Array {
  const centroids = new Float32Array(k * dimension);
  const chosen = new Uint8Array(count);
  const nearest = new Float64Array(count).fill(Infinity); // squared distance to the nearest centroid

  let next = Math.floor(random() * count);
  for (let c = 0; c < k; c++) {
    chosen[next] = 1;
    centroids.set(unit.subarray(next * dimension, (next + 1) * dimension), c * dimension);
    if (c === k - 1) break;

    let total = 0;
    for (let r = 0; r < count; r++) {
      const distance = Math.max(0, 2 - 2 * dot(unit, r * dimension, centroids, c * dimension, dimension));
      nearest[r] = Math.min(nearest[r], chosen[r] ? 0 : distance);
      total += nearest[r];
    }
    next = total > 0 ? drawProportional(nearest, total, random) : chosen.indexOf(0);
  }
  return centroids;
}

function drawProportional(weights: Float64Array, total: number, random: () => number): number {
  let target = random() * total;
  let last = 0;
  for (let r = 0; r < weights.length; r++) {
    if (weights[r] <= 0) continue;
    last = r;
    target -= weights[r];
    if (target < 0) return r;
  }
  // Rounding can leave a sliver of `target`, so the last row with weight takes it.
  return last;
}

/** Assigns each row to the centroid of largest cosine, ties to the lower index, and returns whether any assignment changed. */
function assignRows(
  unit: Float32Array,
  centroids: Float32Array,
  count: number,
  dimension: number,
  k: number,
  assignments: Int32Array,
  similarity: Float64Array,
): boolean {
  let changed = false;
  for (let r = 0; r < count; r++) {
    let best = 0;
    let bestSimilarity = -Infinity;
    for (let c = 0; c < k; c++) {
      const value = dot(unit, r * dimension, centroids, c * dimension, dimension);
      if (value > bestSimilarity) {
        bestSimilarity = value;
        best = c;
      }
    }
    if (assignments[r] !== best) changed = true;
    assignments[r] = best;
    similarity[r] = bestSimilarity;
  }
  return changed;
}

/**
 * Gives each empty cluster the row least similar to its own centroid among
 * clusters with two or more rows, and returns whether any cluster was empty.
 */
function reseedEmptyClusters(
  unit: Float32Array,
  centroids: Float32Array,
  count: number,
  dimension: number,
  k: number,
  assignments: Int32Array,
  similarity: Float64Array,
): boolean {
  const sizes = new Int32Array(k);
  for (let r = 0; r < count; r++) sizes[assignments[r]]++;
  let reseeded = false;
  for (let c = 0; c < k; c++) {
    if (sizes[c] > 0) continue;
    let farthest = -1;
    for (let r = 0; r < count; r++) {
      if (sizes[assignments[r]] < 2) continue;
      if (farthest < 0 || similarity[r] < similarity[farthest]) farthest = r;
    }
    // k <= count, so some cluster has two rows while another is empty.
    sizes[assignments[farthest]]--;
    sizes[c] = 1;
    assignments[farthest] = c;
    similarity[farthest] = 1;
    centroids.set(unit.subarray(farthest * dimension, (farthest + 1) * dimension), c * dimension);
    reseeded = true;
  }
  return reseeded;
}

/** Sets each centroid to the normalized mean of its rows. A centroid whose rows sum to zero keeps its old value. */
function updateCentroids(
  unit: Float32Array,
  centroids: Float32Array,
  count: number,
  dimension: number,
  k: number,
  assignments: Int32Array,
): void {
  const sums = new Float64Array(k * dimension);
  for (let r = 0; r < count; r++) {
    const base = assignments[r] * dimension;
    for (let d = 0; d < dimension; d++) sums[base + d] += unit[r * dimension + d];
  }
  for (let c = 0; c < k; c++) {
    const base = c * dimension;
    let squares = 0;
    for (let d = 0; d < dimension; d++) squares += sums[base + d] * sums[base + d];
    if (squares === 0) continue;
    const scale = 1 / Math.sqrt(squares);
    for (let d = 0; d < dimension; d++) centroids[base + d] = sums[base + d] * scale;
  }
}
