/**
 * Import rules between the workbench's layers, as ESLint flat-config objects
 * for the core `no-restricted-imports` rule.
 *
 * Imports run one way. renderer/, preload/ and main/ may import common/.
 * main/engine/ imports no Electron and no other part of main/, so the CLI,
 * the server, the worker and the tests can load it alone. common/ imports
 * no other layer, no Node built-in and no Electron, so every layer can load it.
 *
 * `no-restricted-imports` matches the import string, not the resolved file.
 * This module therefore emits one config object per directory depth inside
 * each layer folder. For each number of leading `../` it computes the
 * directory that the import reaches and lists the folders allowed from there.
 * NOTE: dynamic `import()` is not checked, because the rule checks only
 * static imports and `export ... from`.
 */
import { builtinModules } from 'node:module';

const SOURCE_FILES = '*.{ts,tsx,mts,cts,js,jsx,mjs,cjs}';

/** Levels of subfolders inside a layer folder whose relative imports are checked. */
export const MAX_NESTING = 6;

function escapeRegex(text) {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** Builds a regex that matches a package name and any subpath of it. */
function packageRegex(names) {
  return `^(?:${names.map(escapeRegex).join('|')})(?:/|$)`;
}

const ELECTRON = {
  regex: packageRegex(['electron']),
  message: 'Only main/ (outside main/engine/) and preload/ may import Electron.',
};

// builtinModules lists names such as "fs" and "fs/promises", plus internal
// names starting with "_". Modules like "node:test" exist only with the
// prefix, so the "node:" branch catches them.
const nodeBuiltinNames = builtinModules.filter((name) => !name.startsWith('_') && !name.includes('/'));

const NODE_BUILTINS = {
  regex: `^node:|${packageRegex(nodeBuiltinNames)}`,
  message: 'Node built-in modules are not available in this layer.',
};

// Packages that need Node or native code and so cannot run in the page.
const NODE_ONLY_PACKAGES = {
  regex: packageRegex(['better-sqlite3', 'pdfkit', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu']),
  message: 'This package needs Node, so the page must call the service through window.api instead.',
};

/**
 * Layers in order from general to specific: a later layer's rules replace an
 * earlier one's for the files of both, as main/engine/ does for main/.
 */
export const LAYERS = [
  {
    folder: 'main',
    allowedFolders: ['main', 'common', 'resources'],
    restrictedPackages: [],
    reason: 'main/ never imports the page or its bridge, so types they share belong in common/.',
  },
  {
    folder: 'main/engine',
    allowedFolders: ['main/engine', 'common', 'resources'],
    restrictedPackages: [ELECTRON],
    reason: 'main/engine/ must load without Electron and without the rest of main/.',
  },
  {
    folder: 'common',
    allowedFolders: ['common'],
    restrictedPackages: [ELECTRON, NODE_BUILTINS],
    reason: 'common/ is loaded by every layer, so it imports none of them.',
  },
  {
    folder: 'preload',
    allowedFolders: ['preload', 'common'],
    restrictedPackages: [
      {
        regex: NODE_BUILTINS.regex,
        message: 'A sandboxed preload can require only electron and a few polyfilled modules, so keep Node work in main/ behind an IPC operation.',
      },
    ],
    reason: 'preload/ is a narrow bridge that is typed from common/ only.',
  },
  {
    folder: 'renderer',
    allowedFolders: ['renderer', 'common'],
    restrictedPackages: [ELECTRON, NODE_BUILTINS, NODE_ONLY_PACKAGES],
    reason: 'renderer/ talks to the services only through window.api.',
  },
];

function isPrefix(prefix, parts) {
  return prefix.length <= parts.length && prefix.every((part, index) => part === parts[index]);
}

/**
 * Builds the `no-restricted-imports` patterns for relative imports from a
 * file `nesting` folders below `layer.folder`. An import string that starts
 * with `up` copies of `../` reaches a known directory once it climbs out of
 * the layer folder. The pattern for that `up` rejects every continuation
 * that does not lead into an allowed folder.
 */
function relativeImportPatterns(layer, nesting) {
  const folderParts = layer.folder.split('/');
  const allowedParts = layer.allowedFolders.map((folder) => folder.split('/'));
  const depth = folderParts.length + nesting;
  const folderList = layer.allowedFolders.map((folder) => `${folder}/`);
  const allowedText = `${folderList.slice(0, -1).join(', ')} and ${folderList.at(-1)}`;
  const message = `${layer.folder}/ may import only ${allowedText} from this project. ${layer.reason}`;
  const patterns = [];

  // With up <= nesting the import stays inside the layer folder, which is always allowed.
  for (let up = nesting + 1; up <= depth; up += 1) {
    const reached = folderParts.slice(0, depth - up);
    if (allowedParts.some((allowed) => isPrefix(allowed, reached))) continue;

    const continuations = allowedParts
      .filter((allowed) => isPrefix(reached, allowed))
      .map((allowed) => escapeRegex(allowed.slice(reached.length).join('/')));
    // ".." continues to the next `up`, which has its own pattern.
    continuations.push('\\.\\.');

    patterns.push({
      regex: `^(?:\\.\\./){${up - 1}}\\.\\.(?:$|/(?!(?:${continuations.join('|')})(?:/|$)))`,
      message,
    });
  }

  patterns.push({
    regex: `^(?:\\.\\./){${depth}}\\.\\.(?:/|$)`,
    message: 'This import leaves the project folder.',
  });
  return patterns;
}

function restrictedImportsRule(patterns) {
  return ['error', { patterns: patterns.map(({ regex, message }) => ({ regex, message, caseSensitive: true })) }];
}

/** Returns the flat-config objects that enforce the layering. */
export function layeringConfigs() {
  const configs = [];

  for (const layer of LAYERS) {
    // Files nested deeper than MAX_NESTING keep this catch-all, which rejects
    // every parent-folder import instead of letting it pass unchecked.
    configs.push({
      name: `layering/${layer.folder}/deep`,
      files: [`${layer.folder}/**/${SOURCE_FILES}`],
      rules: {
        'no-restricted-imports': restrictedImportsRule([
          ...layer.restrictedPackages,
          {
            regex: '^\\.\\.(?:/|$)',
            message: `This file is nested more than ${MAX_NESTING} folders inside ${layer.folder}/, so its relative imports cannot be checked. Raise MAX_NESTING in tools/layering.mjs.`,
          },
        ]),
      },
    });

    for (let nesting = 0; nesting <= MAX_NESTING; nesting += 1) {
      configs.push({
        name: `layering/${layer.folder}/nesting-${nesting}`,
        files: [`${layer.folder}/${'*/'.repeat(nesting)}${SOURCE_FILES}`],
        rules: {
          'no-restricted-imports': restrictedImportsRule([
            ...layer.restrictedPackages,
            ...relativeImportPatterns(layer, nesting),
          ]),
        },
      });
    }
  }

  return configs;
}
