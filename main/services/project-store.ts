/**
 * The project store: creates and opens project folders, each holding a
 * `project.sqlite` and a `checkpoints/` folder, and keeps the list of
 * recently opened projects in `workbench.sqlite` in the data folder.
 *
 * Every method is synchronous, because better-sqlite3 is, so two calls in
 * one process never interleave.
 */
import { existsSync, mkdirSync, readdirSync, realpathSync, renameSync, rmSync, rmdirSync, statSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { ProjectSummary } from '../../common/api';
import { migrate, openConnection, schemaVersion, type Connection, type DatabaseLabel } from './database';
import { ServiceError } from './errors';
import { CHECKPOINTS_FOLDER, now, Project, PROJECT_DATABASE_FILE, validateFile } from './project';
import { APP_MIGRATIONS, PROJECT_MIGRATIONS } from './project-schema';

/** File name of the app-level database in the data folder. */
export const APP_DATABASE_FILE = 'workbench.sqlite';

/** Environment variable that overrides the default data folder. */
export const DATA_DIR_VARIABLE = 'LOCALIST_DATA_DIR';

/** Number of projects that the recent list keeps. */
export const RECENT_PROJECTS_LIMIT = 20;

/** Maximum length of a project name, in characters. */
export const PROJECT_NAME_MAX_CHARACTERS = 200;

/** Name of the database while a project is being created; it is renamed when complete. */
const PARTIAL_DATABASE_FILE = `${PROJECT_DATABASE_FILE}.partial`;

/** Files that a failed creation can leave behind; a folder holding only these counts as empty. */
const CREATION_LEFTOVERS = new Set([PARTIAL_DATABASE_FILE, `${PARTIAL_DATABASE_FILE}-journal`]);

/** Returns the data folder: `$LOCALIST_DATA_DIR` when set, else `~/.localist`. */
export function defaultDataDir(): string {
  const fromEnvironment = process.env[DATA_DIR_VARIABLE];
  return fromEnvironment && fromEnvironment.trim() !== '' ? fromEnvironment : join(homedir(), '.localist');
}

export interface ProjectStoreOptions {
  /** Folder of the app-level database and the demo project; defaults to `defaultDataDir()`. */
  dataDir?: string;
}

export interface CreateProjectOptions {
  /** Absolute path of an empty or missing folder. */
  folder: string;
  name: string;
  /** "brown" or the absolute path of an existing text file or folder. */
  corpus: string;
  demo?: boolean;
  /** Version 1 of the blocks and rules files; empty lists when absent. */
  blocks?: unknown;
  rules?: unknown;
}

const EMPTY_FILES = { blocks: { version: 1, blocks: [] }, rules: { version: 1, rules: [] } };

export class ProjectStore {
  readonly dataDir: string;
  private readonly app: Connection;

  constructor(options: ProjectStoreOptions = {}) {
    this.dataDir = resolve(options.dataDir ?? defaultDataDir());
    try {
      createFolderSync(this.dataDir);
    } catch (error) {
      throw new ServiceError(
        'invalid-request',
        `data folder "${this.dataDir}" cannot be created (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); set ${DATA_DIR_VARIABLE} to a folder you can write to`,
        { folder: this.dataDir },
      );
    }
    const target: DatabaseLabel = { label: `workbench database "${join(this.dataDir, APP_DATABASE_FILE)}"`, path: join(this.dataDir, APP_DATABASE_FILE) };
    this.app = openConnection(target, { mustExist: false });
    try {
      migrate(this.app, APP_MIGRATIONS, target);
    } catch (error) {
      this.app.close();
      throw error;
    }
  }

  /**
   * Creates a project in an empty or missing folder, then opens it. The
   * database is written under a temporary name and renamed when complete, so
   * a failed creation leaves no half-made project behind.
   */
  createProject(options: CreateProjectOptions): Project {
    const folder = checkAbsolute(options.folder, 'project folder');
    const name = checkName(options.name);
    const corpus = checkCorpus(options.corpus);
    const blocks = options.blocks ?? EMPTY_FILES.blocks;
    const rules = options.rules ?? EMPTY_FILES.rules;
    validateFile('blocks', blocks);
    validateFile('rules', rules);

    const createdFolder = prepareEmptyFolder(folder);
    const partialPath = join(folder, PARTIAL_DATABASE_FILE);
    let db: Connection | null = null;
    try {
      const target: DatabaseLabel = { label: `new project database "${partialPath}"`, path: partialPath };
      db = openConnection(target, { mustExist: false });
      migrate(db, PROJECT_MIGRATIONS, target);
      const time = now();
      const connection = db;
      connection.transaction(() => {
        const corpusId = connection.prepare('INSERT INTO corpora (source, fingerprint, recorded_at) VALUES (?, NULL, ?)').run(corpus, time).lastInsertRowid;
        connection
          .prepare('INSERT INTO projects (id, name, corpus_id, demo, created_at, opened_at) VALUES (?, ?, ?, ?, ?, ?)')
          .run(randomUUID(), name, corpusId, options.demo ? 1 : 0, time, time);
        connection.prepare('INSERT INTO blocks (version, json, saved_at) VALUES (1, ?, ?)').run(JSON.stringify(blocks), time);
        connection.prepare('INSERT INTO rules (version, json, saved_at) VALUES (1, ?, ?)').run(JSON.stringify(rules), time);
      })();
      db.close();
      db = null;
      renameSync(partialPath, join(folder, PROJECT_DATABASE_FILE));
    } catch (error) {
      db?.close();
      for (const leftover of CREATION_LEFTOVERS) rmSync(join(folder, leftover), { force: true });
      if (createdFolder) {
        try {
          rmdirSync(folder);
        } catch {
          // The creation error below matters more than an empty folder left behind.
        }
      }
      if (error instanceof ServiceError) throw error;
      throw new ServiceError('internal', `project in "${folder}" could not be created: ${(error as Error).message}`, { folder });
    }
    createFolderSync(join(folder, CHECKPOINTS_FOLDER));
    return this.openProject(folder);
  }

  /**
   * Opens the project in `folder`, migrating an older schema, records the
   * time and puts it first in the recent list. Throws `not-found` when the
   * folder contains no project, and `invalid-request` for a project written by a
   * newer workbench or a file that is not a project database.
   */
  openProject(folder: string): Project {
    const absolute = checkAbsolute(folder, 'project folder');
    if (!existsSync(absolute) || !statSync(absolute).isDirectory()) {
      throw new ServiceError('not-found', `project folder "${absolute}" does not exist; choose the folder that contains project.sqlite`, { folder: absolute });
    }
    const resolved = realpathSync(absolute);
    const path = join(resolved, PROJECT_DATABASE_FILE);
    if (!existsSync(path)) {
      throw new ServiceError(
        'not-found',
        `folder "${resolved}" contains no ${PROJECT_DATABASE_FILE}, so it is not a workbench project; choose a project folder or create a project there`,
        { folder: resolved },
      );
    }

    const target: DatabaseLabel = { label: `project database "${path}"`, path };
    const db = openConnection(target, { mustExist: true });
    let project: Project;
    try {
      if (schemaVersion(db) === 0) {
        throw new ServiceError('invalid-request', `${target.label} has no schema_version table, so it was not written by the workbench; choose another folder`, {
          path,
        });
      }
      migrate(db, PROJECT_MIGRATIONS, target);
      project = new Project(resolved, db);
      project.markOpened();
      this.remember(project.summary());
    } catch (error) {
      db.close();
      throw error;
    }
    return project;
  }

  /** Returns recently opened projects whose folder still contains a project, most recent first. */
  recentProjects(): ProjectSummary[] {
    const rows = this.app.prepare('SELECT * FROM recent_projects ORDER BY open_sequence DESC').all() as {
      folder: string;
      project_id: string;
      name: string;
      corpus: string;
      demo: number;
      opened_at: string;
    }[];
    return rows
      .filter((row) => existsSync(join(row.folder, PROJECT_DATABASE_FILE)))
      .map((row) => ({ id: row.project_id, name: row.name, folder: row.folder, demo: row.demo === 1, corpus: row.corpus, openedAt: row.opened_at }));
  }

  close(): void {
    if (this.app.open) this.app.close();
  }

  private remember(summary: ProjectSummary): void {
    this.app.transaction(() => {
      const { latest } = this.app.prepare('SELECT max(open_sequence) AS latest FROM recent_projects').get() as { latest: number | null };
      this.app
        .prepare(
          `INSERT INTO recent_projects (folder, project_id, name, corpus, demo, opened_at, open_sequence) VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (folder) DO UPDATE SET project_id = excluded.project_id, name = excluded.name, corpus = excluded.corpus,
             demo = excluded.demo, opened_at = excluded.opened_at, open_sequence = excluded.open_sequence`,
        )
        .run(summary.folder, summary.id, summary.name, summary.corpus, summary.demo ? 1 : 0, summary.openedAt, (latest ?? 0) + 1);
      this.app
        .prepare('DELETE FROM recent_projects WHERE folder NOT IN (SELECT folder FROM recent_projects ORDER BY open_sequence DESC LIMIT ?)')
        .run(RECENT_PROJECTS_LIMIT);
    })();
  }
}

function checkAbsolute(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ServiceError('invalid-request', `${what} is missing; pass the absolute path of a folder`, {});
  }
  if (!isAbsolute(value)) {
    throw new ServiceError('invalid-request', `${what} "${value}" is a relative path; pass an absolute path, such as one from a folder dialog`, {
      folder: value,
    });
  }
  return value;
}

function checkName(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ServiceError('invalid-request', 'project name is empty; give the project a name', {});
  }
  const name = value.trim();
  if ([...name].length > PROJECT_NAME_MAX_CHARACTERS) {
    throw new ServiceError(
      'invalid-request',
      `project name has ${[...name].length} characters, over the limit of ${PROJECT_NAME_MAX_CHARACTERS}; choose a shorter name`,
      { name },
    );
  }
  return name;
}

/** Returns "brown", or the corpus path with symbolic links resolved. */
function checkCorpus(value: unknown): string {
  if (value === 'brown') return value;
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ServiceError('invalid-request', 'corpus is missing; pass "brown" or the absolute path of a folder of .txt files', {});
  }
  if (!isAbsolute(value)) {
    throw new ServiceError(
      'invalid-request',
      `corpus "${value}" is neither "brown" nor an absolute path; pass "brown" or the absolute path of a folder of .txt files`,
      { corpus: value },
    );
  }
  if (!existsSync(value)) {
    throw new ServiceError('not-found', `corpus "${value}" does not exist; choose an existing text file or folder of .txt files, or "brown"`, { corpus: value });
  }
  return realpathSync(value);
}

/**
 * Makes sure `folder` exists and is empty, apart from the leftovers of a
 * failed creation, which it removes. Returns true when it created the folder.
 */
function prepareEmptyFolder(folder: string): boolean {
  if (!existsSync(folder)) {
    try {
      createFolderSync(folder);
    } catch (error) {
      throw new ServiceError(
        'invalid-request',
        `project folder "${folder}" cannot be created (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); choose a folder you can write to`,
        { folder },
      );
    }
    return true;
  }
  if (!statSync(folder).isDirectory()) {
    throw new ServiceError('invalid-request', `project folder "${folder}" is a file, not a folder; choose an empty or new folder`, { folder });
  }
  const entries = readdirSync(folder);
  if (entries.includes(PROJECT_DATABASE_FILE)) {
    throw new ServiceError('invalid-request', `folder "${folder}" already contains a project; open it instead, or choose an empty or new folder`, { folder });
  }
  const others = entries.filter((entry) => !CREATION_LEFTOVERS.has(entry));
  if (others.length > 0) {
    const shown = others.slice(0, 3).map((entry) => `"${entry}"`).join(', ');
    const more = others.length > 3 ? ` and ${others.length - 3} more` : '';
    throw new ServiceError(
      'invalid-request',
      `project folder "${folder}" is not empty (it contains ${shown}${more}); choose an empty or new folder`,
      { folder, entries: others.slice(0, 20) },
    );
  }
  for (const leftover of CREATION_LEFTOVERS) rmSync(join(folder, leftover), { force: true });
  return false;
}

/**
 * Creates a folder and its missing parents one level at a time.
 * NOTE: on Node 20.20, `mkdirSync(path, { recursive: true })` never returns
 * for a path under /proc and blocks the whole server, so it is not used.
 */
export function createFolderSync(folder: string): void {
  const missing: string[] = [];
  let current = folder;
  while (!existsSync(current)) {
    missing.push(current);
    const parent = dirname(current);
    if (parent === current) break;
    current = parent;
  }
  for (const path of missing.reverse()) mkdirSync(path);
}
