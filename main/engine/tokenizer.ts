/**
 * Word-level tokenizer: lower-cased words and single punctuation marks.
 * Analysts read words, so the vocabulary is whole words; ids beyond the
 * vocabulary cap map to `<unk>`. The tokenizer is saved inside checkpoints.
 */

export const UNK = '<unk>';
export const DOC = '<doc>';
export const UNK_ID = 0;
export const DOC_ID = 1;

/** Serialized tokenizer, as stored in a checkpoint. */
export interface TokenizerJSON {
  kind: 'word';
  version: 1;
  /** Vocabulary, indexed by token id; ids 0 and 1 are `<unk>` and `<doc>`. */
  vocab: string[];
}

// A word is letters and digits, optionally joined by inner apostrophes,
// hyphens or dots ("don't", "term-end", "3.5"); anything else that is not
// white space is a one-character punctuation token.
const TOKEN_PATTERN = /[\p{L}\p{N}]+(?:['’.-][\p{L}\p{N}]+)*|[^\s\p{L}\p{N}]/gu;

/** Splits text into lower-cased word and punctuation strings. */
export function splitWords(text: string): string[] {
  return text.toLowerCase().match(TOKEN_PATTERN) ?? [];
}

export class Tokenizer {
  readonly vocab: readonly string[];
  private readonly ids: Map<string, number>;

  constructor(vocab: readonly string[]) {
    if (vocab[UNK_ID] !== UNK || vocab[DOC_ID] !== DOC) {
      throw new Error(`tokenizer vocabulary must start with "${UNK}" and "${DOC}", got ${JSON.stringify(vocab.slice(0, 2))}`);
    }
    this.vocab = vocab;
    this.ids = new Map(vocab.map((word, id) => [word, id]));
    if (this.ids.size !== vocab.length) {
      throw new Error('tokenizer vocabulary contains a duplicate word; rebuild it with Tokenizer.fit');
    }
  }

  /**
   * Builds a vocabulary of at most `maxVocab` entries (special tokens included)
   * from the most frequent words; ties are broken alphabetically so the result
   * does not depend on document order.
   */
  static fit(texts: Iterable<string>, maxVocab = 8000): Tokenizer {
    if (!Number.isInteger(maxVocab) || maxVocab < 3) {
      throw new Error(`vocabulary cap ${maxVocab} is invalid; use an integer of at least 3`);
    }
    const counts = new Map<string, number>();
    for (const text of texts) {
      for (const word of splitWords(text)) counts.set(word, (counts.get(word) ?? 0) + 1);
    }
    counts.delete(UNK);
    counts.delete(DOC);
    const ranked = [...counts.entries()]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .slice(0, maxVocab - 2)
      .map(([word]) => word);
    return new Tokenizer([UNK, DOC, ...ranked]);
  }

  static fromJSON(json: unknown): Tokenizer {
    const data = json as Partial<TokenizerJSON> | null;
    if (!data || data.kind !== 'word' || data.version !== 1 || !Array.isArray(data.vocab)) {
      throw new Error('tokenizer data is not a version 1 word tokenizer; the checkpoint is damaged or was written by another program');
    }
    if (!data.vocab.every((word) => typeof word === 'string')) {
      throw new Error('tokenizer vocabulary contains a value that is not a string; the checkpoint is damaged');
    }
    return new Tokenizer(data.vocab);
  }

  toJSON(): TokenizerJSON {
    return { kind: 'word', version: 1, vocab: [...this.vocab] };
  }

  get size(): number {
    return this.vocab.length;
  }

  /** Returns the id of a word, or undefined when it is not in the vocabulary. */
  idOf(word: string): number | undefined {
    return this.ids.get(word);
  }

  encode(text: string): number[] {
    return splitWords(text).map((word) => this.ids.get(word) ?? UNK_ID);
  }

  /**
   * Encodes documents into one stream, each document preceded by `<doc>`.
   */
  encodeDocuments(texts: Iterable<string>): Int32Array {
    const parts: number[] = [];
    for (const text of texts) {
      parts.push(DOC_ID);
      for (const id of this.encode(text)) parts.push(id);
    }
    return Int32Array.from(parts);
  }

  decode(ids: Iterable<number>): string[] {
    return [...ids].map((id) => this.vocab[id] ?? UNK);
  }
}
