import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CONTENT_SECURITY_POLICY } from './security-headers';

// The electron package only exports the binary's path in plain Node; these tests call the handler directly.
vi.mock('electron', () => ({ protocol: {} }));
const { appProtocolResponse } = await import('./app-protocol');

let folder: string;
let root: string;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'localist-app-protocol-'));
  root = join(folder, 'renderer');
  await mkdir(join(root, 'assets'), { recursive: true });
  await writeFile(join(root, 'index.html'), '<!doctype html><title>Localist Workbench</title>');
  await writeFile(join(root, 'assets', 'index.css'), 'body { margin: 0; }');
  await writeFile(join(folder, 'secret.txt'), 'outside the served folder');
});

afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

describe('appProtocolResponse', () => {
  it('serves the page with the CSP header', async () => {
    const response = await appProtocolResponse('GET', 'app://workbench/index.html', root);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await response.text()).toContain('Localist Workbench');
  });

  it('serves assets with their content type', async () => {
    const response = await appProtocolResponse('GET', 'app://workbench/assets/index.css', root);
    expect(response.headers.get('content-type')).toBe('text/css; charset=utf-8');
  });

  it('answers HEAD without a body', async () => {
    const response = await appProtocolResponse('HEAD', 'app://workbench/index.html', root);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('');
  });

  it('rejects another host', async () => {
    expect((await appProtocolResponse('GET', 'app://other/index.html', root)).status).toBe(404);
  });

  it('rejects an encoded traversal', async () => {
    const response = await appProtocolResponse('GET', 'app://workbench/..%2fsecret.txt', root);
    expect(response.status).toBe(400);
    expect(await response.text()).not.toContain('outside the served folder');
  });

  it('answers a missing file with 404', async () => {
    expect((await appProtocolResponse('GET', 'app://workbench/missing.js', root)).status).toBe(404);
  });

  it('rejects POST', async () => {
    expect((await appProtocolResponse('POST', 'app://workbench/index.html', root)).status).toBe(405);
  });
});
