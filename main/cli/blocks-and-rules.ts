/**
 * Blocks and rules files of a new training run: reading them, checking the
 * rules against the model shape before a worker starts, and naming the file
 * in validation errors, which the engine reports without a path.
 */
import { resolve } from 'node:path';
import { DEMO_BLOCKS_PATH, DEMO_RULES_PATH, readJsonFile } from '../engine/data';
import { ValidationError, type ValidationIssue } from '../engine/errors';
import { EngineError } from '../engine/jobs';
import { rulesFromJSON, type ModelShape } from '../engine/rules';
import { UsageError } from './options';
import { displayPath } from './paths';

export type FileKind = 'blocks' | 'rules';

/** Origin of a run's blocks or rules file, for messages. */
export interface FileSource {
  kind: FileKind;
  /** Path as given on the command line, or the demo file's absolute path. */
  path: string;
  /** True when the demo file was used because the option was not given. */
  implicit: boolean;
}

const DEMO_PATHS: Record<FileKind, string> = { blocks: DEMO_BLOCKS_PATH, rules: DEMO_RULES_PATH };

/**
 * Reads the blocks or rules file of `--blocks` or `--rules`. "none", and an
 * absent option on a corpus other than Brown, give `empty` and no source.
 * An absent option on Brown gives the demo file.
 */
export async function readBlocksOrRulesFile<T>(
  kind: FileKind,
  optionValue: string | undefined,
  isBrown: boolean,
  empty: T,
): Promise<{ json: T; source: FileSource | null }> {
  if (optionValue === 'none') return { json: empty, source: null };
  if (optionValue === undefined && !isBrown) return { json: empty, source: null };
  const source: FileSource =
    optionValue === undefined ? { kind, path: DEMO_PATHS[kind], implicit: true } : { kind, path: optionValue, implicit: false };

  let json: unknown;
  try {
    json = await readJsonFile(resolve(source.path), kind);
  } catch (error) {
    throw new UsageError(`--${kind}: ${(error as Error).message}`);
  }
  const list = (json as Record<string, unknown> | null)?.[kind];
  if (json === null || typeof json !== 'object' || !Array.isArray(list)) {
    throw new UsageError(
      `${kind} file "${source.path}" has no "${kind}" list; write {"version": 1, "${kind}": [...]} or pass --${kind} none`,
    );
  }
  return { json: json as T, source };
}

/**
 * Checks a rules file against its schema and the model shape before any
 * worker starts, so that a demo rule on a layer the model lacks fails at
 * once. Raises a `UsageError` that names the file and lists every problem.
 * Block and word names need the corpus, so the engine checks them later.
 */
export function checkRulesFits(json: unknown, source: FileSource, shape: ModelShape): void {
  const issues: ValidationIssue[] = [];
  try {
    rulesFromJSON(json);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    issues.push(...error.details);
  }
  issues.push(...shapeIssues(json, shape));
  if (issues.length > 0) throw new UsageError(describeInvalidFile(source, issues, shape));
}

/** Lists layer and head indices that the model does not have, skipping values the schema rejects. */
function shapeIssues(json: unknown, shape: ModelShape): ValidationIssue[] {
  const rules = (json as { rules?: unknown } | null)?.rules;
  if (!Array.isArray(rules)) return [];
  const issues: ValidationIssue[] = [];
  rules.forEach((rule: unknown, index) => {
    if (rule === null || typeof rule !== 'object') return;
    const id = (rule as { id?: unknown }).id;
    const label = typeof id === 'string' ? `rule "${id}"` : `rule ${index}`;
    for (const [field, noun, count] of [['layers', 'layer', shape.layers], ['heads', 'head', shape.heads]] as const) {
      const selection = (rule as Record<string, unknown>)[field];
      if (!Array.isArray(selection)) continue;
      selection.forEach((value: unknown, position) => {
        if (!Number.isInteger(value) || (value as number) < count) return;
        issues.push({
          path: `/rules/${index}/${field}/${position}`,
          message: `${label} ${noun} ${value as number} is out of range; the model has ${countOf(count, noun)}, numbered 0 to ${count - 1}`,
        });
      });
    }
  });
  return issues;
}

function countOf(count: number, noun: string): string {
  return `${count} ${count === 1 ? noun : `${noun}s`}`;
}

/**
 * Describes an invalid blocks or rules file with every problem, one per
 * line. A demo file used by default gets the option that replaces it.
 */
export function describeInvalidFile(source: FileSource, issues: ValidationIssue[], shape?: ModelShape): string {
  // ValidationError sorts the problems and lays out one line each.
  const validation = new ValidationError(source.kind === 'rules' ? 'invalid-rules' : 'invalid-blocks', `${source.kind} file "${source.path}"`, issues);
  if (!source.implicit) return validation.message;

  const [, ...lines] = validation.message.split('\n');
  const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
  const fits = shape ? `a model of ${countOf(shape.layers, 'layer')} and ${countOf(shape.heads, 'head')}` : 'this corpus and model';
  return [
    `the demo ${source.kind} file ${displayPath(source.path)}, used because no --${source.kind} was given, does not fit this run (${count}):`,
    ...lines,
    `Pass --${source.kind} none to train without ${source.kind}, or --${source.kind} FILE with ${source.kind} written for ${fits}.`,
  ].join('\n');
}

/**
 * Returns a `UsageError` naming the file when `error` is the engine's
 * "blocks file is invalid" or "rules file is invalid" error for one of
 * `sources`; returns any other error unchanged.
 */
export function nameFileInError(error: unknown, sources: readonly FileSource[]): unknown {
  if (!(error instanceof EngineError) || error.code !== 'invalid-input' || !Array.isArray(error.details)) return error;
  const source = sources.find((candidate) => error.message.startsWith(`${candidate.kind} file is invalid`));
  if (!source) return error;
  return new UsageError(describeInvalidFile(source, error.details as ValidationIssue[]));
}
