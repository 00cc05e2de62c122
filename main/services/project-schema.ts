/**
 * Schema of a project's `project.sqlite` and of the app-level
 * `workbench.sqlite`, as migrations. A released migration never changes; a
 * schema change is a new migration with the next version.
 *
 * Times are ISO 8601 text in UTC. JSON columns hold `JSON.stringify` output.
 */
import type { Migration } from './database';

export const PROJECT_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'projects, corpora, blocks, rules, runs, metrics, checkpoints and reference examples',
    apply(db) {
      db.exec(`
        CREATE TABLE corpora (
          id INTEGER PRIMARY KEY,
          -- "brown" for the embedded Brown corpus, else an absolute file or folder path.
          source TEXT NOT NULL UNIQUE,
          -- SHA-256 of the corpus documents as the engine computes it; NULL until a training run reports it.
          fingerprint TEXT,
          recorded_at TEXT NOT NULL
        );

        -- Exactly one row: the project this file belongs to.
        CREATE TABLE projects (
          id TEXT PRIMARY KEY,
          name TEXT NOT NULL,
          corpus_id INTEGER NOT NULL REFERENCES corpora (id),
          demo INTEGER NOT NULL CHECK (demo IN (0, 1)),
          created_at TEXT NOT NULL,
          opened_at TEXT NOT NULL
        );

        -- Every save of the blocks file is a new row; the highest version is current.
        CREATE TABLE blocks (
          version INTEGER PRIMARY KEY CHECK (version >= 1),
          json TEXT NOT NULL,
          saved_at TEXT NOT NULL
        );

        -- Every save of the rules file is a new row; the highest version is current.
        CREATE TABLE rules (
          version INTEGER PRIMARY KEY CHECK (version >= 1),
          json TEXT NOT NULL,
          saved_at TEXT NOT NULL
        );

        CREATE TABLE runs (
          id TEXT PRIMARY KEY,
          -- The training configuration, preset, replicas and the blocks and rules versions used.
          config TEXT NOT NULL,
          state TEXT NOT NULL CHECK (state IN ('running', 'finished', 'failed', 'cancelled')),
          started_at TEXT NOT NULL,
          finished_at TEXT,
          -- TensorFlow.js backend the run trained on; NULL until the run ends.
          backend TEXT,
          -- Message of the failure of a failed run.
          error TEXT
        );

        -- Per-step training metrics; losses are in nats.
        CREATE TABLE metrics (
          run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
          step INTEGER NOT NULL,
          name TEXT NOT NULL,
          value REAL NOT NULL,
          PRIMARY KEY (run_id, step, name)
        );

        -- One row per checkpoint file. A run rewrites its file at every save,
        -- so the row is updated with the new hash and step count.
        CREATE TABLE checkpoints (
          id TEXT PRIMARY KEY,
          -- Relative to the project folder, so that the folder can move.
          path TEXT NOT NULL UNIQUE,
          sha256 TEXT NOT NULL,
          run_id TEXT REFERENCES runs (id),
          steps INTEGER NOT NULL,
          created_at TEXT NOT NULL
        );

        CREATE TABLE reference_examples (
          id TEXT PRIMARY KEY,
          text TEXT NOT NULL UNIQUE,
          pinned_at TEXT NOT NULL
        );
      `);
    },
  },
];

export const APP_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'recently opened projects',
    apply(db) {
      db.exec(`
        -- A copy of each project's summary, so that the list needs no project file opened.
        CREATE TABLE recent_projects (
          folder TEXT PRIMARY KEY,
          project_id TEXT NOT NULL,
          name TEXT NOT NULL,
          corpus TEXT NOT NULL,
          demo INTEGER NOT NULL CHECK (demo IN (0, 1)),
          opened_at TEXT NOT NULL,
          -- Increases with every open, so the order holds when two opens share a millisecond.
          open_sequence INTEGER NOT NULL
        );
      `);
    },
  },
];
