/**
 * AdamW with a warm-up then cosine learning-rate schedule and global-norm
 * gradient clipping. Its moment estimates are plain variables so that a
 * checkpoint can store them and a resumed run continues exactly.
 */
import * as tf from '@tensorflow/tfjs';

export interface OptimizerConfig {
  /** Peak learning rate (default 3e-3). */
  learningRate: number;
  /** Steps of linear warm-up from 0 to the peak (default 50). */
  warmupSteps: number;
  /** Total steps; the rate decays to 10% of the peak by the last one. */
  totalSteps: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** Decoupled weight decay per step, times the learning rate (default 0.01); not applied to biases, norms and embeddings of positions. */
  weightDecay: number;
  /** Maximum global gradient norm (default 1). */
  clipNorm: number;
}

export const DEFAULT_OPTIMIZER: Omit<OptimizerConfig, 'totalSteps'> = {
  learningRate: 3e-3,
  warmupSteps: 50,
  beta1: 0.9,
  beta2: 0.99,
  epsilon: 1e-8,
  weightDecay: 0.01,
  clipNorm: 1,
};

/**
 * Learning rate at `step`. After warm-up the cosine decay follows the share
 * of steps done, or `progress` in [0, 1] when the caller passes one (a run
 * with a time budget passes the larger of its step and time shares).
 */
export function learningRateAt(config: OptimizerConfig, step: number, progress?: number): number {
  if (step < config.warmupSteps) return (config.learningRate * (step + 1)) / config.warmupSteps;
  const span = Math.max(1, config.totalSteps - config.warmupSteps);
  const stepShare = Math.min(1, (step - config.warmupSteps) / span);
  const done = Math.min(1, Math.max(stepShare, progress ?? 0));
  const floor = 0.1;
  return config.learningRate * (floor + (1 - floor) * 0.5 * (1 + Math.cos(Math.PI * done)));
}

function decays(name: string): boolean {
  return name.endsWith('.kernel') || name === 'tokenEmbedding';
}

export class AdamW {
  readonly config: OptimizerConfig;
  /** First and second moment per parameter name. */
  readonly moments = new Map<string, { m: tf.Variable; v: tf.Variable }>();

  constructor(config: OptimizerConfig, params: Map<string, tf.Variable>) {
    this.config = config;
    for (const [name, variable] of params) {
      // A variable keeps its initial value's data, so the zeros tensors can be released.
      const zerosM = tf.zerosLike(variable);
      const zerosV = tf.zerosLike(variable);
      this.moments.set(name, { m: tf.variable(zerosM, false), v: tf.variable(zerosV, false) });
      zerosM.dispose();
      zerosV.dispose();
    }
  }

  /**
   * Applies one update for step `step` (0-based) and returns the global
   * gradient norm before clipping. Disposes nothing it was given.
   */
  apply(params: Map<string, tf.Variable>, grads: Record<string, tf.Tensor>, step: number, progress?: number): number {
    const { beta1, beta2, epsilon, weightDecay, clipNorm } = this.config;
    const rate = learningRateAt(this.config, step, progress);
    const normTensor = tf.tidy(() => {
      const squares = Object.values(grads).map((g) => tf.sum(tf.square(g)));
      return tf.sqrt(tf.addN(squares));
    });
    const norm = normTensor.dataSync()[0];
    normTensor.dispose();
    const scale = norm > clipNorm ? clipNorm / norm : 1;
    const correction1 = 1 - beta1 ** (step + 1);
    const correction2 = 1 - beta2 ** (step + 1);
    tf.tidy(() => {
      for (const [name, variable] of params) {
        const grad = grads[name];
        const state = this.moments.get(name);
        if (!grad || !state) continue;
        const g = scale === 1 ? grad : tf.mul(grad, scale);
        const m = tf.add(tf.mul(state.m, beta1), tf.mul(g, 1 - beta1));
        const v = tf.add(tf.mul(state.v, beta2), tf.mul(tf.square(g), 1 - beta2));
        state.m.assign(m);
        state.v.assign(v);
        const update = tf.div(tf.div(m, correction1), tf.add(tf.sqrt(tf.div(v, correction2)), epsilon));
        let next = tf.sub(variable, tf.mul(update, rate));
        if (weightDecay > 0 && decays(name)) next = tf.sub(next, tf.mul(variable, rate * weightDecay));
        variable.assign(next);
      }
    });
    return norm;
  }

  dispose(): void {
    for (const { m, v } of this.moments.values()) {
      m.dispose();
      v.dispose();
    }
    this.moments.clear();
  }
}
