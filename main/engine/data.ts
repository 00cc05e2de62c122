/**
 * Data preparation shared by training, evaluation and the CLI: corpus,
 * deterministic splits, tokenizer, token streams, block table and rules.
 * Everything here is reproducible from a `DataSpec`, which checkpoints store.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { buildBlockTable, type BlockTable, type BlocksFileInput } from './blocks';
import { countTokens, loadBrownCorpus, loadTextCorpus, splitCorpus } from './corpus';
import { compileRules, buildRuleMasks, type CompiledRules, type RulesFileInput } from './rules';
import type { RuleMaskBuilder } from './batch';
import { Tokenizer } from './tokenizer';
import type { Corpus, CorpusSplits } from './types';

/** Where the text comes from and how it is split and tokenized. */
export interface DataSpec {
  /** "brown" for the embedded Brown corpus, otherwise a text file or folder path. */
  corpus: string;
  /** Seed of the document split. */
  seed: number;
  validationFraction: number;
  testFraction: number;
  /** Vocabulary cap, special tokens included (default 8,000). */
  maxVocab: number;
  /**
   * SHA-256 of the corpus the model was trained on (see `corpusFingerprint`),
   * recorded at training time; later loads refuse a corpus that differs.
   */
  fingerprint?: string;
  /**
   * Domain whose documents make up every split, as for a specialist model;
   * absent or null for all documents. The split and the vocabulary are those
   * of the whole corpus, so a specialist shares its parent's held-out text.
   */
  domain?: string | null;
}

export const DEFAULT_DATA_SPEC: DataSpec = {
  corpus: 'brown',
  seed: 1,
  validationFraction: 0.05,
  testFraction: 0.05,
  maxVocab: 8000,
};

/** Paths of the demo block and rule sets written for the Brown corpus. */
export const DEMO_BLOCKS_PATH = fileURLToPath(new URL('../../resources/demo/brown-blocks.json', import.meta.url));
export const DEMO_RULES_PATH = fileURLToPath(new URL('../../resources/demo/brown-rules.json', import.meta.url));

export interface PreparedData {
  spec: DataSpec;
  corpus: Corpus;
  splits: CorpusSplits;
  tokenizer: Tokenizer;
  streams: { train: Int32Array; validation: Int32Array; test: Int32Array };
  /** Unigram counts of the training stream, per vocabulary id. */
  trainCounts: Float64Array;
  /** SHA-256 of the corpus documents. */
  fingerprint: string;
}

/**
 * SHA-256 over every document's id, domain and text in id order, so a
 * renamed, added, removed or edited document changes it.
 */
export function corpusFingerprint(corpus: Corpus): string {
  const hash = createHash('sha256');
  const documents = [...corpus.documents].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const document of documents) {
    hash.update(document.id).update('\0').update(document.domain ?? '').update('\0').update(document.text).update('\0');
  }
  return hash.digest('hex');
}

export async function loadCorpus(source: string): Promise<Corpus> {
  return source === 'brown' ? loadBrownCorpus() : loadTextCorpus(source);
}

/**
 * Loads and splits the corpus and encodes each split. With `tokenizer` the
 * given vocabulary is used (as when a checkpoint is evaluated); otherwise one
 * is fitted on the training split only, so held-out text stays unseen.
 */
export async function prepareData(spec: DataSpec, tokenizer?: Tokenizer): Promise<PreparedData> {
  const corpus = await loadCorpus(spec.corpus);
  const fingerprint = corpusFingerprint(corpus);
  if (spec.fingerprint && spec.fingerprint !== fingerprint) {
    throw new RangeError(
      `corpus "${spec.corpus}" differs from the one the model was trained on (SHA-256 ${fingerprint}, expected ${spec.fingerprint}); ` +
        'restore the original documents, because its splits would otherwise mix training and held-out text, or train a new model',
    );
  }
  const splits = splitCorpus(corpus, {
    seed: spec.seed,
    validationFraction: spec.validationFraction,
    testFraction: spec.testFraction,
  });
  const fitted = tokenizer ?? Tokenizer.fit(splits.train.map((document) => document.text), spec.maxVocab);
  const whole = encodeSplits({ ...spec, domain: null }, corpus, splits, fitted, fingerprint);
  return spec.domain == null ? whole : restrictToDomain(whole, spec.domain);
}

function encodeSplits(spec: DataSpec, corpus: Corpus, splits: CorpusSplits, tokenizer: Tokenizer, fingerprint: string): PreparedData {
  const texts = (split: keyof CorpusSplits) => splits[split].map((document) => document.text);
  const streams = {
    train: tokenizer.encodeDocuments(texts('train')),
    validation: tokenizer.encodeDocuments(texts('validation')),
    test: tokenizer.encodeDocuments(texts('test')),
  };
  return { spec, corpus, splits, tokenizer, streams, trainCounts: countTokens(streams.train, tokenizer.size), fingerprint };
}

/** Domains of a corpus's documents, in name order, without null. */
export function corpusDomains(corpus: Corpus): string[] {
  const domains = new Set<string>();
  for (const document of corpus.documents) if (document.domain !== null) domains.add(document.domain);
  return [...domains].sort();
}

/**
 * Returns prepared data whose splits hold only the documents of `domain`,
 * with the same tokenizer and the same document split. Throws a RangeError
 * naming the corpus's domains when `domain` has no training document.
 */
export function restrictToDomain(data: PreparedData, domain: string): PreparedData {
  const splits: CorpusSplits = {
    train: data.splits.train.filter((document) => document.domain === domain),
    validation: data.splits.validation.filter((document) => document.domain === domain),
    test: data.splits.test.filter((document) => document.domain === domain),
  };
  if (splits.train.length === 0) {
    const domains = corpusDomains(data.corpus);
    throw new RangeError(
      `corpus "${data.spec.corpus}" has no training document in domain "${domain}"; ` +
        (domains.length > 0 ? `its domains are ${domains.map((name) => `"${name}"`).join(', ')}` : 'it has no domains: put documents in subfolders named after their domain'),
    );
  }
  return encodeSplits({ ...data.spec, domain }, data.corpus, splits, data.tokenizer, data.fingerprint);
}

/**
 * Reads a UTF-8 JSON file, naming the file and the fix when it cannot be read
 * or parsed. A leading byte order mark, which some Windows editors write, is
 * dropped because JSON.parse rejects it.
 */
export async function readJsonFile(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(`${what} file "${path}" could not be read (${code ?? String(error)}); check the path`);
  }
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${what} file "${path}" is not valid JSON: ${(error as Error).message}; fix the syntax and retry`);
  }
}

export interface Localisation {
  blockTable: BlockTable;
  blocksFile: BlocksFileInput;
  rulesFile: RulesFileInput;
  compiled: CompiledRules;
}

/** Builds the block table and compiles the rules for a model shape. */
export function buildLocalisation(
  data: Pick<PreparedData, 'tokenizer' | 'trainCounts'>,
  blocksFile: BlocksFileInput,
  rulesFile: RulesFileInput,
  shape: { layers: number; heads: number },
): Localisation {
  const blockTable = buildBlockTable(blocksFile, data.tokenizer, data.trainCounts);
  const compiled = compileRules(rulesFile, blockTable, data.tokenizer, shape);
  return { blockTable, blocksFile, rulesFile, compiled };
}

export const EMPTY_BLOCKS: BlocksFileInput = { version: 1, blocks: [] };
export const EMPTY_RULES: RulesFileInput = { version: 1, rules: [] };

/** Mask builder over compiled rules; returns null when no rule is enabled. */
export function ruleMaskBuilder(compiled: CompiledRules): RuleMaskBuilder {
  if (compiled.rules.length === 0) return () => null;
  return (tokens, batch, time) => buildRuleMasks(compiled, tokens, batch, time);
}
