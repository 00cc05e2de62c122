/** Parameter counts computed from configurations, without building tensors. */
import { readCheckpoint } from './checkpoint';
import type { TrainJob } from './jobs';
import type { ModelConfig } from './model';

/** Trainable parameters of a model with this configuration. */
export function countParameters(config: ModelConfig): number {
  const { vocabSize: V, contextLength: T, layers: L, heads: H, width: D, blocks: K } = config;
  const perLayer = 4 * D + (3 * D * D + 3 * D) + (D * D + D) + K * H + (4 * D * D + 4 * D) + (4 * D * D + D);
  return V * D + T * D + K * D + L * perLayer + 2 * D + D * V + V + adapterParameterCount(config);
}

/** Parameters that a specialist's adapters add: 2 L 2 D r, plus V with its own output bias. */
export function adapterParameterCount(config: Pick<ModelConfig, 'layers' | 'width' | 'vocabSize' | 'adapters'>): number {
  if (!config.adapters) return 0;
  return 2 * config.layers * 2 * config.width * config.adapters.rank + (config.adapters.outputBias ? config.vocabSize : 0);
}

export async function parameterCountFor(job: TrainJob): Promise<number> {
  if ('resume' in job.start) {
    const { contents } = await readCheckpoint(job.start.resume);
    // A specialist trains only its adapters, so only they are counted.
    const model = (contents.config as { model?: ModelConfig } | null)?.model;
    // The host reads this without TensorFlow.js, so adapter names are matched here rather than listed by the model.
    const trained = (name: string) => !model?.adapters || /\.adapter(Down|Up|Bias)$/.test(name);
    return contents.weights.reduce((total, record) => total + (trained(record.name) ? record.data.length : 0), 0);
  }
  // The vocabulary size depends on the corpus, so it is not known yet: size
  // for the cap, which bounds it.
  const { config, blocks } = job.start;
  const blockList = (blocks as { blocks?: unknown } | null)?.blocks;
  if (!Array.isArray(blockList)) {
    throw new RangeError('blocks file has no "blocks" list; write { "version": 1, "blocks": [...] }');
  }
  return countParameters({
    ...config.model,
    vocabSize: config.data.maxVocab,
    blocks: blockList.length,
  });
}
