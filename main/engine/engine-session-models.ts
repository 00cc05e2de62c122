/**
 * Models kept loaded by the engine session's worker, one per checkpoint
 * path, so that each inspect request after the first skips reading and
 * checking the checkpoint (about 0.4 s for the 30 MB demo checkpoint).
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { SessionStatistics } from './jobs';
import { hashFile } from './checkpoint';
import { PaneCache } from './inspector';
import { loadModel, type LoadedModel } from './trainer';

/** A loaded model and the inspector panes computed with it. */
export interface CachedModel {
  loaded: LoadedModel;
  panes: PaneCache;
}

interface Entry extends CachedModel {
  /** Identity of the file the model was read from: device, inode, size and time stamps. */
  fileKey: string;
  /** SHA-256 of the file the model was read from. */
  sha256: string;
}

/** Models by absolute checkpoint path, least recently used dropped first. */
export class ModelCache {
  private readonly entries = new Map<string, Entry>();
  private modelLoads = 0;
  private checkpointHashes = 0;

  /** @param capacity models kept loaded at once; the demo model takes about 10 MB of weights. */
  constructor(readonly capacity = 4) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`model cache capacity ${capacity} is invalid; use a positive integer`);
    }
  }

  /**
   * Returns the model of a checkpoint, loading it on first use and again
   * when the file's SHA-256 has changed. Hashing the file costs about 30 ms
   * for the demo checkpoint, so it is hashed only when its size, time stamps
   * or inode differ from when the model was read.
   * NOTE: a rewrite in place that keeps the size and both time stamps goes
   * unnoticed. The workbench's checkpoint writer replaces files by renaming,
   * which changes the inode.
   */
  async get(path: string): Promise<CachedModel> {
    const absolute = resolve(path);
    const fileKey = await describeFile(absolute);
    const entry = this.entries.get(absolute);
    if (entry && fileKey !== null) {
      if (entry.fileKey === fileKey) return this.touch(absolute, entry);
      this.checkpointHashes++;
      if ((await hashFile(absolute)) === entry.sha256) {
        entry.fileKey = fileKey;
        return this.touch(absolute, entry);
      }
    }
    if (entry) this.drop(absolute, entry);

    // A missing or unreadable file reaches loadModel, which raises the CheckpointError that names it.
    const loaded = await loadModel(absolute);
    this.modelLoads++;
    // The key was taken before reading, so a file replaced while it was read is hashed again next time.
    const fresh: Entry = { loaded, panes: new PaneCache(), fileKey: fileKey ?? '', sha256: loaded.sha256 };
    this.entries.set(absolute, fresh);
    for (const [oldPath, oldEntry] of this.entries) {
      if (this.entries.size <= this.capacity) break;
      this.drop(oldPath, oldEntry);
    }
    return fresh;
  }

  statistics(): SessionStatistics {
    return { modelLoads: this.modelLoads, checkpointHashes: this.checkpointHashes, cachedModels: [...this.entries.keys()] };
  }

  /** Disposes every model's weights. */
  dispose(): void {
    for (const [path, entry] of this.entries) this.drop(path, entry);
  }

  private touch(path: string, entry: Entry): Entry {
    // Map iteration follows insertion order, so re-inserting marks the model as most recently used.
    this.entries.delete(path);
    this.entries.set(path, entry);
    return entry;
  }

  private drop(path: string, entry: Entry): void {
    this.entries.delete(path);
    entry.loaded.model.dispose();
  }
}

/** Returns a key that changes when the file is replaced or written, or null when it cannot be read. */
async function describeFile(path: string): Promise<string | null> {
  try {
    const info = await stat(path, { bigint: true });
    return [info.dev, info.ino, info.size, info.mtimeNs, info.ctimeNs].join(':');
  } catch {
    return null;
  }
}
