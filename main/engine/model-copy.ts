/**
 * Copies of a model and of a training run: an exact copy, a copy with one
 * more block whose parameters start at zero, and a run rebuilt around a
 * given model and block set. Block recruitment trains such copies side by
 * side from one starting point.
 */
import * as tf from '@tensorflow/tfjs';
import { blockTableToBlocksFile, type BlocksFileInput } from './blocks';
import { buildLocalisation, ruleMaskBuilder } from './data';
import { LocalistModel } from './model';
import { AdamW, type OptimizerConfig } from './optimizer';
import type { RunState } from './trainer';

/** Returns a new model with the same config and copies of every weight. */
export function copyModel(model: LocalistModel): LocalistModel {
  const copy = new LocalistModel({ ...model.config });
  tf.tidy(() => {
    for (const [name, variable] of copy.params) variable.assign(tf.clone(model.param(name)));
  });
  return copy;
}

/**
 * Returns a copy of `model` with one more block, K + 1, as the last block.
 * Every weight is copied, and the new block's embedding row and key-bias
 * entries start at 0.
 *
 * At lambda = 0 the new model's logits equal the old model's, because the
 * new block adds zero to its tokens' embeddings and attention logits. At
 * lambda > 0 they are equal only on windows without the new block's tokens:
 * the block prior treats the new block as its own group, so the block
 * masses of rows that see its tokens change.
 */
export function withAddedBlock(model: LocalistModel): LocalistModel {
  const { blocks: K, width: D, heads: H } = model.config;
  const grown = new LocalistModel({ ...model.config, blocks: K + 1 });
  tf.tidy(() => {
    for (const [name, variable] of grown.params) {
      const old = model.params.get(name);
      if (isBlockParameter(name)) {
        // blockEmbedding [K + 1, D], layer{l}.blockKeyBias [K + 1, H]: old rows, then a zero row.
        const columns = name === 'blockEmbedding' ? D : H;
        const zeroRow = tf.zeros([1, columns]);
        variable.assign(old ? tf.concat([old, zeroRow], 0) : zeroRow);
      } else {
        if (!old) throw new Error(`model has no parameter "${name}" to copy; the model was not built by LocalistModel`);
        variable.assign(tf.clone(old));
      }
    }
  });
  return grown;
}

function isBlockParameter(name: string): boolean {
  return name === 'blockEmbedding' || /^layer\d+\.blockKeyBias$/.test(name);
}

/** Returns the blocks file that rebuilds a run's block table. */
export function blocksFileOf(run: RunState): BlocksFileInput {
  return blockTableToBlocksFile(run.blockTable);
}

/**
 * Builds a run around `model` with the block table of `blocksFile`, and the
 * rules, data, train config and position (step, tokens seen, time) of
 * `run`, with a fresh optimizer. The new run owns `model`: `disposeRun`
 * disposes it. `run` is left as it was, and the two share the prepared data.
 * `optimizer` sets the new optimizer's config (default: the run's config
 * with its total steps).
 * Throws a RangeError when the model's vocabulary or block count does not
 * match the data and the blocks file, and a `ValidationError` when the blocks
 * file or the run's rules are invalid for the new block table.
 */
export function runWithModel(
  run: RunState,
  model: LocalistModel,
  blocksFile: BlocksFileInput,
  optimizer: OptimizerConfig = { ...run.config.optimizer, totalSteps: run.config.steps },
): RunState {
  const localisation = buildLocalisation(run.data, blocksFile, run.rulesFile, run.config.model);
  const blocks = localisation.blockTable.blocks.length;
  if (model.config.blocks !== blocks) {
    throw new RangeError(
      `model has ${model.config.blocks} blocks but the blocks file defines ${blocks}; add or remove blocks with withAddedBlock first`,
    );
  }
  if (model.config.vocabSize !== run.data.tokenizer.size) {
    throw new RangeError(
      `model has a vocabulary of ${model.config.vocabSize} but the run's tokenizer has ${run.data.tokenizer.size}; use a model trained on this run's data`,
    );
  }
  // NOTE: AdamW's constructor leaves one `zerosLike` tensor per moment
  // undisposed, which keeps that memory alive after `dispose`. Building it
  // inside `tf.tidy` frees those tensors; tidy never disposes variables.
  let fresh: AdamW | undefined;
  tf.tidy(() => {
    fresh = new AdamW(optimizer, model.params);
  });
  return {
    config: run.config,
    modelConfig: model.config,
    data: run.data,
    blockTable: localisation.blockTable,
    rulesFile: run.rulesFile,
    compiled: localisation.compiled,
    buildMasks: ruleMaskBuilder(localisation.compiled),
    model,
    optimizer: fresh as AdamW,
    step: run.step,
    tokensSeen: run.tokensSeen,
    elapsedSeconds: run.elapsedSeconds,
  };
}

/** Returns a copy of a run: a copied model, the same blocks and rules, and a fresh optimizer. */
export function copyRun(run: RunState, optimizer?: OptimizerConfig): RunState {
  const model = copyModel(run.model);
  try {
    return runWithModel(run, model, blocksFileOf(run), optimizer);
  } catch (error) {
    model.dispose();
    throw error;
  }
}

/**
 * Returns a copy of a run with one more block, defined by `block` and
 * placed last: the model is `withAddedBlock` of the run's model, so at
 * lambda = 0 it computes what the run's model does until it is trained.
 */
export function copyRunWithBlock(
  run: RunState,
  block: BlocksFileInput['blocks'][number],
  optimizer?: OptimizerConfig,
): RunState {
  const blocksFile = blocksFileOf(run);
  const model = withAddedBlock(run.model);
  try {
    return runWithModel(run, model, { version: 1, blocks: [...blocksFile.blocks, block] }, optimizer);
  } catch (error) {
    model.dispose();
    throw error;
  }
}
