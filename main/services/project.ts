/**
 * An open project: one connection to its `project.sqlite`, with the
 * project's blocks and rules versions, runs, metrics, checkpoints and
 * reference examples. `ProjectStore` creates and opens these.
 */
import { randomUUID } from 'node:crypto';
import { isAbsolute, join, relative } from 'node:path';
import type { ProjectSummary, ReferenceExample } from '../../common/api';
import { ValidationError } from '../engine/errors';
import { rulesFromJSON } from '../engine/rules';
import type { Connection } from './database';
import { ServiceError } from './errors';

/** File name of a project's database inside its folder. */
export const PROJECT_DATABASE_FILE = 'project.sqlite';

/** Folder inside a project folder that training writes checkpoints to. */
export const CHECKPOINTS_FOLDER = 'checkpoints';

/** Maximum length of a reference example, in characters (Unicode code points). */
export const REFERENCE_EXAMPLE_MAX_CHARACTERS = 10_000;

export type FileKind = 'blocks' | 'rules';

const FILE_TABLES: { readonly [Kind in FileKind]: string } = { blocks: 'blocks', rules: 'rules' };

/** Returns the table of a file kind; the check keeps any other string out of the SQL text. */
function tableOf(kind: FileKind): string {
  if (!Object.hasOwn(FILE_TABLES, kind)) throw new ServiceError('invalid-request', `file kind "${String(kind)}" is unknown; use "blocks" or "rules"`, {});
  return FILE_TABLES[kind];
}

/** One saved version of the blocks file or the rules file. */
export interface SavedVersion {
  version: number;
  json: unknown;
  /** ISO 8601 time of the save. */
  savedAt: string;
}

export type RunState = 'running' | 'finished' | 'failed' | 'cancelled';

export interface RunRecord {
  id: string;
  config: unknown;
  state: RunState;
  startedAt: string;
  finishedAt: string | null;
  backend: string | null;
  /** Message of the failure, for a failed run. */
  error: string | null;
}

/** One training metric at one step; losses are in nats. */
export interface MetricRecord {
  step: number;
  name: string;
  value: number;
}

export interface CheckpointRecord {
  id: string;
  /** Absolute path of the file. */
  path: string;
  sha256: string;
  runId: string | null;
  steps: number;
  createdAt: string;
}

export function now(): string {
  return new Date().toISOString();
}

/**
 * Checks what a blocks or rules file shows without a corpus: the rules
 * schema, or the blocks file's outline. The engine checks block words
 * against the vocabulary when a run starts. Throws `invalid-request` that
 * lists every problem found.
 */
export function validateFile(kind: FileKind, json: unknown): void {
  const list = (json as Record<string, unknown> | null)?.[kind];
  if (json === null || typeof json !== 'object' || Array.isArray(json) || !Array.isArray(list)) {
    throw new ServiceError(
      'invalid-request',
      `${kind} file has no "${kind}" list; write {"version": 1, "${kind}": [...]}`,
      { kind },
    );
  }
  if (kind === 'rules') {
    try {
      rulesFromJSON(json);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      throw new ServiceError('invalid-request', error.message, { kind, issues: error.details.map((issue) => ({ ...issue })) });
    }
    return;
  }
  const issues: { path: string; message: string }[] = [];
  if ((json as { version?: unknown }).version !== 1) {
    issues.push({ path: '/version', message: `version ${JSON.stringify((json as { version?: unknown }).version)} is not supported; write "version": 1` });
  }
  (list as unknown[]).forEach((block, index) => {
    const { id, name, tokens } = (block ?? {}) as { id?: unknown; name?: unknown; tokens?: unknown };
    if (typeof id !== 'string' || id === '') issues.push({ path: `/blocks/${index}/id`, message: `block ${index} has no id; give it a non-empty string id` });
    if (typeof name !== 'string' || name === '') issues.push({ path: `/blocks/${index}/name`, message: `block ${index} has no name; give it a non-empty string name` });
    if (!Array.isArray(tokens) || tokens.some((token) => typeof token !== 'string')) {
      issues.push({ path: `/blocks/${index}/tokens`, message: `block ${index} tokens must be a list of words` });
    }
  });
  if (issues.length > 0) {
    const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
    throw new ServiceError('invalid-request', [`blocks file is invalid (${count}):`, ...issues.map((issue) => `  ${issue.path}: ${issue.message}`)].join('\n'), {
      kind,
      issues,
    });
  }
}

interface ProjectRow {
  id: string;
  name: string;
  demo: number;
  opened_at: string;
  source: string;
}

interface RunRow {
  id: string;
  config: string;
  state: RunState;
  started_at: string;
  finished_at: string | null;
  backend: string | null;
  error: string | null;
}

interface CheckpointRow {
  id: string;
  path: string;
  sha256: string;
  run_id: string | null;
  steps: number;
  created_at: string;
}

export class Project {
  /** Absolute path of the project folder, with symbolic links resolved. */
  readonly folder: string;
  private readonly db: Connection;
  private closed = false;

  /** Takes over `db`, an open connection to the project's migrated database. */
  constructor(folder: string, db: Connection) {
    this.folder = folder;
    this.db = db;
  }

  get checkpointsFolder(): string {
    return join(this.folder, CHECKPOINTS_FOLDER);
  }

  summary(): ProjectSummary {
    const row = this.db
      .prepare('SELECT p.id, p.name, p.demo, p.opened_at, c.source FROM projects p JOIN corpora c ON c.id = p.corpus_id')
      .get() as ProjectRow | undefined;
    if (!row) {
      throw new ServiceError('invalid-request', `project database in "${this.folder}" has no project row; it is damaged, so restore it from a backup`, {
        folder: this.folder,
      });
    }
    return { id: row.id, name: row.name, folder: this.folder, demo: row.demo === 1, corpus: row.source, openedAt: row.opened_at };
  }

  /** Records that the project was opened now. */
  markOpened(openedAt = now()): void {
    this.db.prepare('UPDATE projects SET opened_at = ?').run(openedAt);
  }

  corpusFingerprint(): string | null {
    const row = this.db.prepare('SELECT c.fingerprint FROM projects p JOIN corpora c ON c.id = p.corpus_id').get() as
      | { fingerprint: string | null }
      | undefined;
    return row?.fingerprint ?? null;
  }

  /** Stores the SHA-256 of the project's corpus, as a training run reported it. */
  recordCorpusFingerprint(fingerprint: string): void {
    this.db.prepare('UPDATE corpora SET fingerprint = ?, recorded_at = ? WHERE id = (SELECT corpus_id FROM projects)').run(fingerprint, now());
  }

  // -------------------------------------------------------------------------
  // Blocks and rules

  /** Saves a new version of the blocks or rules file after checking it, and returns it. */
  saveFile(kind: FileKind, json: unknown): SavedVersion {
    const table = tableOf(kind);
    validateFile(kind, json);
    const text = JSON.stringify(json);
    const savedAt = now();
    const insert = this.db.transaction(() => {
      const { latest } = this.db.prepare(`SELECT max(version) AS latest FROM ${table}`).get() as { latest: number | null };
      const version = (latest ?? 0) + 1;
      this.db.prepare(`INSERT INTO ${table} (version, json, saved_at) VALUES (?, ?, ?)`).run(version, text, savedAt);
      return version;
    });
    return { version: insert(), json: JSON.parse(text) as unknown, savedAt };
  }

  /** Returns the current (highest) version of the blocks or rules file, or null when none was saved. */
  currentFile(kind: FileKind): SavedVersion | null {
    const row = this.db.prepare(`SELECT version, json, saved_at FROM ${tableOf(kind)} ORDER BY version DESC LIMIT 1`).get() as
      | { version: number; json: string; saved_at: string }
      | undefined;
    return row ? { version: row.version, json: JSON.parse(row.json) as unknown, savedAt: row.saved_at } : null;
  }

  /** Returns every saved version of the blocks or rules file, oldest first. */
  fileVersions(kind: FileKind): SavedVersion[] {
    const rows = this.db.prepare(`SELECT version, json, saved_at FROM ${tableOf(kind)} ORDER BY version`).all() as {
      version: number;
      json: string;
      saved_at: string;
    }[];
    return rows.map((row) => ({ version: row.version, json: JSON.parse(row.json) as unknown, savedAt: row.saved_at }));
  }

  // -------------------------------------------------------------------------
  // Runs, metrics and checkpoints

  startRun(id: string, config: unknown): RunRecord {
    const startedAt = now();
    this.db.prepare("INSERT INTO runs (id, config, state, started_at) VALUES (?, ?, 'running', ?)").run(id, JSON.stringify(config), startedAt);
    return { id, config, state: 'running', startedAt, finishedAt: null, backend: null, error: null };
  }

  finishRun(id: string, end: { state: Exclude<RunState, 'running'>; backend?: string | null; error?: string | null }): void {
    this.db
      .prepare('UPDATE runs SET state = ?, finished_at = ?, backend = coalesce(?, backend), error = ? WHERE id = ?')
      .run(end.state, now(), end.backend ?? null, end.error ?? null, id);
  }

  /**
   * Marks runs left in state "running" as failed, because the workbench that
   * ran them stopped. Call it only when no job of this process trains the project.
   * Returns the ids of the runs marked.
   */
  failInterruptedRuns(): string[] {
    const mark = this.db.transaction(() => {
      const rows = this.db.prepare("SELECT id FROM runs WHERE state = 'running'").all() as { id: string }[];
      const update = this.db.prepare(
        "UPDATE runs SET state = 'failed', finished_at = ?, error = 'the workbench stopped while the run was training' WHERE id = ?",
      );
      for (const row of rows) update.run(now(), row.id);
      return rows.map((row) => row.id);
    });
    return mark();
  }

  runs(): RunRecord[] {
    const rows = this.db.prepare('SELECT * FROM runs ORDER BY started_at, rowid').all() as RunRow[];
    return rows.map((row) => ({
      id: row.id,
      config: JSON.parse(row.config) as unknown,
      state: row.state,
      startedAt: row.started_at,
      finishedAt: row.finished_at,
      backend: row.backend,
      error: row.error,
    }));
  }

  /** Stores metrics of one step of a run; non-finite values are skipped, because SQLite cannot store NaN. */
  recordMetrics(runId: string, step: number, values: Readonly<Record<string, number>>): void {
    const insert = this.db.prepare('INSERT OR REPLACE INTO metrics (run_id, step, name, value) VALUES (?, ?, ?, ?)');
    this.db.transaction(() => {
      for (const [name, value] of Object.entries(values)) if (Number.isFinite(value)) insert.run(runId, step, name, value);
    })();
  }

  metrics(runId: string): MetricRecord[] {
    return this.db.prepare('SELECT step, name, value FROM metrics WHERE run_id = ? ORDER BY step, name').all(runId) as MetricRecord[];
  }

  /**
   * Records a checkpoint file written at `path` (absolute, inside the project
   * folder) or updates its row when the file was rewritten.
   */
  recordCheckpoint(checkpoint: { path: string; sha256: string; runId: string | null; steps: number }): CheckpointRecord {
    const stored = relative(this.folder, checkpoint.path);
    if (stored.startsWith('..') || isAbsolute(stored)) {
      throw new ServiceError('invalid-request', `checkpoint "${checkpoint.path}" lies outside the project folder "${this.folder}"; write checkpoints under ${CHECKPOINTS_FOLDER}/`, {
        path: checkpoint.path,
      });
    }
    const createdAt = now();
    this.db
      .prepare(
        `INSERT INTO checkpoints (id, path, sha256, run_id, steps, created_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (path) DO UPDATE SET sha256 = excluded.sha256, run_id = excluded.run_id, steps = excluded.steps, created_at = excluded.created_at`,
      )
      .run(randomUUID(), stored, checkpoint.sha256, checkpoint.runId, checkpoint.steps, createdAt);
    const row = this.db.prepare('SELECT * FROM checkpoints WHERE path = ?').get(stored) as CheckpointRow;
    return this.toCheckpointRecord(row);
  }

  /** Returns the most recently written checkpoint, or null before the first training run saved one. */
  latestCheckpoint(): CheckpointRecord | null {
    const row = this.db.prepare('SELECT * FROM checkpoints ORDER BY created_at DESC, rowid DESC LIMIT 1').get() as CheckpointRow | undefined;
    return row ? this.toCheckpointRecord(row) : null;
  }

  checkpoints(): CheckpointRecord[] {
    const rows = this.db.prepare('SELECT * FROM checkpoints ORDER BY created_at, rowid').all() as CheckpointRow[];
    return rows.map((row) => this.toCheckpointRecord(row));
  }

  private toCheckpointRecord(row: CheckpointRow): CheckpointRecord {
    return { id: row.id, path: join(this.folder, row.path), sha256: row.sha256, runId: row.run_id, steps: row.steps, createdAt: row.created_at };
  }

  // -------------------------------------------------------------------------
  // Reference examples

  /** Returns the pinned reference examples in the order they were pinned. */
  referenceExamples(): ReferenceExample[] {
    const rows = this.db.prepare('SELECT id, text, pinned_at FROM reference_examples ORDER BY pinned_at, rowid').all() as {
      id: string;
      text: string;
      pinned_at: string;
    }[];
    return rows.map((row) => ({ id: row.id, text: row.text, pinnedAt: row.pinned_at }));
  }

  /** Pins a text; rejects an empty text, one over the length limit, and one pinned already. */
  pinReferenceExample(text: unknown): ReferenceExample {
    if (typeof text !== 'string') {
      throw new ServiceError('invalid-request', `reference example text must be a string, but received ${typeof text}`, {});
    }
    if (text.trim() === '') {
      throw new ServiceError('invalid-request', 'reference example text is empty; type the text to pin first', {});
    }
    const characters = [...text].length;
    if (characters > REFERENCE_EXAMPLE_MAX_CHARACTERS) {
      throw new ServiceError(
        'invalid-request',
        `reference example text has ${characters} characters, over the limit of ${REFERENCE_EXAMPLE_MAX_CHARACTERS}; pin a shorter passage`,
        { characters, maxCharacters: REFERENCE_EXAMPLE_MAX_CHARACTERS },
      );
    }
    const pin = this.db.transaction((): ReferenceExample => {
      const existing = this.db.prepare('SELECT id FROM reference_examples WHERE text = ?').get(text) as { id: string } | undefined;
      if (existing) {
        throw new ServiceError('invalid-request', `this text is already pinned as reference example "${existing.id}"; pin a different text`, {
          id: existing.id,
        });
      }
      const example: ReferenceExample = { id: randomUUID(), text, pinnedAt: now() };
      this.db.prepare('INSERT INTO reference_examples (id, text, pinned_at) VALUES (?, ?, ?)').run(example.id, example.text, example.pinnedAt);
      return example;
    });
    return pin();
  }

  unpinReferenceExample(id: unknown): void {
    if (typeof id !== 'string' || id === '') {
      throw new ServiceError('invalid-request', `reference example id must be a non-empty string, but received ${JSON.stringify(id) ?? typeof id}`, {});
    }
    const result = this.db.prepare('DELETE FROM reference_examples WHERE id = ?').run(id);
    if (result.changes === 0) {
      throw new ServiceError('not-found', `reference example "${id}" is not pinned in this project; list the pinned examples to get their ids`, { id });
    }
  }

  // -------------------------------------------------------------------------

  get isOpen(): boolean {
    return !this.closed;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }
}
