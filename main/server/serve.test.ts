import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import type { ApiError } from '../../common/api';
import { createFakeServices } from '../testing/fake-services';
import { runServe, type DisposableServices, type ServeOptions } from './serve';

const ADDRESS = /^http:\/\/127\.0\.0\.1:(\d+)\/#token=([0-9a-f]{64})$/;

interface Harness {
  options: ServeOptions;
  addresses: string[];
  info: string[];
  calls: ReturnType<typeof createFakeServices>['calls'];
  disposed: () => boolean;
  stop: () => void;
}

function harness(overrides: Partial<DisposableServices> = {}, options: Partial<ServeOptions> = {}): Harness {
  const fake = createFakeServices(overrides);
  let disposed = false;
  const controller = new AbortController();
  const addresses: string[] = [];
  const info: string[] = [];
  return {
    addresses,
    info,
    calls: fake.calls,
    disposed: () => disposed,
    stop: () => controller.abort(),
    options: {
      project: null,
      port: 0,
      trainQuick: false,
      staticRoot: null,
      createServices: () => ({
        ...fake.handlers,
        dispose: async () => {
          disposed = true;
        },
      }),
      printAddress: (line) => addresses.push(line),
      printInfo: (line) => info.push(line),
      signal: controller.signal,
      ...options,
    },
  };
}

/** Waits until the server printed its address, then returns it. */
async function addressOf(test: Harness): Promise<string> {
  await expect.poll(() => test.addresses.length).toBe(1);
  return test.addresses[0];
}

describe('runServe', () => {
  it('opens the demo project and prints the address', async () => {
    const test = harness();
    const running = runServe(test.options);
    const address = await addressOf(test);
    expect(address).toMatch(ADDRESS);
    expect(test.calls.map((call) => call.operation)).toEqual(['openDemoProject']);

    const token = ADDRESS.exec(address)?.[2];
    const response = await fetch(new URL('/api/appVersion', address), { method: 'POST', headers: { Authorization: `Bearer ${token}` } });
    expect(await response.json()).toEqual({ ok: true, value: '0.1.0' });

    test.stop();
    expect(await running).toEqual({ kind: 'stopped' });
    expect(test.disposed()).toBe(true);
  });

  it('stops listening when stopped', async () => {
    const test = harness();
    const running = runServe(test.options);
    const address = await addressOf(test);
    test.stop();
    await running;
    await expect(fetch(new URL('/', address))).rejects.toThrow();
  });

  it('opens the given project', async () => {
    const test = harness({}, { project: '/srv/projects/contracts' });
    const running = runServe(test.options);
    await addressOf(test);
    test.stop();
    await running;
    expect(test.calls[0]).toEqual({ operation: 'openProject', request: { folder: '/srv/projects/contracts' } });
  });

  it('fails before listening when the project does not open', async () => {
    const notFound: ApiError = { code: 'not-found', message: 'no workbench project in "/srv/x"', details: {} };
    const test = harness({ openProject: () => Promise.reject(notFound) }, { project: '/srv/x' });
    const result = await runServe(test.options);
    expect(result).toEqual({
      kind: 'failed',
      error: { code: 'not-found', message: 'could not open the project in "/srv/x": no workbench project in "/srv/x"', details: {} },
    });
    expect(test.addresses).toEqual([]);
    expect(test.disposed()).toBe(true);
  });

  it('fails when the port is in use', async () => {
    const first = harness();
    const running = runServe(first.options);
    const port = Number(ADDRESS.exec(await addressOf(first))?.[1]);
    const second = harness({}, { port });
    const result = await runServe(second.options);
    first.stop();
    await running;
    if (result.kind !== 'failed') throw new Error(`expected a failure, got ${JSON.stringify(result)}`);
    expect(result.error.message).toContain('the port is in use');
    expect(second.disposed()).toBe(true);
  });

  it('trains the quick model when the project has none', async () => {
    const test = harness({}, { trainQuick: true });
    const running = runServe(test.options);
    await addressOf(test);
    await expect.poll(() => test.calls.map((call) => call.operation)).toContain('startTraining');
    test.stop();
    await running;
    expect(test.calls.find((call) => call.operation === 'startTraining')?.request).toEqual({ preset: 'quick' });
  });

  it('does not train when the project has a model', async () => {
    const fake = createFakeServices();
    const status = await fake.handlers.status();
    const model = { id: 'm', checkpoint: '/srv/m.localist', sha256: '0', steps: 20, backend: 'cpu', layers: 2, heads: 4, contextLength: 64, blocks: [], createdAt: '' };
    const test = harness({ status: async () => ({ ...status, model }) }, { trainQuick: true });
    const running = runServe(test.options);
    await addressOf(test);
    await expect.poll(() => test.info.join('\n')).toContain('already has a model');
    test.stop();
    await running;
    expect(test.calls.map((call) => call.operation)).not.toContain('startTraining');
  });
});

const PROJECT_ROOT = resolve(import.meta.dirname, '../..');

describe('localist serve', () => {
  it('prints only the address on stdout and stops on Ctrl-C', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'localist-serve-cli-'));
    try {
      const child = spawn(process.execPath, ['bin/localist.mjs', 'serve', '--data-dir', dataDir], {
        cwd: PROJECT_ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const stdoutLines: string[] = [];
      const lines = createInterface({ input: child.stdout });
      const address = await new Promise<string>((resolveAddress, reject) => {
        lines.on('line', (line) => {
          stdoutLines.push(line);
          resolveAddress(line);
        });
        child.once('exit', (code) => reject(new Error(`serve exited with ${code} before printing an address: ${stderr}`)));
      });
      const match = ADDRESS.exec(address);
      expect(match).not.toBeNull();

      const response = await fetch(new URL('/api/status', address), { method: 'POST', headers: { Authorization: `Bearer ${match?.[2]}` } });
      const reply = (await response.json()) as { ok: boolean; value: { project: { demo: boolean } } };
      expect(reply.ok).toBe(true);
      expect(reply.value.project.demo).toBe(true);

      const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(stdoutLines).toEqual([address]);
      expect(stderr).toContain('stopping');
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('rejects --project with --demo', async () => {
    const child = spawn(process.execPath, ['bin/localist.mjs', 'serve', '--demo', '--project', '.'], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolveExit) => child.once('exit', (exitCode) => resolveExit(exitCode)));
    expect(code).toBe(2);
    expect(stderr).toContain('--project and --demo exclude each other');
  });
});
