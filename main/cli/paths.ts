/** File paths as the CLI shows and accepts them. */
import { existsSync, statSync } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from './options';

/** Folder of package.json, where `npm run localist` runs the CLI. */
const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

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
 * Returns the shell command that runs `localist` with `args`, as the README
 * shows it: `npm run localist -- ...` works after a plain `npm install`,
 * where a bare `localist` needs `npm link` first.
 */
export function cliCommand(args: string): string {
  return `npm run localist -- ${args}`;
}

/**
 * Writes a path for a command from `cliCommand`. npm runs scripts in the
 * project folder, so the path is relative to that folder when it lies
 * inside it, else absolute, and shell-quoted.
 */
export function cliPath(path: string): string {
  const absolute = resolve(path);
  const relativePath = relative(PROJECT_ROOT, absolute);
  const inside = relativePath !== '' && !relativePath.startsWith('..') && !isAbsolute(relativePath);
  return shellQuote(inside ? relativePath : absolute);
}

/** Wording of messages about an output file: its name and the fix they suggest. */
export interface OutputTarget {
  /** Names the file, such as `--out "model.localist"`. */
  label: string;
  /** Ends each message, such as `pass --out with a path in a folder you can write to`. */
  fix: string;
}

/**
 * Resolves the path a command writes a checkpoint to, creates its folder,
 * and checks that a file can be created there, so that a bad path fails
 * before any training. Raises a `UsageError` naming the path and the fix
 * when the path is a folder, a parent is a file, or the folder is not
 * writable.
 */
export async function prepareOutputPath(path: string, target: OutputTarget): Promise<string> {
  const absolute = resolve(path);
  if (existsSync(absolute) && statSync(absolute).isDirectory()) {
    throw new UsageError(`${target.label} is a folder, not a file; remove or rename that folder, or ${target.fix}`);
  }
  const folder = dirname(absolute);
  let action: FolderAction = 'creating the folder';
  try {
    await createFolder(folder);
    action = 'creating a file in the folder';
    await probeWrite(folder);
  } catch (error) {
    throw new UsageError(`${target.label} cannot be written: ${describeFolderError(folder, action, error)}; ${target.fix}`);
  }
  return absolute;
}

/**
 * Creates a folder and its missing parents one level at a time.
 * NOTE: Node 20.20's `mkdir(path, { recursive: true })` never returns when a
 * parent cannot be created, as under /proc, so it is not used here.
 */
async function createFolder(folder: string): Promise<void> {
  const missing: string[] = [];
  let current = folder;
  while (!existsSync(current)) {
    missing.push(current);
    const parent = dirname(current);
    if (parent === current) break;
    current = parent;
  }
  for (const path of missing.reverse()) await mkdir(path);
}

/** Creates and removes an empty file in `folder`, raising the error of a folder that takes no new files. */
async function probeWrite(folder: string): Promise<void> {
  const probe = join(folder, `.localist-write-check-${process.pid}-${Date.now()}`);
  const handle = await open(probe, 'wx');
  await handle.close();
  await rm(probe, { force: true });
}

/** Step of `prepareOutputPath` that failed, as it reads in messages. */
type FolderAction = 'creating the folder' | 'creating a file in the folder';

/** Describes in words why `action` failed on `folder`, from the error of mkdir or open. */
function describeFolderError(folder: string, action: FolderAction, error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOTDIR' || code === 'EEXIST') {
    const file = firstFileAncestor(folder);
    if (file !== null) return `"${displayPath(file)}" is a file, not a folder`;
  }
  const where = `"${displayPath(folder)}"`;
  if (code === 'EACCES' || code === 'EPERM') return `permission denied ${action} ${where}`;
  if (code === 'EROFS') return `the folder ${where} is on a read-only file system`;
  if (code === 'ENOSPC') return `the disk of the folder ${where} is full`;
  const reason = code ?? (error instanceof Error ? error.message : String(error));
  return `${action} ${where} failed (${reason})`;
}

/** Returns the nearest existing path at or above `folder` when it is a file, else null. */
function firstFileAncestor(folder: string): string | null {
  let current = folder;
  while (!existsSync(current)) {
    const parent = dirname(current);
    if (parent === current) return null;
    current = parent;
  }
  return statSync(current).isDirectory() ? null : current;
}
