/**
 * Tensor operations with hand-written gradients, chosen for the wasm backend:
 * - the stock `gather` gradient needs the `UnsortedSegmentSum` kernel, which
 *   wasm lacks, so embeddings scatter-add their gradient with `scatterND`
 *   (which sums duplicate indices);
 * - batched matMul with a transposed operand is about 11 times slower on wasm
 *   than a plain one, so matMul gradients transpose explicitly first;
 * - softmax cross-entropy is fused, so its gradient is one subtraction.
 * Each op has a gradient test against the stock composition in ops.test.ts.
 */
import * as tf from '@tensorflow/tfjs';

interface GradientDefinition {
  value: tf.Tensor;
  gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[];
}

// tfjs types a custom gradient function's parameters as one union list
// (inputs and the save function together); these wrappers give the two
// arities used here their precise types.
function customUnary(f: (x: tf.Tensor, save: tf.GradSaveFunc) => GradientDefinition): (x: tf.Tensor) => tf.Tensor {
  return tf.customGrad(f as unknown as Parameters<typeof tf.customGrad>[0]);
}

function customBinary(
  f: (x: tf.Tensor, y: tf.Tensor, save: tf.GradSaveFunc) => GradientDefinition,
): (x: tf.Tensor, y: tf.Tensor) => tf.Tensor {
  return tf.customGrad(f as unknown as Parameters<typeof tf.customGrad>[0]);
}

/** Swaps the last two axes of a tensor of rank 2 or more. */
export function transposeLast(x: tf.Tensor): tf.Tensor {
  const rank = x.rank;
  const perm = [...Array(rank).keys()];
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return tf.transpose(x, perm);
}

/**
 * Sums a gradient over the axes that broadcasting added or stretched, so it
 * takes `shape` again.
 */
function reduceToShape(grad: tf.Tensor, shape: number[]): tf.Tensor {
  const extra = grad.rank - shape.length;
  const axes: number[] = [];
  for (let axis = 0; axis < grad.rank; axis++) {
    const size = axis < extra ? 1 : shape[axis - extra];
    if (axis < extra || (size === 1 && grad.shape[axis] !== 1)) axes.push(axis);
  }
  const summed = axes.length > 0 ? tf.sum(grad, axes, true) : grad;
  return tf.reshape(summed, shape);
}

/**
 * Throws unless the batch axes of `a` and `b` are equal or one operand's
 * batch shape is the other's with leading axes of size 1 dropped. tfjs 4.22
 * flattens batch axes and indexes the smaller operand modulo its size, so
 * other broadcasts (such as [B, 1] against [B, H]) give wrong products.
 */
export function assertSafeBroadcast(a: tf.Tensor, b: tf.Tensor): void {
  const batchA = a.shape.slice(0, -2);
  const batchB = b.shape.slice(0, -2);
  const strip = (shape: number[]) => {
    const first = shape.findIndex((size) => size !== 1);
    return first < 0 ? [] : shape.slice(first);
  };
  const coreA = strip(batchA);
  const coreB = strip(batchB);
  const [shorter, longer] = coreA.length <= coreB.length ? [coreA, coreB] : [coreB, coreA];
  const suffix = longer.slice(longer.length - shorter.length);
  if (shorter.join(',') !== suffix.join(',')) {
    throw new Error(
      `matMul of [${a.shape}] and [${b.shape}]: tfjs broadcasts these batch axes wrongly; reshape so one operand's batch shape is a suffix of the other's`,
    );
  }
}

/**
 * `a @ b` for rank-2 or batched operands (batch axes broadcast as
 * `assertSafeBroadcast` allows), whose gradient uses plain matMuls on
 * explicitly transposed operands.
 */
export function matMul(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  assertSafeBroadcast(a, b);
  const op = customBinary((x: tf.Tensor, y: tf.Tensor, save: tf.GradSaveFunc) => {
    save([x, y]);
    return {
      value: tf.matMul(x, y),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ys] = saved;
        const dx = reduceToShape(tf.matMul(dy, transposeLast(ys)), xs.shape);
        const dyw = reduceToShape(tf.matMul(transposeLast(xs), dy), ys.shape);
        return [dx, dyw];
      },
    };
  });
  return op(a, b);
}

/**
 * `a @ constant`, where the gradient flows only into `a`. `constantT` is the
 * constant already transposed over its last two axes, so the gradient is one
 * plain matMul. Used for block masses (attention times the one-hot block
 * matrix of the keys) and for carrying log block masses back to keys.
 */
export function matMulConstant(a: tf.Tensor, constant: tf.Tensor, constantT: tf.Tensor): tf.Tensor {
  assertSafeBroadcast(a, constant);
  const op = customUnary((x: tf.Tensor, save: tf.GradSaveFunc) => {
    // Everything the backward pass reads is saved, because the caller's tidy
    // scope may dispose the constants before it runs.
    save([x, constantT]);
    return {
      value: tf.matMul(x, constant),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => reduceToShape(tf.matMul(dy, saved[1]), saved[0].shape),
    };
  });
  return op(a);
}

/**
 * Rows of `table` ([V, D]) at `ids` (int32, [N]) as [N, D]; the gradient is a
 * scatter-add into a [V, D] tensor.
 */
export function embeddingLookup(table: tf.Tensor2D, ids: tf.Tensor1D): tf.Tensor2D {
  const [vocabSize, width] = table.shape;
  const op = customUnary((t: tf.Tensor, save: tf.GradSaveFunc) => {
    save([ids]);
    return {
      value: tf.gather(t, ids),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.scatterND(tf.reshape(saved[0], [-1, 1]), dy, [vocabSize, width]),
    };
  });
  return op(table) as tf.Tensor2D;
}

/**
 * Mean softmax cross-entropy in nats of `logits` ([N, V]) against integer
 * `labels` ([N]). Gradient: (softmax - onehot) / N.
 *
 * The forward pass keeps the softmax itself rather than the log-softmax:
 * on wasm one Softmax kernel costs about a quarter of LogSoftmax, and the
 * backward pass then needs one scale and one scatter instead of exp, one-hot
 * and subtraction passes over [N, V]. A label probability below 1e-30 is
 * floored there, so one row's loss is at most 69 nats.
 */
export function softmaxCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  const [rows] = logits.shape;
  const op = customUnary((x: tf.Tensor, save: tf.GradSaveFunc) => {
    const probs = tf.softmax(x);
    const indices = tf.stack([tf.range(0, rows, 1, 'int32'), labels], 1); // [N, 2]
    const picked = tf.gatherND(probs, indices); // [N]
    // Labels are saved too: a caller's tidy scope may dispose them before
    // the backward pass runs.
    save([probs, indices, picked]);
    return {
      value: tf.neg(tf.mean(tf.log(tf.maximum(picked, 1e-30)))),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [savedProbs, savedIndices, savedPicked] = saved;
        const scale = tf.div(dy, rows);
        const scaled = tf.mul(savedProbs, scale);
        return tf.tensorScatterUpdate(scaled, savedIndices, tf.mul(tf.sub(savedPicked, 1), scale));
      },
    };
  });
  return op(logits) as tf.Scalar;
}

/** Row of ones [1, rows], for column sums computed as a matMul. */
function onesRow(rows: number): tf.Tensor2D {
  return tf.ones([1, rows]);
}

/**
 * `x + bias` for x [N, C] and bias [C]. The bias gradient is the column sum
 * of dy computed as ones[1, N] @ dy: on wasm a Sum over axis 0 of a wide
 * tensor costs several times that matMul.
 */
export function addBias(x: tf.Tensor, bias: tf.Tensor): tf.Tensor {
  const op = customBinary((input: tf.Tensor, b: tf.Tensor) => ({
    value: tf.add(input, b),
    gradFunc: (dy: tf.Tensor) => {
      const rows = dy.size / b.size;
      const columnSums = tf.matMul(onesRow(rows), tf.reshape(dy, [rows, b.size]));
      return [dy, tf.reshape(columnSums, b.shape)];
    },
  }));
  return op(x, bias);
}

/**
 * `normalized * gamma + beta` for normalized [N, C] and gamma, beta [C],
 * the affine step of LayerNorm, with column sums as matMuls (see `addBias`).
 */
export function scaleShift(normalized: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor {
  const op = tf.customGrad(((x: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
    save([x, g]);
    return {
      value: tf.add(tf.mul(x, g), b),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [savedX, savedGamma] = saved;
        const width = savedGamma.size;
        const rows = dy.size / width;
        const ones = onesRow(rows);
        const dy2 = tf.reshape(dy, [rows, width]);
        const dGamma = tf.reshape(tf.matMul(ones, tf.mul(dy2, tf.reshape(savedX, [rows, width]))), savedGamma.shape);
        const dBeta = tf.reshape(tf.matMul(ones, dy2), savedGamma.shape);
        return [tf.mul(dy, savedGamma), dGamma, dBeta];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.Tensor;
  return op(normalized, gamma, beta);
}
