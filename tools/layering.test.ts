import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

// These tests lint source text through the project's own eslint.config.mjs,
// so they fail when a layering rule is missing, too wide or too narrow.
const projectRoot = fileURLToPath(new URL('..', import.meta.url));
const eslint = new ESLint({ cwd: projectRoot });

/** Lints an import of `specifier` as if it were written in `file`, and returns the layering messages. */
async function layeringMessages(file: string, specifier: string): Promise<string[]> {
  const code = `import * as imported from '${specifier}';\nexport const used = imported;\n`;
  const [result] = await eslint.lintText(code, { filePath: `${projectRoot}/${file}` });
  if (!result) throw new Error(`ESLint returned no result for ${file}`);

  const fatal = result.messages.filter((message) => message.fatal);
  if (fatal.length > 0) throw new Error(`ESLint could not parse the code for ${file}: ${fatal[0]?.message}`);
  return result.messages.filter((message) => message.ruleId === 'no-restricted-imports').map((message) => message.message);
}

interface LayerCase {
  file: string;
  rejected: string[];
  accepted: string[];
}

const cases: LayerCase[] = [
  {
    file: 'common/api.ts',
    rejected: [
      'electron',
      'node:fs',
      'fs',
      'fs/promises',
      'path',
      'worker_threads',
      '../main/index',
      '../main/engine/tokenizer',
      '../preload/index',
      '../renderer/src/App',
      '../resources/schemas/blocks.schema.json',
      '../../outside',
    ],
    accepted: ['./errors', './sub/types', 'ajv'],
  },
  {
    file: 'common/schemas/blocks.ts',
    rejected: ['../../main/index', '../../renderer/src/App'],
    accepted: ['../api', './rules'],
  },
  {
    file: 'main/engine/model.ts',
    rejected: [
      'electron',
      'electron/main',
      '../index',
      '..',
      '../cli/train',
      '../ipc',
      '../../main/index',
      '../../preload/index',
      '../../renderer/src/App',
      '../../bench/probe-speed',
      '../../../outside',
    ],
    accepted: [
      './tokenizer',
      '../engine/tokenizer',
      '../../common/api',
      '../../resources/schemas/blocks.schema.json',
      'node:worker_threads',
      '@tensorflow/tfjs',
    ],
  },
  {
    file: 'main/engine/kernels/matmul.ts',
    rejected: ['electron', '../../index', '../../cli/train', '../../../renderer/src/App'],
    accepted: ['../model', './simd', '../../../common/api'],
  },
  {
    file: 'main/index.ts',
    rejected: ['../renderer/src/App', '../preload/index', '../bench/probe-speed'],
    accepted: ['electron', 'node:path', './engine/tokenizer', './ipc', '../common/api', '../resources/icon.png'],
  },
  {
    file: 'main/cli/train.ts',
    rejected: ['../../renderer/src/App', '../../preload/index'],
    accepted: ['../engine/model', '../../common/api', 'electron'],
  },
  {
    file: 'preload/index.ts',
    rejected: ['node:fs', 'fs', '../main/index', '../main/engine/model', '../renderer/src/App'],
    accepted: ['electron', '../common/api', './bridge'],
  },
  {
    file: 'renderer/src/App.tsx',
    rejected: [
      'electron',
      'node:fs',
      'fs',
      'path',
      'better-sqlite3',
      '@tensorflow/tfjs-node',
      '../../main/index',
      '../../main/engine/model',
      '../../preload/index',
      '../../resources/schemas/blocks.schema.json',
    ],
    accepted: ['react', 'react-dom/client', './main', './views/Chart', '../../common/api'],
  },
  {
    file: 'renderer/src/views/Chart.tsx',
    rejected: ['../../../main/index', '../../../preload/index'],
    accepted: ['../App', '../../../common/api', 'plotly.js-dist-min'],
  },
];

describe.each(cases)('layering of $file', ({ file, rejected, accepted }) => {
  it.each(rejected)('rejects "%s"', async (specifier) => {
    const messages = await layeringMessages(file, specifier);
    expect(messages).toHaveLength(1);
  });

  it.each(accepted)('accepts "%s"', async (specifier) => {
    const messages = await layeringMessages(file, specifier);
    expect(messages).toEqual([]);
  });
});

describe('layering of other import forms', () => {
  async function lint(file: string, code: string): Promise<number> {
    const [result] = await eslint.lintText(code, { filePath: `${projectRoot}/${file}` });
    return result?.messages.filter((message) => message.ruleId === 'no-restricted-imports').length ?? -1;
  }

  it('rejects a type-only import', async () => {
    expect(await lint('common/api.ts', "import type { App } from '../renderer/src/App';\nexport type Used = App;\n")).toBe(1);
  });

  it('rejects a re-export', async () => {
    expect(await lint('common/api.ts', "export { app } from 'electron';\n")).toBe(1);
  });

  it('rejects a parent import in a deeply nested file', async () => {
    expect(await lint('main/engine/a/b/c/d/e/f/g/deep.ts', "export * from '../sibling';\n")).toBe(1);
  });
});

describe('layering messages', () => {
  it('names the allowed folders and the reason', async () => {
    const [message] = await layeringMessages('main/engine/model.ts', '../index');
    expect(message).toContain('main/engine/ may import only main/engine/, common/ and resources/');
    expect(message).toContain('without the rest of main/');
  });
});
