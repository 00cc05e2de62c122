/**
 * Errors that the engine raises for invalid user input. They carry a code
 * from a closed list and plain-data details, so they can cross a process
 * boundary as `{ code, message, details }`.
 */

import type { ErrorObject } from 'ajv';

export type ValidationErrorCode = 'invalid-blocks' | 'invalid-rules';

/** One problem found in a validated document. */
export interface ValidationIssue {
  /** JSON pointer to the offending value, such as `/rules/2/strength`. The empty pointer `""` is the whole document. */
  path: string;
  /** Sentence that names the offending value and, where possible, the fix. */
  message: string;
}

/** Plain-data form of a `ValidationError`. */
export interface ValidationErrorData {
  code: ValidationErrorCode;
  message: string;
  details: ValidationIssue[];
}

/** Raised with every problem found in a blocks or rules document, not just the first. */
export class ValidationError extends Error {
  readonly code: ValidationErrorCode;
  /** Problems in document order: sorted by path, with numeric list indices. */
  readonly details: ValidationIssue[];

  /**
   * @param summary what was validated, such as `blocks file`. The message
   *   adds the number of problems and one line per problem.
   */
  constructor(code: ValidationErrorCode, summary: string, details: ValidationIssue[]) {
    const sorted = [...details].sort((a, b) => a.path.localeCompare(b.path, 'en', { numeric: true }));
    const count = sorted.length === 1 ? '1 problem' : `${sorted.length} problems`;
    const lines = sorted.map((issue) => `  ${issue.path || '/'}: ${issue.message}`);
    super([`${summary} is invalid (${count}):`, ...lines].join('\n'));
    this.name = 'ValidationError';
    this.code = code;
    this.details = sorted;
  }

  toData(): ValidationErrorData {
    return { code: this.code, message: this.message, details: this.details.map((issue) => ({ ...issue })) };
  }
}

/**
 * Converts Ajv errors (created with `allErrors` and `verbose`) into issues
 * that name the offending value.
 *
 * A failed `anyOf` or `oneOf` is reported once, and the errors of its
 * branches are dropped, because they only say why each alternative failed.
 * Where the failing schema has a `description`, the message reads
 * "must be <description>", so schema descriptions are noun phrases.
 *
 * @param subjectOf names the value at a JSON pointer, such as
 *   `rule "pay-to-money" strength`, which starts each message.
 */
export function schemaIssues(
  errors: readonly ErrorObject[],
  data: unknown,
  subjectOf: (path: string) => string,
): ValidationIssue[] {
  const unions = errors.filter((error) => error.keyword === 'anyOf' || error.keyword === 'oneOf');
  const kept = errors.filter(
    (error) => !unions.some((union) => union !== error && error.schemaPath.startsWith(`${union.schemaPath}/`)),
  );

  const issues: ValidationIssue[] = [];
  for (const error of kept) {
    if (error.keyword === 'required') {
      const path = `${error.instancePath}/${escapePointer(String(error.params.missingProperty))}`;
      issues.push({ path, message: `${subjectOf(path)} is missing; add it` });
      continue;
    }
    if (error.keyword === 'additionalProperties') {
      const property = String(error.params.additionalProperty);
      const path = `${error.instancePath}/${escapePointer(property)}`;
      issues.push({ path, message: `${subjectOf(path)} is not a known property; remove it or check its spelling` });
      continue;
    }
    const received = describeValue(valueAt(data, error.instancePath));
    const description = error.parentSchema?.description;
    const expectation = typeof description === 'string' ? `must be ${description}` : (error.message ?? 'is invalid');
    issues.push({ path: error.instancePath, message: `${subjectOf(error.instancePath)} ${expectation}, got ${received}` });
  }
  return issues;
}

/** Returns the value at a JSON pointer, or undefined when the path does not exist. */
export function valueAt(data: unknown, pointer: string): unknown {
  if (pointer === '') return data;
  let current: unknown = data;
  for (const part of pointer.slice(1).split('/')) {
    if (current === null || typeof current !== 'object') return undefined;
    const key = part.replace(/~1/g, '/').replace(/~0/g, '~');
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Writes a value for a message, shortened to about 60 characters. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
