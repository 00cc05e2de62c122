import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { readJsonFile } from './data';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'localist-data-'));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('readJsonFile', () => {
  it('byte order mark is skipped', async () => {
    const path = join(dir, 'bom.json');
    await writeFile(path, '\uFEFF{"version": 1, "rules": []}', 'utf8');
    expect(await readJsonFile(path, 'rules')).toEqual({ version: 1, rules: [] });
  });

  it('invalid JSON names the file', async () => {
    const path = join(dir, 'broken.json');
    await writeFile(path, '{"version": 1,', 'utf8');
    await expect(readJsonFile(path, 'blocks')).rejects.toThrow(`blocks file "${path}" is not valid JSON`);
  });

  it('missing file names the path', async () => {
    const path = join(dir, 'absent.json');
    await expect(readJsonFile(path, 'rules')).rejects.toThrow(`rules file "${path}" could not be read (ENOENT)`);
  });
});
