/**
 * `localist serve`: the workbench's services over HTTP and WebSocket on
 * 127.0.0.1, with the built renderer as the page, so that the workbench runs
 * in a browser without Electron.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ErrorCode } from '../../../common/api';
import { runServe } from '../../server/serve';
import { DATA_DIR_VARIABLE } from '../../services';
import { createWorkbenchServices } from '../../workbench-services';
import { HELP_OPTION, parseCommandArgs, parseInteger, stringValue, UsageError, type Command, type CommandSpec } from '../options';
import { EXIT_CANCELLED } from '../session';

/** Folder that `npm run build` writes the renderer to. */
const RENDERER_BUILD = fileURLToPath(new URL('../../../out/renderer/', import.meta.url));

const EXIT_CODES: { readonly [Code in ErrorCode]: number } = {
  'invalid-request': 2,
  'not-found': 2,
  forbidden: 1,
  cancelled: EXIT_CANCELLED,
  unavailable: 1,
  internal: 1,
};

const spec: CommandSpec = {
  name: 'serve',
  description: [
    'Serves the workbench on 127.0.0.1 for a browser: the services over HTTP and a WebSocket,',
    'and the page built by "npm run build". Each start makes a new random token that every',
    'request must carry; the one line on stdout is the address to open, with the token in its',
    '#token=... part. Other machines cannot connect. Ctrl-C stops the server, cancels training',
    '(which saves a checkpoint) and stops the engine.',
  ],
  positionals: [],
  options: {
    project: { type: 'string', value: 'FOLDER', description: 'open the project in this folder at start' },
    demo: { type: 'boolean', description: 'open the embedded demo project at start (the default)' },
    'data-dir': {
      type: 'string',
      value: 'DIR',
      description: 'folder of the recent-projects database and the demo project',
      defaultText: `$${DATA_DIR_VARIABLE}, else ~/.localist`,
    },
    port: { type: 'string', value: 'N', description: 'TCP port on 127.0.0.1; 0 picks a free port', defaultText: '0' },
    'train-quick': {
      type: 'boolean',
      description: 'train the quick demo model (a short smoke run) at start when the project has no model yet',
    },
    help: HELP_OPTION,
  },
};

/** Resolves on the first Ctrl-C or SIGTERM; a second Ctrl-C exits at once. */
function stopSignal(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) {
      process.stderr.write('\nsecond Ctrl-C: exiting now\n');
      process.exit(EXIT_CANCELLED);
    }
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandArgs(spec, argv);
  if (!parsed) return 0;
  const { values } = parsed;

  const projectText = stringValue(values, 'project');
  if (projectText !== undefined && values.demo) {
    throw new UsageError('--project and --demo exclude each other; give --project FOLDER, or --demo for the demo project');
  }
  const project = projectText === undefined ? null : resolve(projectText);
  if (project !== null && !existsSync(project)) {
    throw new UsageError(`--project "${projectText}" not found; give the folder of an existing workbench project`);
  }

  const portText = stringValue(values, 'port');
  const port = portText === undefined ? 0 : parseInteger('port', portText, 0, 8080);
  if (port > 65535) throw new UsageError(`--port ${port} is invalid; use a number from 0 to 65535, or 0 for a free port`);

  const dataDirText = stringValue(values, 'data-dir');
  const dataDir = dataDirText === undefined ? undefined : resolve(dataDirText);
  const staticRoot = existsSync(`${RENDERER_BUILD}index.html`) ? RENDERER_BUILD : null;

  const printInfo = (line: string) => process.stderr.write(`${line}\n`);
  const stop = stopSignal();
  try {
    const result = await runServe({
      project,
      port,
      trainQuick: Boolean(values['train-quick']),
      staticRoot,
      createServices: (events) => createWorkbenchServices({ dataDir, events, log: printInfo }),
      printAddress: (line) => process.stdout.write(`${line}\n`),
      printInfo,
      signal: stop.signal,
    });
    if (result.kind === 'failed') {
      process.stderr.write(`localist: ${result.error.message}\n`);
      return EXIT_CODES[result.error.code];
    }
    return 0;
  } finally {
    stop.dispose();
  }
}

export const serveCommand: Command = { spec, run };
