import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ELECTRON_PACKAGE = resolve(import.meta.dirname, '../../node_modules/electron');

/**
 * Finds the Electron binary that the `electron` package downloads in its
 * install script, the way its index.js does (dist/ plus the name in
 * path.txt), without loading index.js, which throws when the binary is
 * missing. Returns the binary's path, or why there is none.
 */
export function findElectronBinary(): { path: string } | { missing: string } {
  const pathFile = join(ELECTRON_PACKAGE, 'path.txt');
  if (!existsSync(pathFile)) {
    return {
      missing:
        'node_modules/electron/path.txt does not exist, because package.json\'s allowScripts ' +
        'skips the install script of the electron package, which downloads the binary',
    };
  }
  const binary = join(ELECTRON_PACKAGE, 'dist', readFileSync(pathFile, 'utf8').trim());
  if (!existsSync(binary)) return { missing: `${binary} does not exist; reinstall the electron package with its install script` };
  return { path: binary };
}
