import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';

// `npm start` runs scripts/start.mjs. On this machine the Electron binary
// was never downloaded, so the script must fall back to browser mode.
const PROJECT_ROOT = resolve(import.meta.dirname, '..');
const ADDRESS = /^http:\/\/127\.0\.0\.1:\d+\/#token=[0-9a-f]{64}$/;

async function startAndStop(args: string[]): Promise<{ address: string; stderr: string; exitCode: number | null }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'localist-start-'));
  try {
    const child = spawn(process.execPath, ['scripts/start.mjs', '--no-build', ...args, '--data-dir', dataDir], {
      cwd: PROJECT_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      // No display, so that a machine with an Electron binary also takes the fallback.
      env: { ...process.env, DISPLAY: '', WAYLAND_DISPLAY: '' },
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const address = await new Promise<string>((resolveAddress, reject) => {
      createInterface({ input: child.stdout }).on('line', (line) => resolveAddress(line));
      child.once('exit', (code) => reject(new Error(`start exited with ${code} before printing an address: ${stderr}`)));
    });
    const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
    // SIGTERM, as npm passes it on; Ctrl-C in a terminal reaches the server directly.
    child.kill('SIGTERM');
    return { address, stderr, exitCode: await exited };
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

describe('npm start', () => {
  it('falls back to browser mode and says why', async () => {
    const { address, stderr, exitCode } = await startAndStop([]);
    expect(address).toMatch(ADDRESS);
    const reasons = stderr.split('\n').filter((line) => line.startsWith('start: Electron cannot start here: '));
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toContain('starting the workbench in browser mode instead');
    expect(stderr).toContain('project: Brown corpus demo');
    expect(exitCode).toBe(0);
  });

  it('skips Electron with --browser', async () => {
    const { address, stderr, exitCode } = await startAndStop(['--browser']);
    expect(address).toMatch(ADDRESS);
    expect(stderr).not.toContain('Electron');
    expect(exitCode).toBe(0);
  });
});
