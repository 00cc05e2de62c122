/**
 * Summaries of a project's trained models, read from their checkpoint files.
 * Reading a checkpoint loads and hashes the whole file (tens of megabytes at
 * the demo size), so each summary is read once per file version and cached.
 */
import type { ModelSummary } from '../../common/api';
import { BACKGROUND_BLOCK_ID } from '../engine/blocks';
import { readCheckpoint } from '../engine/checkpoint';
import { apiErrorFromEngine, ServiceError } from './errors';
import type { CheckpointRecord } from './project';

export interface ModelDescription {
  model: ModelSummary;
  /** SHA-256 of the corpus the model was trained on, when the checkpoint records it. */
  corpusFingerprint: string | null;
}

interface StoredConfig {
  train?: { data?: { fingerprint?: unknown } };
  model?: { layers?: unknown; heads?: unknown; contextLength?: unknown };
}

function positiveInteger(value: unknown, field: string, path: string): number {
  if (typeof value === 'number' && Number.isInteger(value) && value > 0) return value;
  throw new ServiceError(
    'invalid-request',
    `checkpoint "${path}" has no valid model ${field} (found ${JSON.stringify(value) ?? 'nothing'}); it was not written by the workbench's trainer, so train the model again`,
    { path, field },
  );
}

/** Reads the summary of the model in a checkpoint file. Throws a `ServiceError` when the file is missing or damaged. */
export async function readModelDescription(record: CheckpointRecord): Promise<ModelDescription> {
  let checkpoint: Awaited<ReturnType<typeof readCheckpoint>>;
  try {
    checkpoint = await readCheckpoint(record.path);
  } catch (error) {
    const converted = apiErrorFromEngine(error);
    throw new ServiceError(converted.code, converted.message, converted.details);
  }
  const { contents, summary } = checkpoint;
  const config = (contents.config ?? {}) as StoredConfig;
  const blocks = (contents.blocks as { blocks?: { name?: unknown }[] } | null)?.blocks ?? [];
  const fingerprint = config.train?.data?.fingerprint;
  return {
    model: {
      id: record.id,
      checkpoint: record.path,
      // The file's own hash, which differs from the stored one only when the file was replaced outside the workbench.
      sha256: summary.sha256,
      steps: contents.training.step,
      backend: contents.training.backend,
      layers: positiveInteger(config.model?.layers, 'layers', record.path),
      heads: positiveInteger(config.model?.heads, 'heads', record.path),
      contextLength: positiveInteger(config.model?.contextLength, 'context length', record.path),
      blocks: [BACKGROUND_BLOCK_ID, ...blocks.map((block, index) => (typeof block.name === 'string' ? block.name : `block ${index + 1}`))],
      createdAt: summary.createdAt,
    },
    corpusFingerprint: typeof fingerprint === 'string' ? fingerprint : null,
  };
}

/** Caches model summaries by checkpoint path and SHA-256; a failed read is not cached, so the next call retries. */
export class ModelCatalog {
  private readonly cache = new Map<string, Promise<ModelDescription>>();

  describe(record: CheckpointRecord): Promise<ModelDescription> {
    const key = `${record.path}\u0000${record.sha256}`;
    let description = this.cache.get(key);
    if (!description) {
      description = readModelDescription(record);
      this.cache.set(key, description);
      description.catch(() => this.cache.delete(key));
    }
    return description;
  }

  clear(): void {
    this.cache.clear();
  }
}
