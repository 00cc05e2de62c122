/**
 * Starts `localist serve --demo --train-quick` on a free port with a fresh
 * data folder, waits for the address it prints, and hands it to the tests
 * in LOCALIST_E2E_URL. The returned function stops the server and deletes
 * the folder. With LOCALIST_E2E_URL already set, the tests use that server
 * and nothing is started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { ARTIFACTS_DIR, SERVER_URL_VARIABLE } from './paths';

const PROJECT_ROOT = resolve(import.meta.dirname, '..');
const BUILT_PAGE = join(PROJECT_ROOT, 'out/renderer/index.html');
const RENDERER_SOURCES = join(PROJECT_ROOT, 'renderer');
/** Seconds to wait for the server's address line, which comes once it listens. */
const START_TIMEOUT_SECONDS = 120;
/** Seconds the server gets to stop after SIGTERM (it cancels training and saves a checkpoint) before SIGKILL. */
const STOP_TIMEOUT_SECONDS = 15;
const ADDRESS_LINE = /^http:\/\/127\.0\.0\.1:\d+\/#token=\S+$/;

function newestModification(folder: string): number {
  let newest = 0;
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    const modified = entry.isDirectory() ? newestModification(path) : statSync(path).mtimeMs;
    newest = Math.max(newest, modified);
  }
  return newest;
}

/** Throws unless out/renderer contains a build at least as new as the renderer's sources. */
function checkRendererBuild(): void {
  if (!existsSync(BUILT_PAGE)) {
    throw new Error(`${BUILT_PAGE} not found; run "npm run build" before the end-to-end tests`);
  }
  if (newestModification(RENDERER_SOURCES) > statSync(BUILT_PAGE).mtimeMs) {
    throw new Error('out/renderer is older than the files in renderer/; run "npm run build" before the end-to-end tests');
  }
}

function waitForAddress(server: ChildProcess, logPath: string): Promise<string> {
  return new Promise((resolveAddress, rejectAddress) => {
    const timer = setTimeout(() => {
      rejectAddress(new Error(`localist serve printed no address within ${START_TIMEOUT_SECONDS} s; see ${logPath}`));
    }, START_TIMEOUT_SECONDS * 1000);
    const lines = createInterface({ input: server.stdout! });
    lines.on('line', (line) => {
      if (!ADDRESS_LINE.test(line.trim())) return;
      clearTimeout(timer);
      resolveAddress(line.trim());
    });
    server.once('exit', (code, signal) => {
      clearTimeout(timer);
      rejectAddress(new Error(`localist serve exited (code ${code}, signal ${signal}) before printing its address; see ${logPath}`));
    });
  });
}

function stopServer(server: ChildProcess): Promise<void> {
  if (server.exitCode !== null || server.signalCode !== null) return Promise.resolve();
  return new Promise((resolveStop) => {
    const timer = setTimeout(() => server.kill('SIGKILL'), STOP_TIMEOUT_SECONDS * 1000);
    server.once('exit', () => {
      clearTimeout(timer);
      resolveStop();
    });
    server.kill('SIGTERM');
  });
}

export default async function globalSetup(): Promise<(() => Promise<void>) | undefined> {
  if (process.env[SERVER_URL_VARIABLE]) return undefined;
  checkRendererBuild();

  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const dataDir = mkdtempSync(join(tmpdir(), 'localist-e2e-'));
  const logPath = join(ARTIFACTS_DIR, 'server.log');
  const log = createWriteStream(logPath);
  const server = spawn(
    process.execPath,
    ['bin/localist.mjs', 'serve', '--demo', '--train-quick', '--data-dir', dataDir, '--port', '0'],
    { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  server.stderr!.pipe(log);

  try {
    process.env[SERVER_URL_VARIABLE] = await waitForAddress(server, logPath);
  } catch (error) {
    await stopServer(server);
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }

  return async () => {
    await stopServer(server);
    log.end();
    rmSync(dataDir, { recursive: true, force: true });
  };
}
