/**
 * The closed-form guarantees of the dialled attention, in nats. For an active
 * rule row, p is the undialled attention mass on the rule's targets, b the
 * number of visible target keys and m the number of other visible keys; a
 * required fidelity phi is written 1 - eps.
 */

/**
 * Dialled target mass of a rule row: every target logit rises by
 * lambda * beta and no other logit moves, so
 * A_T = p e^(lambda beta) / (p e^(lambda beta) + 1 - p).
 */
export function predictedFidelity(p: number, lambda: number, beta: number): number {
  if (p <= 0) return 0;
  if (p >= 1) return 1;
  const boosted = p * Math.exp(lambda * beta);
  return boosted / (boosted + 1 - p);
}

/**
 * Smallest lambda with A_T >= 1 - eps for a row of undialled target mass p:
 * ln((1 - eps)(1 - p) / (eps p)) / beta, or 0 when p alone reaches it.
 * Infinity when p = 0, because no dial setting moves a row with no target
 * attention. The value may exceed 1, meaning the dial cannot reach it.
 */
export function dialThreshold(eps: number, p: number, beta: number): number {
  validateEpsilon(eps);
  if (!(beta > 0)) throw new RangeError(`rule strength beta = ${beta} is invalid; use a positive number of nats`);
  if (p <= 0) return Infinity;
  if (p >= 1) return 0;
  return Math.max(0, Math.log(((1 - eps) * (1 - p)) / (eps * p)) / beta);
}

/**
 * Strength beta in nats that reaches fidelity 1 - eps at lambda = 1 for
 * undialled target mass p: ln((1 - eps)(1 - p) / (eps p)). Infinity when p = 0.
 */
export function strengthNeeded(eps: number, p: number): number {
  validateEpsilon(eps);
  if (p <= 0) return Infinity;
  if (p >= 1) return 0;
  return Math.max(0, Math.log(((1 - eps) * (1 - p)) / (eps * p)));
}

/** Binary entropy h(x) = -x ln x - (1 - x) ln(1 - x), in nats; h(0) = h(1) = 0. */
export function binaryEntropy(x: number): number {
  let h = 0;
  if (x > 0) h -= x * Math.log(x);
  if (x < 1) h -= (1 - x) * Math.log(1 - x);
  return h;
}

/**
 * Largest attention entropy of a row with mass 1 - eps on b target keys and
 * eps on m other keys: h(eps) + (1 - eps) ln b + eps ln m, in nats. With
 * m = 0 the row has no other key, so eps must be 0 and the bound is ln b.
 */
export function entropyBound(eps: number, b: number, m: number): number {
  if (b < 1) throw new RangeError(`target key count b = ${b} is invalid; a rule row has at least one target key`);
  if (m === 0) return Math.log(b);
  return binaryEntropy(eps) + (1 - eps) * Math.log(b) + eps * Math.log(m);
}

/** Share of off-target mass up to which the entropy bound rises with eps: m / (m + b). */
export function entropyBoundPeak(b: number, m: number): number {
  return m / (m + b);
}

/**
 * Dialled block masses of a row without a rule:
 * M_g = m_g^(1 + lambda kappa) / sum_g' m_g'^(1 + lambda kappa).
 */
export function concentratedBlockMasses(masses: readonly number[], lambda: number, kappa: number): number[] {
  const exponent = 1 + lambda * kappa;
  const powered = masses.map((mass) => (mass > 0 ? mass ** exponent : 0));
  const total = powered.reduce((sum, value) => sum + value, 0);
  return powered.map((value) => value / total);
}

/** Mean, minimum and a normal-approximation 95% interval of the mean (mean +- 1.96 s / sqrt(n)). */
export function summarize(values: readonly number[]): { mean: number; minimum: number; interval: [number, number]; count: number } | null {
  const count = values.length;
  if (count === 0) return null;
  let sum = 0;
  let minimum = Infinity;
  for (const value of values) {
    sum += value;
    minimum = Math.min(minimum, value);
  }
  const mean = sum / count;
  let squares = 0;
  for (const value of values) squares += (value - mean) ** 2;
  const deviation = count > 1 ? Math.sqrt(squares / (count - 1)) : 0;
  const half = (1.96 * deviation) / Math.sqrt(count);
  return { mean, minimum, interval: [mean - half, mean + half], count };
}

function validateEpsilon(eps: number): void {
  if (!(eps > 0 && eps < 1)) {
    throw new RangeError(`off-target share eps = ${eps} is outside (0, 1); required fidelity must be strictly between 0 and 1`);
  }
}
