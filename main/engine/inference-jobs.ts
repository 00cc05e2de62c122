/** Evaluation, sweep and inspection jobs on a saved checkpoint. */
import * as tf from '@tensorflow/tfjs';
import type { BackendInfo } from './backend';
import { assembleBatch } from './batch';
import { fitBigram, bigramPerplexity, tuneInterpolation } from './bigram';
import { prepareData, ruleMaskBuilder } from './data';
import { CancelledError } from './engine-errors';
import { evaluate } from './evaluate';
import { computeGuarantees } from './guarantee-report';
import type {
  EvaluateJob,
  EvaluateResult,
  GuaranteesJob,
  GuaranteesResult,
  InspectJob,
  InspectResult,
  TokenPrediction,
  WorkerMessage,
} from './jobs';
import { watchCancel } from './replicas';
import { loadModel } from './trainer';
import { DOC_ID } from './tokenizer';

export async function runGuaranteesJob(
  job: GuaranteesJob,
  control: Int32Array,
  backend: BackendInfo,
  post: (message: WorkerMessage) => void,
): Promise<GuaranteesResult> {
  const loaded = await loadModel(job.checkpoint);
  const controller = new AbortController();
  const stopWatching = watchCancel(control, controller);
  try {
    const data = await prepareData(loaded.config.data, loaded.tokenizer);
    const report = await computeGuarantees(
      {
        model: loaded.model,
        stream: data.streams[job.split],
        blockTable: loaded.blockTable,
        compiled: loaded.compiled,
        buildMasks: ruleMaskBuilder(loaded.compiled),
        training: { lambdaTrain: loaded.config.lambdaTrain, objective: loaded.config.objective },
      },
      {
        lambda: job.lambda,
        kappa: job.kappa ?? loaded.config.kappa,
        maxTokens: job.maxTokens,
        includeRows: job.includeRows,
        skipStationary: job.skipStationary,
        signal: controller.signal,
        onProgress: (stage, done, total) => post({ type: 'guarantees-progress', stage, done, total }),
      },
    );
    return {
      kind: 'guarantees',
      backend: backend.name,
      backendSkipped: backend.skipped,
      checkpoint: job.checkpoint,
      sha256: loaded.sha256,
      split: job.split,
      report,
      stationarySkipped: Boolean(job.skipStationary),
    };
  } catch (error) {
    if (controller.signal.aborted) throw new CancelledError('guarantee check cancelled on request');
    throw error;
  } finally {
    stopWatching();
    loaded.model.dispose();
  }
}

export async function runEvaluateJob(
  job: EvaluateJob,
  control: Int32Array,
  backend: BackendInfo,
  post: (message: WorkerMessage) => void,
): Promise<EvaluateResult> {
  const loaded = await loadModel(job.checkpoint);
  try {
    const data = await prepareData(loaded.config.data, loaded.tokenizer);
    const stream = data.streams[job.split];
    const kappa = job.kappa ?? loaded.config.kappa;
    const controller = new AbortController();
    const stopWatching = watchCancel(control, controller);
    const results = [];
    try {
      for (const lambda of job.lambdas) {
        results.push(
          await evaluate(
            {
              model: loaded.model,
              stream,
              blockTable: loaded.blockTable,
              compiled: loaded.compiled,
              buildMasks: ruleMaskBuilder(loaded.compiled),
            },
            {
              dial: { lambda, kappa },
              maxTokens: job.maxTokens,
              signal: controller.signal,
              onProgress: (done, total) => post({ type: 'evaluate-progress', lambda, done, total }),
            },
          ),
        );
      }
    } catch (error) {
      if (controller.signal.aborted) throw new CancelledError('evaluation cancelled on request');
      throw error;
    } finally {
      stopWatching();
    }
    let bigram: EvaluateResult['bigram'] = null;
    if (job.bigram) {
      // Scored on the targets the model predicted: every evaluation window
      // covers T targets, and the windows tile the stream from its start.
      const T = loaded.modelConfig.contextLength;
      const windows = results[0] ? results[0].tokens / T : 0;
      const limit = windows * T + 1;
      const tuned = tuneInterpolation(fitBigram(data.streams.train, loaded.tokenizer.size), data.streams.validation);
      bigram = { interpolation: tuned.interpolation, perplexity: bigramPerplexity(tuned.model, stream.subarray(0, limit)) };
    }
    return { kind: 'evaluate', backend: backend.name, backendSkipped: backend.skipped, checkpoint: job.checkpoint, sha256: loaded.sha256, split: job.split, results, bigram };
  } finally {
    loaded.model.dispose();
  }
}

export async function runInspectJob(job: InspectJob, backend: BackendInfo): Promise<InspectResult> {
  const loaded = await loadModel(job.checkpoint);
  try {
    const { model, tokenizer, blockTable, compiled } = loaded;
    const { contextLength: T, layers: L, heads: H, blocks: K } = model.config;
    if (!Number.isInteger(job.topK) || job.topK < 1 || job.topK > tokenizer.size) {
      throw new RangeError(`top ${job.topK} is invalid; use an integer from 1 to the vocabulary size ${tokenizer.size}`);
    }
    const encoded = [DOC_ID, ...tokenizer.encode(job.text)];
    if (encoded.length < 2) throw new RangeError(`text "${job.text}" has no words; type some text to inspect`);
    // The model reads the last T tokens. Shorter text is left-padded with
    // <doc>, the token that marks the start of a document.
    const window = encoded.slice(-T);
    const length = window.length;
    const padded = new Int32Array(T + 1).fill(DOC_ID);
    padded.set(window, T - length);
    const kappa = job.kappa ?? loaded.config.kappa;
    const batch = assembleBatch(padded, [0], { contextLength: T, layers: L, heads: H, blockCount: K + 1 }, blockTable.blockOf, ruleMaskBuilder(compiled));
    const last = T - 1;
    const run = (lambda: number) =>
      tf.tidy(() => {
        const result = model.forward(batch.inputs, { dial: { lambda, kappa }, keepAttention: true });
        const probs = tf.softmax(tf.slice(result.logits, [last, 0], [1, -1]));
        const top = tf.topk(tf.reshape(probs, [-1]), job.topK);
        // Block masses of the last row: attention [L, 1, H, T, T] row `last` times the keys' one-hot.
        const rows = tf.slice(tf.stack(result.dialled ?? []), [0, 0, 0, last, 0], [L, 1, H, 1, T]); // [L, 1, H, 1, T]
        const oneHot = tf.tensor2d(batch.inputs.blockOneHot, [T, K + 1]);
        const masses = tf.matMul(tf.reshape(rows, [L * H, T]), oneHot); // [L*H, G]
        return { values: top.values, indices: top.indices, masses };
      });
    const read = async (lambda: number) => {
      const out = run(lambda);
      const values = (await out.values.data()) as Float32Array;
      const indices = (await out.indices.data()) as Int32Array;
      const masses = (await out.masses.data()) as Float32Array;
      tf.dispose([out.values, out.indices, out.masses]);
      const predictions: TokenPrediction[] = [...indices].map((id, k) => ({ token: tokenizer.vocab[id], probability: values[k] }));
      const blockMasses = Array.from({ length: L }, (_, l) =>
        Array.from({ length: H }, (_, h) => Array.from(masses.subarray((l * H + h) * (K + 1), (l * H + h + 1) * (K + 1)))),
      );
      return { predictions, blockMasses };
    };
    const dialled = await read(job.lambda);
    const distributed = await read(0);
    const activeRules: InspectResult['activeRules'] = [];
    for (let l = 0; l < L; l++) {
      for (let h = 0; h < H; h++) {
        const row = (l * H + h) * T + last;
        const names = compiled.rules.filter((_, r) => batch.ruleRows[r]?.[row]).map((rule) => rule.id);
        if (names.length > 0) activeRules.push({ layer: l, head: h, rules: names });
      }
    }
    return {
      kind: 'inspect',
      backend: backend.name,
      backendSkipped: backend.skipped,
      tokens: tokenizer.decode(window.filter((id, index) => index > 0 || id !== DOC_ID)),
      lambda: job.lambda,
      dialled: dialled.predictions,
      distributed: distributed.predictions,
      blocks: ['background', ...blockTable.blocks.map((block) => block.name)],
      blockMassesDialled: dialled.blockMasses,
      blockMassesDistributed: distributed.blockMasses,
      activeRules,
    };
  } finally {
    loaded.model.dispose();
  }
}
