/**
 * SQLite files of the workbench: opening them with the settings every
 * connection needs, and schema migrations recorded in a `schema_version`
 * table.
 */
import Database from 'better-sqlite3';
import { ServiceError } from './errors';

export type Connection = Database.Database;

/** One schema change. `version` counts from 1, and `migrate` applies the changes in order. */
export interface Migration {
  version: number;
  /** Summary of the change, for error messages. */
  description: string;
  apply(db: Connection): void;
}

/** Database file as error messages name it. */
export interface DatabaseLabel {
  /** Names the file, such as `project database "/home/ana/policy/project.sqlite"`. */
  label: string;
  /** Absolute path of the file. */
  path: string;
}

/**
 * Opens a SQLite file. Foreign keys are on, and a writer waits up to 5
 * seconds for another connection's lock instead of failing at once.
 * Throws `invalid-request` when the file is not a SQLite database.
 */
export function openConnection(target: DatabaseLabel, options: { mustExist: boolean }): Connection {
  let db: Connection;
  try {
    db = new Database(target.path, { fileMustExist: options.mustExist });
  } catch (error) {
    throw new ServiceError(
      options.mustExist ? 'not-found' : 'invalid-request',
      `${target.label} cannot be opened (${(error as Error).message}); check that the file exists and that you may read and write it`,
      { path: target.path },
    );
  }
  try {
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    // Reading the schema is the first access to the file, which fails here when it is not a database.
    db.prepare('SELECT count(*) FROM sqlite_master').get();
  } catch (error) {
    db.close();
    throw notADatabase(target, error);
  }
  return db;
}

function notADatabase(target: DatabaseLabel, error: unknown): ServiceError {
  const code = (error as { code?: unknown }).code;
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
    return new ServiceError(
      'invalid-request',
      `${target.label} is not a SQLite database or is damaged (${code}); restore it from a backup or choose another folder`,
      { path: target.path },
    );
  }
  return new ServiceError('internal', `${target.label} could not be read: ${(error as Error).message}`, { path: target.path });
}

/** Returns the schema version recorded in the database, or 0 for a database without the `schema_version` table. */
export function schemaVersion(db: Connection): number {
  const table = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").get();
  if (!table) return 0;
  const row = db.prepare('SELECT version FROM schema_version').get() as { version: number } | undefined;
  return row?.version ?? 0;
}

/**
 * Brings the database to the newest version in `migrations`, one transaction
 * per migration, so that a failed migration leaves the previous version
 * intact. Throws `invalid-request` for a database written by a newer
 * workbench, whose schema this version cannot read safely.
 */
export function migrate(db: Connection, migrations: readonly Migration[], target: DatabaseLabel): number {
  const newest = migrations.at(-1)?.version ?? 0;
  const current = schemaVersion(db);
  if (current > newest) {
    throw new ServiceError(
      'invalid-request',
      `${target.label} has schema version ${current}, but this workbench reads versions up to ${newest}; open it with a newer version of the workbench`,
      { path: target.path, schemaVersion: current, supportedVersion: newest },
    );
  }

  for (const migration of migrations) {
    if (migration.version <= current) continue;
    const step = db.transaction(() => {
      migration.apply(db);
      db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
      db.exec('DELETE FROM schema_version');
      db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(migration.version);
    });
    try {
      step();
    } catch (error) {
      throw new ServiceError(
        'internal',
        `${target.label} could not be migrated to schema version ${migration.version} (${migration.description}): ${(error as Error).message}; the file is unchanged at version ${schemaVersion(db)}`,
        { path: target.path, schemaVersion: migration.version },
      );
    }
  }
  return newest;
}
