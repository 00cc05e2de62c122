/**
 * Parsers that turn a value received from another process or over HTTP into
 * the typed request of one operation. A parser throws an `ApiError` with code
 * `invalid-request` that names the operation, the field, the value received
 * and what a valid value looks like. Fields that the contract does not
 * declare are rejected too, so a request carries nothing the services ignore.
 *
 * This module imports no Node, DOM or Electron module, so that main, the
 * preload and the renderer can all load it.
 */
import type { ApiError, AttentionSelection, InspectRequest, OperationName, Operations } from './api';

/** Maximum length of a text for the inspector or a reference example, in UTF-16 code units. */
export const MAX_TEXT_LENGTH = 100_000;

/** Minimum and maximum number of tokens in one continuation of the inspector. */
export const MIN_CONTINUATION_TOKENS = 1;
export const MAX_CONTINUATION_TOKENS = 64;

/** Maximum lengths of a project name, a folder path and an identifier in a request, in UTF-16 code units. */
export const MAX_NAME_LENGTH = 200;
export const MAX_PATH_LENGTH = 4096;
export const MAX_ID_LENGTH = 200;

/** Training presets that `startTraining` accepts. */
export const TRAINING_PRESETS = ['demo', 'quick'] as const;

/** Turns a value received from outside into the typed request of one operation, or throws an `invalid-request` ApiError. */
export type RequestParser<Name extends OperationName> = (raw: unknown) => Operations[Name]['request'];

/** Maximum length of the excerpt of a received string that an error message repeats. */
const MAX_QUOTED_LENGTH = 60;

/** Describes a received value in a few words for an error message, without repeating long text. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') {
    if (value.length <= MAX_QUOTED_LENGTH) return JSON.stringify(value);
    return `a string of ${value.length} characters starting ${JSON.stringify(value.slice(0, MAX_QUOTED_LENGTH))}`;
  }
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `an array of ${value.length} items`;
  if (typeof value === 'object') return 'an object';
  return `a value of type ${typeof value}`;
}

/** Builds the `invalid-request` error of one field. */
function invalidField(operation: OperationName, field: string, expected: string, value: unknown): ApiError {
  return {
    code: 'invalid-request',
    message: `${operation}: ${field} must be ${expected}, but received ${describeValue(value)}`,
    details: { operation, field, expected, received: describeValue(value) },
  };
}

/**
 * Reads the fields of a request object. Each reader checks one field and
 * records it as seen; `done` then rejects every field that was not read.
 */
class FieldReader {
  private readonly seen = new Set<string>();

  constructor(
    private readonly operation: OperationName,
    private readonly record: Record<string, unknown>,
    private readonly prefix = '',
  ) {}

  /** Returns the raw value of a field and records it as read. */
  private take(field: string): unknown {
    this.seen.add(field);
    return Object.hasOwn(this.record, field) ? this.record[field] : undefined;
  }

  private fail(field: string, expected: string, value: unknown): never {
    throw invalidField(this.operation, `${this.prefix}${field}`, expected, value);
  }

  /** Reads a string of 1 to `maxLength` characters that is not only white space. */
  text(field: string, maxLength: number): string {
    const value = this.take(field);
    const expected = `a non-empty string of at most ${maxLength.toLocaleString('en-US')} characters`;
    if (typeof value !== 'string' || value.trim() === '' || value.length > maxLength) this.fail(field, expected, value);
    return value;
  }

  /** Reads an absolute folder path, in POSIX or Windows form. */
  absolutePath(field: string): string {
    const value = this.take(field);
    const expected = `a non-empty absolute folder path of at most ${MAX_PATH_LENGTH} characters, such as "/home/analyst/project"`;
    if (typeof value !== 'string' || value.length > MAX_PATH_LENGTH || !isAbsolutePath(value)) this.fail(field, expected, value);
    return value;
  }

  /** Reads the word "brown" for the embedded corpus, or an absolute path of a text file or folder. */
  corpus(field: string): string {
    const value = this.take(field);
    if (value === 'brown') return value;
    const expected = `"brown" for the embedded Brown corpus, or the absolute path of a text file or a folder of text files`;
    if (typeof value !== 'string' || value.length > MAX_PATH_LENGTH || !isAbsolutePath(value)) this.fail(field, expected, value);
    return value;
  }

  /** Reads a finite number in [min, max]. */
  numberInRange(field: string, min: number, max: number): number {
    const value = this.take(field);
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
      this.fail(field, `a number in [${min}, ${max}]`, value);
    }
    return value;
  }

  /** Reads a safe integer in [min, max]. Either bound may be infinite. */
  integer(field: string, min = -Infinity, max = Infinity): number {
    const value = this.take(field);
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
      let expected = 'an integer';
      if (Number.isFinite(min) && Number.isFinite(max)) expected = `an integer from ${min} to ${max}`;
      else if (Number.isFinite(min)) expected = `an integer >= ${min}`;
      this.fail(field, expected, value);
    }
    return value;
  }

  /** Reads a non-negative integer index, or "mean" for the mean over all indices. */
  indexOrMean(field: string): number | 'mean' {
    const value = this.take(field);
    if (value === 'mean') return value;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      this.fail(field, 'a non-negative integer or "mean"', value);
    }
    return value;
  }

  /** Reads one of a closed list of strings. */
  choice<T extends string>(field: string, choices: readonly T[]): T {
    const value = this.take(field);
    if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
      this.fail(field, `one of ${choices.map((choice) => JSON.stringify(choice)).join(', ')}`, value);
    }
    return value as T;
  }

  /** Reads a nested object with its own reader, whose error messages name the field as `outer.inner`. */
  object<T>(field: string, read: (reader: FieldReader) => T): T {
    const value = this.take(field);
    if (!isPlainRecord(value)) this.fail(field, 'an object', value);
    const reader = new FieldReader(this.operation, value, `${this.prefix}${field}.`);
    const result = read(reader);
    reader.done();
    return result;
  }

  /** Rejects the first field of the record that no reader asked for. */
  done(): void {
    for (const field of Object.keys(this.record)) {
      if (!this.seen.has(field)) {
        throw {
          code: 'invalid-request',
          message: `${this.operation}: unexpected field "${this.prefix}${field}"; remove it from the request`,
          details: { operation: this.operation, field: `${this.prefix}${field}` },
        } satisfies ApiError;
      }
    }
  }
}

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/**
 * Checks for an absolute path: "/..." on POSIX, "C:\..." or "C:/..." with a
 * drive letter, or "\\server\share..." on Windows. Paths with a NUL
 * character are rejected, because file systems reject them.
 */
export function isAbsolutePath(path: string): boolean {
  if (path.includes('\0')) return false;
  return path.startsWith('/') || /^[A-Za-z]:[\\/]/.test(path) || /^\\\\[^\\]+\\[^\\]+/.test(path);
}

/** Parser of operations whose request type is `void`: only an absent request is accepted. */
function noRequest(operation: OperationName): (raw: unknown) => void {
  return (raw) => {
    if (raw !== undefined) {
      throw {
        code: 'invalid-request',
        message: `${operation}: this operation takes no request, but received ${describeValue(raw)}; send it without a request body`,
        details: { operation, received: describeValue(raw) },
      } satisfies ApiError;
    }
  };
}

/** Parser of operations whose request is an object, read field by field. */
function objectRequest<Name extends OperationName>(
  operation: Name,
  read: (reader: FieldReader) => Operations[Name]['request'],
): RequestParser<Name> {
  return (raw) => {
    if (!isPlainRecord(raw)) {
      throw {
        code: 'invalid-request',
        message: `${operation}: the request must be an object, but received ${describeValue(raw)}`,
        details: { operation, received: describeValue(raw) },
      } satisfies ApiError;
    }
    const reader = new FieldReader(operation, raw);
    const request = read(reader);
    reader.done();
    return request;
  };
}

function readSelection(reader: FieldReader): AttentionSelection {
  return { layer: reader.indexOrMean('layer'), head: reader.indexOrMean('head') };
}

function readInspectRequest(reader: FieldReader): InspectRequest {
  return {
    text: reader.text('text', MAX_TEXT_LENGTH),
    lambda: reader.numberInRange('lambda', 0, 1),
    selection: reader.object('selection', readSelection),
    seed: reader.integer('seed'),
    continuationTokens: reader.integer('continuationTokens', MIN_CONTINUATION_TOKENS, MAX_CONTINUATION_TOKENS),
  };
}

/** The request parser of every operation of the contract. */
export const REQUEST_PARSERS: { readonly [Name in OperationName]: RequestParser<Name> } = {
  appVersion: noRequest('appVersion'),
  status: noRequest('status'),
  recentProjects: noRequest('recentProjects'),
  openDemoProject: noRequest('openDemoProject'),
  createProject: objectRequest('createProject', (reader) => ({
    folder: reader.absolutePath('folder'),
    name: reader.text('name', MAX_NAME_LENGTH),
    corpus: reader.corpus('corpus'),
  })),
  openProject: objectRequest('openProject', (reader) => ({ folder: reader.absolutePath('folder') })),
  startTraining: objectRequest('startTraining', (reader) => ({ preset: reader.choice('preset', TRAINING_PRESETS) })),
  cancelJob: objectRequest('cancelJob', (reader) => ({ jobId: reader.text('jobId', MAX_ID_LENGTH) })),
  inspect: objectRequest('inspect', readInspectRequest),
  referenceExamples: noRequest('referenceExamples'),
  pinReferenceExample: objectRequest('pinReferenceExample', (reader) => ({ text: reader.text('text', MAX_TEXT_LENGTH) })),
  unpinReferenceExample: objectRequest('unpinReferenceExample', (reader) => ({ id: reader.text('id', MAX_ID_LENGTH) })),
};

/** Parses the request of one operation; throws an `invalid-request` ApiError. */
export function parseRequest<Name extends OperationName>(operation: Name, raw: unknown): Operations[Name]['request'] {
  const parser: RequestParser<Name> = REQUEST_PARSERS[operation];
  return parser(raw);
}
