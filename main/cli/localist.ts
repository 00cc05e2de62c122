/**
 * The `localist` command line: dispatches to one module per command, and
 * turns errors into a message on stderr and an exit code.
 */
import { APP_VERSION } from '../engine/host';
import { toEngineError } from '../engine/engine-errors';
import { EngineError, type EngineErrorCode } from '../engine/jobs';
import { UsageError, type Command } from './options';
import { EXIT_CANCELLED } from './session';

export const EXIT_SUCCESS = 0;
export const EXIT_FAILURE = 1;
export const EXIT_INVALID_INPUT = 2;

interface CommandEntry {
  summary: string;
  /** Loaded on use, so that help and usage errors do not load TensorFlow.js. */
  load: () => Promise<Command>;
}

const COMMANDS: Record<string, CommandEntry> = {
  train: {
    summary: 'train a model on the Brown corpus or your own text, or resume a run',
    load: async () => (await import('./commands/train')).trainCommand,
  },
  eval: {
    summary: 'evaluate a checkpoint: perplexity, attention metrics, rule fidelity, bigram baseline',
    load: async () => (await import('./commands/eval')).evalCommand,
  },
  sweep: {
    summary: 'report metrics across the locality dial lambda (protocol A or B)',
    load: async () => (await import('./commands/sweep')).sweepCommand,
  },
  inspect: {
    summary: 'show predictions, active rules and block masses of a checkpoint on a text',
    load: async () => (await import('./commands/inspect')).inspectCommand,
  },
  guarantees: {
    summary: 'check each rule against the dial guarantees: lambda*, fidelity, entropy bound, verdict',
    load: async () => (await import('./commands/guarantees')).guaranteesCommand,
  },
  recruit: {
    summary: 'recruit semantic blocks, or specialist models per domain, that pay for themselves in nats',
    load: async () => (await import('./commands/recruit')).recruitCommand,
  },
  route: {
    summary: 'send documents to the parent or a specialist of a model set, by label or by prefix NLL',
    load: async () => (await import('./commands/route')).routeCommand,
  },
  serve: {
    summary: 'serve the workbench on 127.0.0.1 for a browser, with a token printed in its address',
    load: async () => (await import('./commands/serve')).serveCommand,
  },
  demo: {
    summary: 'train on Brown with the demo blocks and rules, then evaluate and sweep',
    load: async () => (await import('./commands/demo')).demoCommand,
  },
};

export function topLevelHelp(): string {
  const names = Object.keys(COMMANDS);
  const width = Math.max(...names.map((name) => name.length));
  return [
    'Usage: localist <command> [options]',
    '',
    'Trains and audits localist transformer language models, whose attention is steered',
    'by named blocks of words and rules through the locality dial lambda in [0, 1].',
    'Log-quantities are computed in nats; tables show bits where their header says so.',
    '',
    'Commands:',
    ...names.map((name) => `  ${name.padEnd(width)}  ${COMMANDS[name].summary}`),
    '',
    'Run "localist <command> --help" for the options of a command, with units and defaults.',
    '',
    'Options:',
    '  -h, --help     print this help and exit',
    '  -v, --version  print the version and exit',
    '',
    'Exit codes:',
    '  0    success',
    '  1    failure: the engine failed, or an unexpected error (set LOCALIST_DEBUG=1 for the stack)',
    '  2    invalid input: a bad option or value, a missing file, an invalid blocks or rules file,',
    '       or a checkpoint that is damaged or not a checkpoint',
    '  130  cancelled with Ctrl-C (training saves a checkpoint first)',
    '',
    'Environment:',
    '  LOCALIST_DEBUG=1  print stack traces of failures',
    '  LOCALIST_BACKEND  first TensorFlow.js backend to try: node-gpu, node, wasm or cpu',
    '',
  ].join('\n');
}

const EXIT_CODES: Record<EngineErrorCode, number> = {
  'invalid-input': EXIT_INVALID_INPUT,
  'not-found': EXIT_INVALID_INPUT,
  'invalid-checkpoint': EXIT_INVALID_INPUT,
  cancelled: EXIT_CANCELLED,
  failed: EXIT_FAILURE,
};

/** Prints an error on stderr and returns its exit code. */
function reportError(error: unknown): number {
  if (error instanceof UsageError) {
    process.stderr.write(`localist: ${error.message}\n`);
    return EXIT_INVALID_INPUT;
  }
  // Errors raised in this process (reading a checkpoint or a blocks file)
  // are sorted by the same rules as errors from the engine's workers.
  const data = error instanceof EngineError ? { code: error.code, message: error.message, details: error.details } : toEngineError(error);
  const exitCode = EXIT_CODES[data.code];
  let prefix = '';
  if (data.code === 'failed') prefix = 'failed: ';
  if (data.code === 'cancelled') prefix = 'cancelled: ';
  process.stderr.write(`localist: ${prefix}${data.message}\n`);
  if (exitCode === EXIT_FAILURE) {
    if (process.env.LOCALIST_DEBUG === '1') {
      // A worker's failure carries the worker's stack; the local stack would only show the host.
      const workerStack = (data.details as { stack?: unknown } | undefined)?.stack;
      let stack = error instanceof Error ? error.stack : undefined;
      if (typeof workerStack === 'string') stack = workerStack;
      if (stack) process.stderr.write(`${stack}\n`);
    } else {
      process.stderr.write('Set LOCALIST_DEBUG=1 to print the stack trace.\n');
    }
  }
  return exitCode;
}

/** Runs the command line `argv` (without node and the script) and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  try {
    if (first === undefined) {
      process.stderr.write(topLevelHelp());
      return EXIT_INVALID_INPUT;
    }
    if (first === '--help' || first === '-h') {
      process.stdout.write(topLevelHelp());
      return EXIT_SUCCESS;
    }
    if (first === '--version' || first === '-v') {
      process.stdout.write(`${APP_VERSION}\n`);
      return EXIT_SUCCESS;
    }
    if (first === 'help') {
      if (rest.length === 0) {
        process.stdout.write(topLevelHelp());
        return EXIT_SUCCESS;
      }
      return await runCommand(rest[0], ['--help']);
    }
    if (first.startsWith('-')) {
      throw new UsageError(`unknown option "${first}"; put the command first, as in "localist train --steps 100", or run "localist --help"`);
    }
    return await runCommand(first, rest);
  } catch (error) {
    return reportError(error);
  }
}

async function runCommand(name: string, argv: string[]): Promise<number> {
  const entry = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!entry) {
    throw new UsageError(`unknown command "${name}"; use one of ${Object.keys(COMMANDS).join(', ')}, or run "localist --help"`);
  }
  const command = await entry.load();
  return command.run(argv);
}
