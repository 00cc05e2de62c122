import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { initBackend } from './backend';
import { ModelCache } from './engine-session-models';
import { trainFixtureCheckpoint } from './inspector-fixture';

let folder: string;
let first: string;
let second: string;

beforeAll(async () => {
  await initBackend();
  folder = await mkdtemp(join(tmpdir(), 'localist-model-cache-'));
  first = await trainFixtureCheckpoint(folder, 'first', { seed: 1, steps: 5 });
  second = await trainFixtureCheckpoint(folder, 'second', { seed: 2, steps: 5 });
});

afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

test('least recently used model is dropped and disposed', async () => {
  const cache = new ModelCache(1);
  try {
    const one = await cache.get(first);
    const two = await cache.get(second);
    expect(cache.statistics()).toEqual({ modelLoads: 2, checkpointHashes: 0, cachedModels: [second] });
    expect(one.loaded.model.params.size).toBe(0);
    expect(two.loaded.model.params.size).toBeGreaterThan(0);
    await cache.get(first);
    expect(cache.statistics().modelLoads).toBe(3);
  } finally {
    cache.dispose();
  }
});

test('relative and absolute paths share one model', async () => {
  const cache = new ModelCache();
  try {
    const absolute = await cache.get(first);
    const viaRelative = await cache.get(relative(process.cwd(), first));
    expect(viaRelative).toBe(absolute);
    expect(cache.statistics().modelLoads).toBe(1);
  } finally {
    cache.dispose();
  }
});

test('replaced file with equal bytes keeps the model', async () => {
  const cache = new ModelCache();
  const path = join(folder, 'copy.localist');
  try {
    await copyFile(first, path);
    const before = await cache.get(path);
    // A fresh copy of the same bytes: new time stamps, same SHA-256.
    await rm(path);
    await copyFile(first, path);
    const after = await cache.get(path);
    expect(after).toBe(before);
    expect(cache.statistics()).toMatchObject({ modelLoads: 1, checkpointHashes: 1 });
  } finally {
    cache.dispose();
  }
});

test('deleted checkpoint is reported as not found', async () => {
  const cache = new ModelCache();
  const path = join(folder, 'deleted.localist');
  try {
    await copyFile(first, path);
    await cache.get(path);
    await rm(path);
    await expect(cache.get(path)).rejects.toMatchObject({ code: 'not-found' });
    expect(cache.statistics().cachedModels).toEqual([]);
  } finally {
    cache.dispose();
  }
});

test('invalid capacity is rejected', () => {
  expect(() => new ModelCache(0)).toThrow(/model cache capacity 0 is invalid; use a positive integer/);
});
