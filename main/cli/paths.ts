/** File paths as the CLI shows and accepts them. */
import { existsSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, relative, resolve } from 'node:path';
import { UsageError } from './options';

/** Shows a path relative to the working folder when it lies inside it, else absolute. */
export function displayPath(path: string): string {
  const relativePath = relative(process.cwd(), path);
  if (relativePath === '' || relativePath.startsWith('..') || isAbsolute(relativePath)) return path;
  return relativePath;
}

/** Quotes a path for a POSIX shell when it contains characters the shell would split or expand. */
export function shellQuote(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/** Returns a UTC timestamp usable in file names on every platform, such as 20250102T030405Z. */
export function fileTimestamp(date = new Date()): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/** Short name of a corpus for file names: "brown", or the file or folder name without its extension. */
export function corpusName(corpus: string): string {
  if (corpus === 'brown') return 'brown';
  const name = basename(corpus, extname(corpus)).replace(/[^A-Za-z0-9._-]+/g, '-');
  return name || 'corpus';
}

/**
 * Resolves the path a command writes a checkpoint to and creates its folder.
 * Raises a `UsageError` when the path is an existing folder.
 */
export async function prepareOutputPath(option: string, path: string): Promise<string> {
  const absolute = resolve(path);
  if (existsSync(absolute) && statSync(absolute).isDirectory()) {
    throw new UsageError(`--${option} "${path}" is a folder; give a file path such as ${shellQuote(`${path}/model.localist`)}`);
  }
  await mkdir(dirname(absolute), { recursive: true });
  return absolute;
}
