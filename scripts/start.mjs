#!/usr/bin/env node
/**
 * `npm start`: builds the workbench when out/ is missing or older than the
 * sources, then starts the Electron app. Electron cannot start when its
 * binary was never downloaded, when there is no display, or when it exits
 * at once with an error. Then the script prints one line saying why and
 * serves the workbench in browser mode with `localist serve --demo`, which
 * prints the address to open.
 *
 * Options (after `npm start --`):
 *   --browser   skip Electron and start browser mode
 *   --no-build  start without checking the build
 * Every other argument goes to `localist serve`, such as --port 8080 or
 * --project FOLDER (which replaces --demo).
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Files that `electron-vite build` writes, and the folders whose files go into them. */
const BUILD_OUTPUTS = ['out/main/index.js', 'out/preload/index.cjs', 'out/renderer/index.html'];
const BUILD_INPUTS = ['main', 'preload', 'renderer', 'common', 'resources', 'electron.vite.config.ts', 'package.json'];

/** An Electron that exits with an error within this many milliseconds counts as unable to start. */
const ELECTRON_START_GRACE_MS = 10_000;

function newestModification(path) {
  const info = statSync(path);
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = 0;
  for (const entry of readdirSync(path)) {
    if (entry === 'node_modules') continue;
    newest = Math.max(newest, newestModification(join(path, entry)));
  }
  return newest;
}

/** Returns why the build must run, or null when out/ is complete and newer than every source. */
export function buildReason(root = PROJECT_ROOT) {
  const missing = BUILD_OUTPUTS.find((output) => !existsSync(join(root, output)));
  if (missing) return `${missing} is missing`;
  const oldestOutput = Math.min(...BUILD_OUTPUTS.map((output) => statSync(join(root, output)).mtimeMs));
  const changed = BUILD_INPUTS.find((input) => existsSync(join(root, input)) && newestModification(join(root, input)) > oldestOutput);
  return changed ? `${changed} changed since the last build` : null;
}

/** The build, Electron or the server, whichever runs now; SIGTERM is passed on to it. */
let currentChild = null;

/** Starts a child with the terminal attached; it receives Ctrl-C from the terminal like this process. */
function startChild(command, args) {
  currentChild = spawn(command, args, { cwd: PROJECT_ROOT, stdio: 'inherit' });
  return currentChild;
}

/** Runs a command with the terminal attached and resolves to its exit code. */
function run(command, args) {
  return new Promise((resolveRun) => {
    const child = startChild(command, args);
    child.once('error', (error) => {
      console.error(`start: could not run ${command}: ${error.message}`);
      resolveRun(1);
    });
    child.once('exit', (code, signal) => resolveRun(code ?? (signal ? 1 : 0)));
  });
}

async function build() {
  const electronVite = join(PROJECT_ROOT, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js');
  return run(process.execPath, [electronVite, 'build']);
}

/** Returns the Electron binary's path, or why Electron cannot start on this machine. */
export function findElectron(environment = process.env, platform = process.platform) {
  let binary;
  try {
    // The electron package exports the path of the binary that its install script downloaded, and throws without one.
    binary = createRequire(import.meta.url)('electron');
  } catch {
    return { missing: 'the Electron binary was never downloaded, because package.json\'s allowScripts skips the electron install script' };
  }
  if (typeof binary !== 'string' || !existsSync(binary)) return { missing: `the Electron binary ${binary} does not exist` };
  if (platform === 'linux' && !environment.DISPLAY && !environment.WAYLAND_DISPLAY) {
    return { missing: 'there is no display (neither DISPLAY nor WAYLAND_DISPLAY is set)' };
  }
  return { binary };
}

/**
 * Starts Electron on the project. Resolves to its exit code once it exits,
 * or to `{ failed }` when it could not start or exited with an error within
 * the grace period.
 */
function startElectron(binary) {
  return new Promise((resolveStart) => {
    const started = Date.now();
    const child = startChild(binary, ['.']);
    child.once('error', (error) => resolveStart({ failed: `Electron could not be started (${error.message})` }));
    child.once('exit', (code, signal) => {
      const early = Date.now() - started < ELECTRON_START_GRACE_MS;
      if (early && (code !== 0 || signal !== null)) {
        resolveStart({ failed: `Electron exited at start with ${signal ?? `code ${code}`}` });
      } else {
        resolveStart({ exitCode: code ?? 0 });
      }
    });
  });
}

/** Serves the workbench in browser mode and resolves to the server's exit code. */
function startBrowserMode(serveArgs) {
  const projectGiven = serveArgs.includes('--project') || serveArgs.some((arg) => arg.startsWith('--project='));
  const args = [join(PROJECT_ROOT, 'bin', 'localist.mjs'), 'serve', ...(projectGiven ? [] : ['--demo']), ...serveArgs];
  const child = startChild(process.execPath, args);
  return new Promise((resolveServe) => {
    child.once('error', (error) => {
      console.error(`start: could not start localist serve: ${error.message}`);
      resolveServe(1);
    });
    child.once('exit', (code, signal) => resolveServe(code ?? (signal === 'SIGINT' || signal === 'SIGTERM' ? 0 : 1)));
  });
}

async function main(argv) {
  // The terminal sends Ctrl-C to the whole process group, so the child
  // stops by itself and this process waits for it instead of exiting first.
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => currentChild?.kill('SIGTERM'));

  const browserOnly = argv.includes('--browser');
  const skipBuild = argv.includes('--no-build');
  const serveArgs = argv.filter((arg) => arg !== '--browser' && arg !== '--no-build');

  if (!skipBuild) {
    const reason = buildReason();
    if (reason !== null) {
      console.error(`start: building the workbench, because ${reason}`);
      const code = await build();
      if (code !== 0) {
        console.error('start: the build failed; fix the errors above, or run "npm run build" to see them again');
        return code;
      }
    }
  }

  if (!browserOnly) {
    const electron = findElectron();
    if ('binary' in electron) {
      const outcome = await startElectron(electron.binary);
      if ('exitCode' in outcome) return outcome.exitCode;
      console.error(`start: ${outcome.failed}; starting the workbench in browser mode instead`);
    } else {
      console.error(`start: Electron cannot start here: ${electron.missing}; starting the workbench in browser mode instead`);
    }
  }
  return startBrowserMode(serveArgs);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
