/**
 * TensorFlow.js backend selection. The engine prefers a native backend
 * (`@tensorflow/tfjs-node-gpu`, then `@tensorflow/tfjs-node`), falls back to
 * the wasm backend shipped in npm, and finally to the pure JavaScript `cpu`
 * backend. The chosen backend and the reason each earlier one was skipped are
 * reported with every result.
 */
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';

export type BackendName = 'node-gpu' | 'node' | 'wasm' | 'cpu';

export interface BackendInfo {
  /** Backend in use. */
  name: BackendName;
  /** One line per backend tried before it, saying why it was not used. */
  skipped: string[];
}

const requireFromHere = createRequire(import.meta.url);

let selected: Promise<BackendInfo> | undefined;

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}

async function tryNative(pkg: string, backend: string): Promise<string | undefined> {
  try {
    // The native packages register their backend on import. They are not
    // dependencies of this project because their installer downloads
    // libtensorflow; users with CUDA add them with npm.
    requireFromHere(pkg);
  } catch (error) {
    return `${pkg} not loaded: ${firstLine(error)}`;
  }
  try {
    if (await tf.setBackend(backend)) return undefined;
    return `${pkg} loaded but backend "${backend}" failed to initialize`;
  } catch (error) {
    return `${pkg} loaded but backend "${backend}" failed: ${firstLine(error)}`;
  }
}

async function trySelect(order: BackendName[]): Promise<BackendInfo> {
  const skipped: string[] = [];
  for (const name of order) {
    if (name === 'node-gpu' || name === 'node') {
      const pkg = name === 'node-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
      const reason = await tryNative(pkg, 'tensorflow');
      if (reason === undefined) return { name, skipped };
      skipped.push(reason);
      continue;
    }
    if (name === 'wasm') {
      try {
        const wasm = await import('@tensorflow/tfjs-backend-wasm');
        // The wasm backend in Node runs single-threaded: its threaded build
        // needs a browser-style worker. One thread per engine worker.
        wasm.setThreadsCount?.(Math.max(1, Math.min(availableParallelism(), 1)));
        if (await tf.setBackend('wasm')) return { name, skipped };
        skipped.push('wasm backend failed to initialize');
      } catch (error) {
        skipped.push(`wasm backend failed: ${firstLine(error)}`);
      }
      continue;
    }
    await tf.setBackend('cpu');
    return { name: 'cpu', skipped };
  }
  throw new Error(`no TensorFlow.js backend could start: ${skipped.join('; ')}`);
}

const ALL_BACKENDS: BackendName[] = ['node-gpu', 'node', 'wasm', 'cpu'];

/**
 * Selects the first backend that starts, once per process. `LOCALIST_BACKEND`
 * (one of node-gpu, node, wasm, cpu) starts the search at that backend.
 */
export function initBackend(preferred = process.env.LOCALIST_BACKEND): Promise<BackendInfo> {
  if (selected) return selected;
  let order = ALL_BACKENDS;
  if (preferred) {
    const start = ALL_BACKENDS.indexOf(preferred as BackendName);
    if (start < 0) {
      return Promise.reject(
        new RangeError(`LOCALIST_BACKEND "${preferred}" is unknown; set it to one of ${ALL_BACKENDS.join(', ')} or unset it`),
      );
    }
    order = ALL_BACKENDS.slice(start);
  }
  selected = trySelect(order);
  return selected;
}

export { tf };
