/**
 * Semantic blocks and their anchors.
 *
 * A block table assigns each vocabulary id to at most one named block
 * k = 1..K. Ids in no named block form the background block 0. Anchors are
 * the few most frequent tokens of a block that together cover a share rho of
 * the block's corpus occurrences, so a rule can point at them alone.
 */

import Ajv from 'ajv';

import blocksSchema from '../../resources/schemas/blocks.schema.json';
import { ValidationError, describeValue, schemaIssues, type ValidationIssue } from './errors';
import { DOC, UNK, type Tokenizer } from './tokenizer';

/** Id reserved for the tokens in no named block. */
export const BACKGROUND_BLOCK_ID = 'background';

/** Index of the background block in `BlockTable.blockOf`. */
export const BACKGROUND_BLOCK = 0;

/** Default share of a block's occurrences that its anchors cover. */
export const DEFAULT_ANCHOR_COVERAGE = 0.8;

/** Default maximum number of anchors per block. */
export const DEFAULT_MAX_ANCHORS = 8;

/** Creator of a block: an analyst ("user") or block recruitment ("recruited"). */
export type BlockOrigin = 'user' | 'recruited';

/** One block as written in a blocks file. */
export interface BlockSpec {
  id: string;
  name: string;
  /** Vocabulary words of the block, lower-cased as the tokenizer writes them. */
  tokens: string[];
  origin: BlockOrigin;
}

/** A blocks file after validation, with defaults filled in. */
export interface BlocksFile {
  version: 1;
  blocks: BlockSpec[];
}

/** A blocks file as written by hand, where `origin` defaults to "user". */
export interface BlocksFileInput {
  version: 1;
  blocks: Array<Omit<BlockSpec, 'origin'> & { origin?: BlockOrigin }>;
}

/** A named block with its resolved token ids and anchors. */
export interface BlockInfo {
  id: string;
  name: string;
  origin: BlockOrigin;
  tokens: string[];
  tokenIds: number[];
  /** Anchor words, most frequent first. */
  anchors: string[];
  anchorIds: number[];
  /** Share of the block's corpus occurrences that its anchors cover, in [0, 1]. */
  anchorCoverage: number;
  /** Entropy of the anchors' relative corpus frequencies, in nats. */
  anchorEntropy: number;
}

export interface BlockTable {
  blocks: BlockInfo[];
  /** Block index per vocabulary id: 0 is background, k = 1..K is `blocks[k - 1]`. */
  blockOf: Int32Array;
}

export interface AnchorOptions {
  /** Share of a block's occurrences the anchors must cover, in (0, 1]. Default 0.8. */
  rho?: number;
  /** Maximum number of anchors per block, a positive integer. Default 8. */
  maxAnchors?: number;
}

/** Anchors of one block. */
export interface Anchors {
  /** Anchor ids, most frequent first. */
  anchorIds: number[];
  coverage: number;
  /** Entropy in nats. */
  entropy: number;
}

/** Block table as stored in a checkpoint. */
export interface BlockTableJSON {
  version: 1;
  vocabSize: number;
  blocks: BlockInfo[];
}

const ajv = new Ajv({ allErrors: true, verbose: true, useDefaults: true, strictNumbers: true });
const validateBlocksSchema = ajv.compile<BlocksFile>(blocksSchema);

/**
 * Validates a blocks file against its JSON Schema and the tokenizer's
 * vocabulary, and returns a copy with defaults filled in.
 * Throws a `ValidationError` with code `invalid-blocks` that lists every
 * problem: schema violations, a reserved or repeated block id, a token listed
 * in two blocks, and a token missing from the vocabulary.
 */
export function parseBlocksFile(json: unknown, tokenizer: Tokenizer): BlocksFile {
  const data: unknown = structuredClone(json);
  const subjectOf = (path: string): string => describeBlocksPath(data, path);

  const issues: ValidationIssue[] = [];
  const schemaValid = validateBlocksSchema(data);
  if (!schemaValid) issues.push(...schemaIssues(validateBlocksSchema.errors ?? [], data, subjectOf));

  // The semantic checks guard each field's type themselves, so they also run
  // on blocks the schema rejected and every problem is reported at once.
  const blocks = (data as { blocks?: unknown } | null)?.blocks;
  if (Array.isArray(blocks)) issues.push(...blockSemanticIssues(blocks, tokenizer));

  if (issues.length > 0) throw new ValidationError('invalid-blocks', 'blocks file', issues);
  return data as BlocksFile;
}

function describeBlocksPath(data: unknown, path: string): string {
  const match = /^\/blocks\/(\d+)(?:\/(.*))?$/.exec(path);
  if (!match) return path === '' ? 'blocks file' : `blocks file ${path.slice(1).replace(/\//g, '.')}`;

  const block = (data as { blocks: unknown[] }).blocks[Number(match[1])] as { id?: unknown } | undefined;
  const label = typeof block?.id === 'string' ? `block "${block.id}"` : `block ${match[1]}`;
  return match[2] === undefined ? label : `${label} ${match[2].replace(/\//g, '.')}`;
}

/** Checks block ids and tokens, skipping fields of the wrong type because the schema reports them. */
function blockSemanticIssues(blocks: readonly unknown[], tokenizer: Tokenizer): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const firstIndexOfId = new Map<string, number>();
  const ownerOfToken = new Map<string, string>();

  blocks.forEach((block, blockIndex) => {
    if (block === null || typeof block !== 'object') return;
    const { id, tokens } = block as { id?: unknown; tokens?: unknown };
    const label = typeof id === 'string' ? `block "${id}"` : `block ${blockIndex}`;
    const idPath = `/blocks/${blockIndex}/id`;

    if (id === BACKGROUND_BLOCK_ID) {
      issues.push({
        path: idPath,
        message: `block id "${BACKGROUND_BLOCK_ID}" is reserved for the tokens in no block; choose another id`,
      });
    }
    if (typeof id === 'string') {
      const earlier = firstIndexOfId.get(id);
      if (earlier !== undefined) {
        issues.push({ path: idPath, message: `block id "${id}" is used by blocks ${earlier} and ${blockIndex}; give each block its own id` });
      } else {
        firstIndexOfId.set(id, blockIndex);
      }
    }
    if (!Array.isArray(tokens)) return;

    const seenInBlock = new Set<string>();
    tokens.forEach((token: unknown, tokenIndex) => {
      if (typeof token !== 'string' || token === '') return;
      const path = `/blocks/${blockIndex}/tokens/${tokenIndex}`;
      if (seenInBlock.has(token)) {
        issues.push({ path, message: `token "${token}" is listed twice in ${label}; remove one` });
        return;
      }
      seenInBlock.add(token);

      const owner = ownerOfToken.get(token);
      if (owner !== undefined) {
        issues.push({
          path,
          message: `token "${token}" is in ${owner} and ${label}; a token belongs to at most one block, so remove it from one of them`,
        });
      } else {
        ownerOfToken.set(token, label);
      }

      const problem = vocabularyProblem(token, label, tokenizer);
      if (problem !== null) issues.push({ path, message: problem });
    });
  });
  return issues;
}

/**
 * Returns why `token` cannot be used in a block or rule, or null when it is
 * an ordinary vocabulary word. `owner` names where the token is listed.
 */
export function vocabularyProblem(token: string, owner: string, tokenizer: Tokenizer): string | null {
  if (token === UNK || token === DOC) {
    return `token "${token}" in ${owner} is a special token, not a word; remove it`;
  }
  if (tokenizer.idOf(token) !== undefined) return null;

  const lower = token.toLowerCase();
  if (lower !== token && tokenizer.idOf(lower) !== undefined) {
    return `token "${token}" in ${owner} is not in the vocabulary, because the tokenizer lower-cases words; write "${lower}"`;
  }
  return (
    `token "${token}" in ${owner} is not in the tokenizer's vocabulary of ${tokenizer.size} entries; ` +
    'remove it, or raise the vocabulary cap and refit the tokenizer'
  );
}

/**
 * Builds the block table from a blocks file, computing each block's anchors
 * from corpus counts (usually of the training split).
 * Throws a `ValidationError` when the blocks file is invalid (see
 * `parseBlocksFile`) and a RangeError when `counts` does not match the
 * vocabulary or an option is out of range.
 */
export function buildBlockTable(
  spec: BlocksFileInput,
  tokenizer: Tokenizer,
  counts: Float64Array,
  options: AnchorOptions = {},
): BlockTable {
  const rho = options.rho ?? DEFAULT_ANCHOR_COVERAGE;
  const maxAnchors = options.maxAnchors ?? DEFAULT_MAX_ANCHORS;
  validateAnchorOptions(rho, maxAnchors);
  if (counts.length !== tokenizer.size) {
    throw new RangeError(
      `token counts have length ${counts.length} but the vocabulary has ${tokenizer.size} entries; count tokens with the same tokenizer`,
    );
  }

  const file = parseBlocksFile(spec, tokenizer);
  const blockOf = new Int32Array(tokenizer.size); // [V], 0 = background
  const blocks: BlockInfo[] = file.blocks.map((block, index) => {
    const tokenIds = block.tokens.map((token) => tokenizer.idOf(token) as number);
    for (const id of tokenIds) blockOf[id] = index + 1;

    const anchors = computeAnchors(tokenIds, counts, rho, maxAnchors);
    return {
      id: block.id,
      name: block.name,
      origin: block.origin,
      tokens: [...block.tokens],
      tokenIds,
      anchors: anchors.anchorIds.map((id) => tokenizer.vocab[id]),
      anchorIds: anchors.anchorIds,
      anchorCoverage: anchors.coverage,
      anchorEntropy: anchors.entropy,
    };
  });
  return { blocks, blockOf };
}

function validateAnchorOptions(rho: number, maxAnchors: number): void {
  if (!(rho > 0 && rho <= 1)) {
    throw new RangeError(`anchor coverage rho ${rho} is invalid; use a number in (0, 1], such as ${DEFAULT_ANCHOR_COVERAGE}`);
  }
  if (!Number.isInteger(maxAnchors) || maxAnchors < 1) {
    throw new RangeError(`maximum anchor count ${maxAnchors} is invalid; use a positive integer, such as ${DEFAULT_MAX_ANCHORS}`);
  }
}

/**
 * Computes a block's anchors: its tokens sorted by corpus count (ties by
 * smaller id), cut at the shortest prefix whose counts sum to at least `rho`
 * of the block's total, and at most `maxAnchors` long.
 *
 * Coverage is the anchors' share of the block's occurrences. It falls below
 * `rho` only when the cap cuts the prefix. Entropy is
 * -sum q ln q (nats) over the anchors' counts normalized to sum to 1.
 *
 * A block whose tokens never occur in the counts gets its first listed token
 * as its only anchor, with coverage 0 and entropy 0, so that a rule with
 * scope "anchors" still has a target.
 */
export function computeAnchors(
  tokenIds: readonly number[],
  counts: Float64Array,
  rho: number,
  maxAnchors: number,
): Anchors {
  validateAnchorOptions(rho, maxAnchors);
  if (tokenIds.length === 0) throw new RangeError('a block has no tokens, so it has no anchors; add tokens to the block');

  const sorted = [...tokenIds].sort((a, b) => counts[b] - counts[a] || a - b);
  const total = sorted.reduce((sum, id) => sum + counts[id], 0);
  if (total === 0) return { anchorIds: [tokenIds[0]], coverage: 0, entropy: 0 };

  // Counts are whole numbers, so the relative tolerance only absorbs the
  // rounding of rho * total.
  const needed = rho * total * (1 - 1e-12);
  const anchorIds: number[] = [];
  let covered = 0;
  for (const id of sorted) {
    if (anchorIds.length >= maxAnchors || covered >= needed) break;
    anchorIds.push(id);
    covered += counts[id];
  }

  let entropy = 0;
  for (const id of anchorIds) {
    const share = counts[id] / covered;
    if (share > 0) entropy -= share * Math.log(share);
  }
  return { anchorIds, coverage: covered / total, entropy };
}

/** Returns the block index (1..K) of a named block, or undefined when no block has that id. */
export function blockIndexOf(table: BlockTable, id: string): number | undefined {
  const index = table.blocks.findIndex((block) => block.id === id);
  return index < 0 ? undefined : index + 1;
}

/** Returns the blocks file that rebuilds this table's blocks (anchors are recomputed from counts). */
export function blockTableToBlocksFile(table: BlockTable): BlocksFile {
  return {
    version: 1,
    blocks: table.blocks.map((block) => ({ id: block.id, name: block.name, tokens: [...block.tokens], origin: block.origin })),
  };
}

export function blockTableToJSON(table: BlockTable): BlockTableJSON {
  return {
    version: 1,
    vocabSize: table.blockOf.length,
    blocks: table.blocks.map((block) => ({
      ...block,
      tokens: [...block.tokens],
      tokenIds: [...block.tokenIds],
      anchors: [...block.anchors],
      anchorIds: [...block.anchorIds],
    })),
  };
}

const blockInfoSchema = {
  type: 'object',
  required: ['id', 'name', 'origin', 'tokens', 'tokenIds', 'anchors', 'anchorIds', 'anchorCoverage', 'anchorEntropy'],
  additionalProperties: false,
  properties: {
    id: blocksSchema.definitions.block.properties.id,
    name: blocksSchema.definitions.block.properties.name,
    origin: { enum: ['user', 'recruited'] },
    tokens: blocksSchema.definitions.block.properties.tokens,
    tokenIds: { type: 'array', items: { type: 'integer', minimum: 0 } },
    anchors: { type: 'array', minItems: 1, items: { type: 'string' } },
    anchorIds: { type: 'array', minItems: 1, items: { type: 'integer', minimum: 0 } },
    anchorCoverage: { type: 'number', minimum: 0, maximum: 1 },
    anchorEntropy: { type: 'number', minimum: 0 },
  },
} as const;

const validateBlockTableSchema = ajv.compile<BlockTableJSON>({
  type: 'object',
  required: ['version', 'vocabSize', 'blocks'],
  additionalProperties: false,
  properties: {
    version: { const: 1 },
    vocabSize: { type: 'integer', minimum: 2 },
    blocks: { type: 'array', items: blockInfoSchema },
  },
});

/**
 * Reads a block table from a checkpoint. Throws a `ValidationError` with
 * code `invalid-blocks` when the data is damaged: ids outside the
 * vocabulary, a token in two blocks, anchors that are not tokens of their
 * block, or (when `tokenizer` is given) words that do not match its ids.
 */
export function blockTableFromJSON(json: unknown, tokenizer?: Tokenizer): BlockTable {
  const subjectOf = (path: string): string => describeBlocksPath(json, path);
  if (!validateBlockTableSchema(json)) {
    throw new ValidationError('invalid-blocks', 'block table in the checkpoint', schemaIssues(validateBlockTableSchema.errors ?? [], json, subjectOf));
  }

  const data = blockTableToJSON({ blocks: json.blocks, blockOf: new Int32Array(json.vocabSize) });
  const issues: ValidationIssue[] = [];
  if (tokenizer && tokenizer.size !== data.vocabSize) {
    issues.push({
      path: '/vocabSize',
      message: `block table has vocabulary size ${data.vocabSize} but the tokenizer has ${tokenizer.size}; the checkpoint is damaged`,
    });
  }

  const blockOf = new Int32Array(data.vocabSize);
  const seenIds = new Set<string>();
  data.blocks.forEach((block, blockIndex) => {
    const path = `/blocks/${blockIndex}`;
    if (block.id === BACKGROUND_BLOCK_ID || seenIds.has(block.id)) {
      issues.push({ path: `${path}/id`, message: `block id "${block.id}" is reserved or used twice; the checkpoint is damaged` });
    }
    seenIds.add(block.id);
    if (block.tokenIds.length !== block.tokens.length || block.anchorIds.length !== block.anchors.length) {
      issues.push({ path, message: `${subjectOf(path)} has word and id lists of different lengths; the checkpoint is damaged` });
      return;
    }
    block.tokenIds.forEach((id, tokenIndex) => {
      const tokenPath = `${path}/tokenIds/${tokenIndex}`;
      if (id >= data.vocabSize) {
        issues.push({ path: tokenPath, message: `${subjectOf(path)} token id ${id} is outside the vocabulary of size ${data.vocabSize}` });
      } else if (blockOf[id] !== 0) {
        issues.push({ path: tokenPath, message: `token id ${id} is in blocks ${describeValue(data.blocks[blockOf[id] - 1].id)} and ${describeValue(block.id)}` });
      } else if (tokenizer && tokenizer.vocab[id] !== block.tokens[tokenIndex]) {
        issues.push({
          path: tokenPath,
          message: `token id ${id} is "${tokenizer.vocab[id]}" in the tokenizer but "${block.tokens[tokenIndex]}" in ${subjectOf(path)}; the checkpoint is damaged`,
        });
      } else {
        blockOf[id] = blockIndex + 1;
      }
    });
    block.anchorIds.forEach((id, anchorIndex) => {
      if (!block.tokenIds.includes(id)) {
        issues.push({ path: `${path}/anchorIds/${anchorIndex}`, message: `anchor id ${id} of ${subjectOf(path)} is not one of its token ids` });
      }
    });
  });

  if (issues.length > 0) throw new ValidationError('invalid-blocks', 'block table in the checkpoint', issues);
  return { blocks: data.blocks, blockOf };
}
