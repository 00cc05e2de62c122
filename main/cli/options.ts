/**
 * Command-line parsing shared by the commands: one declaration per option
 * drives both `node:util` parseArgs (strict) and the help text, and the value
 * parsers reject bad input with a `UsageError` that names the value and the fix.
 */
import { parseArgs } from 'node:util';
import { wrapWords } from './format';

/** Width of help text in characters. */
const HELP_WIDTH = 100;

/** Invalid command-line input; the CLI prints its message and exits with code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** Placeholder of the value in help, such as N, X or PATH. */
  value?: string;
  /** Help text: the setting the option controls, with its unit. */
  description: string;
  /** Default as shown in help; omitted when the option has none. */
  defaultText?: string;
}

export interface PositionalSpec {
  name: string;
  description: string;
  /** May be left out, as when an option can give the same value; usage shows it in brackets. */
  optional?: boolean;
}

export interface CommandSpec {
  name: string;
  /** Lines under the usage line that explain the command. */
  description: string[];
  positionals: PositionalSpec[];
  options: Record<string, OptionSpec>;
}

export interface Command {
  spec: CommandSpec;
  /** Runs the command on the arguments after its name and returns the exit code. */
  run(argv: string[]): Promise<number>;
}

export type OptionValues = Record<string, string | boolean | undefined>;

export const HELP_OPTION: OptionSpec = { type: 'boolean', short: 'h', description: 'print this help and exit' };
export const JSON_OPTION: OptionSpec = {
  type: 'boolean',
  description: 'print the result as JSON on stdout; progress and messages go to stderr',
};

/** Renders the help text of a command: usage, positionals, options with units and defaults. */
export function commandHelp(spec: CommandSpec): string {
  const positionalNames = spec.positionals.map((positional) => (positional.optional ? `[${positional.name}]` : positional.name)).join(' ');
  const lines = [`Usage: localist ${spec.name}${positionalNames ? ` ${positionalNames}` : ''} [options]`, ''];
  lines.push(...spec.description.map((line) => (line ? line : '')), '');
  if (spec.positionals.length > 0) {
    lines.push('Arguments:');
    const width = Math.max(...spec.positionals.map((positional) => positional.name.length));
    for (const positional of spec.positionals) lines.push(`  ${positional.name.padEnd(width)}  ${positional.description}`);
    lines.push('');
  }
  lines.push('Options:');
  const flags = Object.entries(spec.options).map(([name, option]) => {
    const short = option.short ? `-${option.short}, ` : '';
    return `${short}--${name}${option.value ? ` ${option.value}` : ''}`;
  });
  const width = Math.max(...flags.map((flag) => flag.length));
  const textWidth = Math.max(40, HELP_WIDTH - width - 4);
  Object.values(spec.options).forEach((option, index) => {
    const defaultText = option.defaultText !== undefined ? ` (default: ${option.defaultText})` : '';
    const [first, ...more] = wrapWords(`${option.description}${defaultText}`, textWidth);
    lines.push(`  ${flags[index].padEnd(width)}  ${first}`);
    for (const line of more) lines.push(`  ${' '.repeat(width)}  ${line}`);
  });
  return `${lines.join('\n')}\n`;
}

/**
 * Parses a command's arguments strictly. Unknown options, a missing value
 * and extra or missing positionals raise a `UsageError`. Returns null when
 * `--help` was given, after printing the help.
 */
export function parseCommandArgs(spec: CommandSpec, argv: string[]): { values: OptionValues; positionals: string[] } | null {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const [name, option] of Object.entries(spec.options)) {
    options[name] = option.short ? { type: option.type, short: option.short } : { type: option.type };
  }
  let parsed: { values: OptionValues; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true }) as typeof parsed;
  } catch (error) {
    throw toUsageError(spec, error);
  }
  if (parsed.values.help) {
    process.stdout.write(commandHelp(spec));
    return null;
  }
  const expected = spec.positionals.map((positional) => positional.name);
  if (parsed.positionals.length > expected.length) {
    const extra = parsed.positionals[expected.length];
    throw new UsageError(
      `unexpected argument "${extra}" for "localist ${spec.name}", which takes ${expected.length === 0 ? 'no arguments' : expected.join(' ')}; quote text that contains spaces`,
    );
  }
  const required = spec.positionals.filter((positional) => !positional.optional).length;
  if (parsed.positionals.length < required) {
    const missing = expected[parsed.positionals.length];
    throw new UsageError(`missing ${missing} for "localist ${spec.name}"; run "localist ${spec.name} --help" for usage`);
  }
  return parsed;
}

function toUsageError(spec: CommandSpec, error: unknown): UsageError {
  const code = (error as { code?: string }).code;
  const message = error instanceof Error ? error.message : String(error);
  // Node's messages quote the option, as in "Unknown option '--foo'".
  const option = /'(-[^' ]*)/.exec(message)?.[1] ?? '';
  const help = `run "localist ${spec.name} --help" to list the options`;
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    return new UsageError(`unknown option "${option}" for "localist ${spec.name}"; ${help}`);
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const name = option.replace(/^-+/, '');
    const known = spec.options[name] ?? Object.values(spec.options).find((candidate) => candidate.short === name);
    if (known?.type === 'boolean') return new UsageError(`option "${option}" takes no value; remove "=..." after it`);
    const placeholder = known?.value ?? 'VALUE';
    if (message.includes('ambiguous')) {
      return new UsageError(`option "${option}" needs a value (${placeholder}); write ${option}=${placeholder} when the value starts with "-"`);
    }
    return new UsageError(`option "${option}" needs a value (${placeholder}); ${help}`);
  }
  return new UsageError(`${message.split('\n')[0]}; ${help}`);
}

const INTEGER = /^\+?\d+$/;
const REAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Parses a whole number of at least `min`, as for `--steps 1000`. */
export function parseInteger(option: string, text: string, min: number, example: number): number {
  const value = INTEGER.test(text.trim()) ? Number(text.trim()) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min) {
    throw new UsageError(`--${option} "${text}" is invalid; use a whole number >= ${min}, such as --${option} ${example}`);
  }
  return value;
}

/** Parses a finite number in [min, max] (exclusive of `min` when `minExclusive`), as for `--kappa 4`. */
export function parseReal(
  option: string,
  text: string,
  range: { min: number; max?: number; minExclusive?: boolean; example: string },
): number {
  const value = REAL.test(text.trim()) ? Number(text.trim()) : Number.NaN;
  const max = range.max ?? Infinity;
  const aboveMin = range.minExclusive ? value > range.min : value >= range.min;
  if (!Number.isFinite(value) || !aboveMin || value > max) {
    const bound = range.minExclusive ? `> ${range.min}` : `>= ${range.min}`;
    const expectation = Number.isFinite(max) ? `a number in [${range.min}, ${max}]` : `a number ${bound}`;
    throw new UsageError(`--${option} "${text}" is invalid; use ${expectation}, such as --${option} ${range.example}`);
  }
  return value;
}

/** Parses a comma-separated list of lambdas in [0, 1], as for `--lambdas 0,0.5,1`. */
export function parseLambdaList(option: string, text: string): number[] {
  const parts = text.split(',').map((part) => part.trim());
  if (parts.some((part) => part === '')) {
    throw new UsageError(`--${option} "${text}" has an empty entry; write numbers in [0, 1] separated by commas, such as --${option} 0,0.5,1`);
  }
  return parts.map((part) => {
    const value = REAL.test(part) ? Number(part) : Number.NaN;
    if (!(value >= 0 && value <= 1)) {
      throw new UsageError(
        `--${option} value "${part}" is invalid; lambda must be a number in [0, 1], such as --${option} 0,0.5,1`,
      );
    }
    return value;
  });
}

/** Parses one of a closed list of words, case-insensitively; returns the canonical spelling. */
export function parseChoice<T extends string>(option: string, text: string, choices: readonly T[]): T {
  const match = choices.find((choice) => choice.toLowerCase() === text.trim().toLowerCase());
  if (match === undefined) {
    throw new UsageError(`--${option} "${text}" is invalid; use one of ${choices.join(', ')}`);
  }
  return match;
}

/** Returns a string option's value, or undefined when it was not given. */
export function stringValue(values: OptionValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}
