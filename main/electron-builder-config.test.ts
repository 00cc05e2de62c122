import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Ajv from 'ajv';
import { describe, expect, it } from 'vitest';

// electron-builder cannot package on a machine without network access,
// because it downloads Electron, so these tests check its configuration,
// the "build" key of package.json, against its own JSON schema and against
// the files that packaging needs.
const PROJECT_ROOT = resolve(import.meta.dirname, '..');
const packageJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
  main: string;
  scripts: Record<string, string>;
  build: {
    appId: string;
    productName: string;
    files: string[];
    extraResources: { from: string; to: string }[];
    asarUnpack: string[];
    npmRebuild: boolean;
    linux: { target: string[] };
    mac: { target: string[] };
    win: { target: string[] };
  };
};
const config = packageJson.build;

describe('electron-builder configuration', () => {
  it('is valid against the electron-builder schema', () => {
    const schema = JSON.parse(readFileSync(join(PROJECT_ROOT, 'node_modules/app-builder-lib/scheme.json'), 'utf8')) as object;
    const ajv = new Ajv({ strict: false, allErrors: true });
    const validate = ajv.compile(schema);
    expect(validate(config), JSON.stringify(validate.errors, null, 2)).toBe(true);
  });

  it('names the app', () => {
    expect(config.appId).toBe('org.localist.workbench');
    expect(config.productName).toBe('Localist Workbench');
  });

  it('builds AppImage and deb, dmg, and nsis', () => {
    expect(config.linux.target).toEqual(['AppImage', 'deb']);
    expect(config.mac.target).toEqual(['dmg']);
    expect(config.win.target).toEqual(['nsis']);
  });

  it('rebuilds native modules for Electron', () => {
    expect(config.npmRebuild).toBe(true);
  });

  it('unpacks better-sqlite3 and the wasm files from the asar archive', () => {
    expect(config.asarUnpack).toContain('node_modules/better-sqlite3/**');
    expect(config.asarUnpack).toContain('**/*.node');
    const wasmPattern = config.asarUnpack.find((pattern) => pattern.endsWith('*.wasm'));
    expect(wasmPattern).toBe('node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm');
    const wasmFiles = readdirSync(join(PROJECT_ROOT, 'node_modules/@tensorflow/tfjs-backend-wasm/dist')).filter((name) => name.endsWith('.wasm'));
    expect(wasmFiles.length).toBeGreaterThan(0);
  });

  it('packs the build, the resources and the entry point', () => {
    expect(config.files).toEqual(expect.arrayContaining(['out/**', 'resources/**', 'package.json']));
    expect(packageJson.main).toBe('out/main/index.js');
    expect(existsSync(join(PROJECT_ROOT, 'resources/demo/brown-blocks.json'))).toBe(true);
  });

  it('ships the docs as resources for the Help menu', () => {
    expect(config.extraResources).toContainEqual(expect.objectContaining({ from: 'docs', to: 'docs' }));
  });

  it('has a dist script that builds first', () => {
    expect(packageJson.scripts.dist).toBe('npm run build && electron-builder --publish never');
  });
});
