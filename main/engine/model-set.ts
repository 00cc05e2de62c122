/**
 * The model set file (models.json): a generalist parent and the specialists
 * recruited from it, each with its checkpoint's SHA-256.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve } from 'node:path';

export const MODEL_SET_VERSION = 1;
export const DEFAULT_PREFIX_TOKENS = 64;

/** One entry of a model set: the parent has domain null. */
export interface ModelSetEntry {
  /** "parent" or "specialist:<domain>". */
  id: string;
  domain: string | null;
  /** Path of the checkpoint, relative to the model set file when written. */
  checkpoint: string;
  sha256: string;
}

/** models.json: the parent and its specialists. */
export interface ModelSet {
  version: number;
  parent: ModelSetEntry;
  specialists: ModelSetEntry[];
  /** Tokens of the prefix that routes an unlabelled document. */
  prefixTokens: number;
  /** Domains of the parent's corpus that recruitment considered; a document label must be one of them. */
  domains: string[];
}

export class ModelSetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelSetError';
  }
}

/** Writes a model set atomically, with checkpoint paths relative to its folder. */
export async function writeModelSet(path: string, set: ModelSet): Promise<void> {
  const folder = dirname(path);
  const relativeEntry = (entry: ModelSetEntry): ModelSetEntry => ({ ...entry, checkpoint: relative(folder, resolve(entry.checkpoint)) || '.' });
  const stored: ModelSet = { ...set, parent: relativeEntry(set.parent), specialists: set.specialists.map(relativeEntry) };
  const temporary = `${path}.partial`;
  await writeFile(temporary, `${JSON.stringify(stored, null, 2)}\n`, 'utf8');
  await rename(temporary, path);
}

/**
 * Reads a model set and resolves its checkpoint paths. Throws a
 * ModelSetError naming the file, the field and the fix.
 */
export async function readModelSet(path: string): Promise<ModelSet> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new ModelSetError(`model set "${path}" could not be read (${code}); pass the models.json that "localist recruit --level model" wrote`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text.startsWith('\uFEFF') ? text.slice(1) : text);
  } catch (error) {
    throw new ModelSetError(`model set "${path}" is not valid JSON: ${(error as Error).message}; restore the file that recruitment wrote`);
  }
  const fail = (field: string, fix: string): never => {
    throw new ModelSetError(`model set "${path}" has an invalid ${field}; ${fix}`);
  };
  const set = value as Partial<ModelSet> | null;
  if (!set || typeof set !== 'object') return fail('content', 'it must be a JSON object written by "localist recruit --level model"');
  if (set.version !== MODEL_SET_VERSION) fail(`version ${JSON.stringify(set.version)}`, `this workbench reads version ${MODEL_SET_VERSION}`);
  if (!Number.isInteger(set.prefixTokens) || (set.prefixTokens as number) < 1) fail(`prefixTokens ${JSON.stringify(set.prefixTokens)}`, 'use a positive integer such as 64');
  const folder = dirname(path);
  const entry = (raw: unknown, field: string): ModelSetEntry => {
    const item = raw as Partial<ModelSetEntry> | null;
    if (!item || typeof item !== 'object') return fail(field, 'each model needs id, domain, checkpoint and sha256');
    if (typeof item.id !== 'string' || item.id === '') fail(`${field}.id`, 'give each model a non-empty id');
    if (item.domain !== null && typeof item.domain !== 'string') fail(`${field}.domain`, 'use a domain name, or null for the parent');
    if (typeof item.checkpoint !== 'string' || item.checkpoint === '') fail(`${field}.checkpoint`, 'give the path of a .localist file');
    if (typeof item.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(item.sha256)) fail(`${field}.sha256`, 'give the checkpoint\'s SHA-256 in lower-case hex');
    const checkpoint = item.checkpoint as string;
    return { id: item.id as string, domain: item.domain as string | null, checkpoint: isAbsolute(checkpoint) ? checkpoint : resolve(folder, checkpoint), sha256: item.sha256 as string };
  };
  if (!Array.isArray(set.domains) || set.domains.some((domain) => typeof domain !== 'string')) {
    fail('domains', 'list the domain names of the parent\'s corpus as strings');
  }
  const parent = entry(set.parent, 'parent');
  if (parent.domain !== null) fail('parent.domain', 'the parent serves every domain, so its domain must be null');
  if (!Array.isArray(set.specialists)) return fail('specialists', 'list the specialists, or [] for none');
  const specialists = set.specialists.map((raw, index) => entry(raw, `specialists[${index}]`));
  const seen = new Set<string>();
  specialists.forEach((specialist, index) => {
    if (specialist.domain === null) fail(`specialists[${index}].domain`, 'a specialist serves one domain; name it');
    if (seen.has(specialist.domain as string)) fail(`specialists[${index}].domain "${specialist.domain}"`, 'keep one specialist per domain');
    seen.add(specialist.domain as string);
  });
  const ids = [parent, ...specialists].map((model) => model.id);
  const repeatedId = ids.find((id, index) => ids.indexOf(id) !== index);
  if (repeatedId !== undefined) fail(`id "${repeatedId}"`, 'give each model its own id');
  return { version: MODEL_SET_VERSION, parent, specialists, prefixTokens: set.prefixTokens as number, domains: [...(set.domains as string[])] };
}
