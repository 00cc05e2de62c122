import Database from 'better-sqlite3';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_BLOCKS_PATH, DEMO_RULES_PATH } from '../engine/data';
import { DEMO_PROJECT_FOLDER, openDemoProject } from './demo-project';
import { ServiceError } from './errors';
import { PROJECT_DATABASE_FILE, REFERENCE_EXAMPLE_MAX_CHARACTERS, type Project } from './project';
import { DATA_DIR_VARIABLE, defaultDataDir, ProjectStore } from './project-store';

let root: string;
let store: ProjectStore;
const opened: Project[] = [];

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'localist-store-'));
  store = new ProjectStore({ dataDir: join(root, 'data') });
});

afterEach(() => {
  for (const project of opened.splice(0)) project.close();
  store.close();
  rmSync(root, { recursive: true, force: true });
});

/** Keeps a project to close after the test. */
function track(project: Project): Project {
  opened.push(project);
  return project;
}

/** Runs `action` and returns the ServiceError it throws; fails the test when it throws nothing or something else. */
function errorOf(action: () => unknown): ServiceError {
  try {
    action();
  } catch (error) {
    if (error instanceof ServiceError) return error;
    throw error;
  }
  throw new Error('expected a ServiceError, but the call succeeded');
}

function create(name = 'Policy', folder = join(root, name.toLowerCase())): Project {
  return track(store.createProject({ folder, name, corpus: 'brown' }));
}

describe('ProjectStore create and open', () => {
  it('reopen keeps the created summary', () => {
    const project = create('Policy');
    const created = project.summary();
    expect(created.name).toBe('Policy');
    expect(created.corpus).toBe('brown');
    expect(created.demo).toBe(false);
    expect(created.folder).toBe(join(root, 'policy'));
    project.close();

    const reopened = track(store.openProject(join(root, 'policy'))).summary();
    expect(reopened.id).toBe(created.id);
    expect(reopened.name).toBe('Policy');
    expect(reopened.openedAt >= created.openedAt).toBe(true);
  });

  it('create writes empty blocks and rules', () => {
    const project = create('Policy');
    expect(readFileSync(join(project.folder, PROJECT_DATABASE_FILE)).subarray(0, 15).toString()).toBe('SQLite format 3');
    expect(project.currentFile('blocks')).toMatchObject({ version: 1, json: { version: 1, blocks: [] } });
    expect(project.currentFile('rules')).toMatchObject({ version: 1, json: { version: 1, rules: [] } });
    expect(statSync(project.checkpointsFolder).isDirectory()).toBe(true);
  });

  it('accepts an existing empty folder', () => {
    mkdirSync(join(root, 'empty'));
    expect(create('Empty', join(root, 'empty')).summary().folder).toBe(join(root, 'empty'));
  });

  it('rejects a non-empty folder, naming it', () => {
    const folder = join(root, 'busy');
    mkdirSync(folder);
    writeFileSync(join(folder, 'notes.txt'), 'keep me');
    const error = errorOf(() => store.createProject({ folder, name: 'Busy', corpus: 'brown' }));
    expect(error.code).toBe('invalid-request');
    expect(error.message).toContain(folder);
    expect(error.message).toContain('"notes.txt"');
    expect(readFileSync(join(folder, 'notes.txt'), 'utf8')).toBe('keep me');
  });

  it('rejects a folder under /proc without hanging', () => {
    // A recursive mkdirSync never returns there on Node 20.20.
    const folder = '/proc/localist-project-test/inner';
    const error = errorOf(() => store.createProject({ folder, name: 'Proc', corpus: 'brown' }));
    expect(error.message).toContain('/proc/localist-project-test');
  });

  it('rejects a folder with a project', () => {
    create('Policy');
    const error = errorOf(() => store.createProject({ folder: join(root, 'policy'), name: 'Again', corpus: 'brown' }));
    expect(error.code).toBe('invalid-request');
    expect(error.message).toContain('already contains a project');
  });

  it('rejects invalid create options', () => {
    const file = join(root, 'file.txt');
    writeFileSync(file, 'text');
    const cases: [string, () => unknown, string, string][] = [
      ['file', () => store.createProject({ folder: file, name: 'A', corpus: 'brown' }), 'invalid-request', file],
      ['relative', () => store.createProject({ folder: 'projects/a', name: 'A', corpus: 'brown' }), 'invalid-request', 'projects/a'],
      ['empty name', () => store.createProject({ folder: join(root, 'a'), name: '  ', corpus: 'brown' }), 'invalid-request', 'name is empty'],
      ['relative corpus', () => store.createProject({ folder: join(root, 'a'), name: 'A', corpus: 'texts' }), 'invalid-request', '"texts"'],
      ['missing corpus', () => store.createProject({ folder: join(root, 'a'), name: 'A', corpus: join(root, 'nowhere') }), 'not-found', 'nowhere'],
    ];
    for (const [label, action, code, named] of cases) {
      const error = errorOf(action);
      expect(error.code, label).toBe(code);
      expect(error.message, label).toContain(named);
    }
  });

  it('failed creation leaves no project', () => {
    const folder = join(root, 'bad-rules');
    const error = errorOf(() =>
      store.createProject({ folder, name: 'Bad', corpus: 'brown', rules: { version: 1, rules: [{ id: 'r', strength: -1 }] } }),
    );
    expect(error.code).toBe('invalid-request');
    expect(error.message).toContain('rules file is invalid');
    expect(() => readFileSync(join(folder, PROJECT_DATABASE_FILE))).toThrow();
    // The folder is still usable for a valid project.
    expect(create('Good', folder).summary().name).toBe('Good');
  });

  it('clears leftovers of interrupted creation', () => {
    const folder = join(root, 'interrupted');
    mkdirSync(folder);
    writeFileSync(join(folder, 'project.sqlite.partial'), 'half-written');
    writeFileSync(join(folder, 'project.sqlite.partial-journal'), 'half-written');
    const project = create('Interrupted', folder);
    expect(project.summary().name).toBe('Interrupted');
    expect(readdirSync(folder).sort()).toEqual(['checkpoints', PROJECT_DATABASE_FILE]);
  });

  it('rejects a folder without project', () => {
    const missing = errorOf(() => store.openProject(join(root, 'nowhere')));
    expect(missing.code).toBe('not-found');
    expect(missing.message).toContain(join(root, 'nowhere'));

    mkdirSync(join(root, 'plain'));
    const plain = errorOf(() => store.openProject(join(root, 'plain')));
    expect(plain.code).toBe('not-found');
    expect(plain.message).toContain('contains no project.sqlite');
  });

  it('rejects a non-database project file', () => {
    mkdirSync(join(root, 'garbage'));
    writeFileSync(join(root, 'garbage', PROJECT_DATABASE_FILE), 'this is not SQLite '.repeat(100));
    const error = errorOf(() => store.openProject(join(root, 'garbage')));
    expect(error.code).toBe('invalid-request');
    expect(error.message).toContain('not a SQLite database');
  });

  it('rejects a newer schema version', () => {
    const project = create('Future');
    const folder = project.folder;
    project.close();
    const db = new Database(join(folder, PROJECT_DATABASE_FILE));
    db.prepare('UPDATE schema_version SET version = 99').run();
    db.close();

    const error = errorOf(() => store.openProject(folder));
    expect(error.code).toBe('invalid-request');
    expect(error.message).toContain('schema version 99');
    expect(error.message).toContain('newer version of the workbench');
  });

  it('reads data folder from environment', () => {
    const previous = process.env[DATA_DIR_VARIABLE];
    process.env[DATA_DIR_VARIABLE] = join(root, 'from-env');
    try {
      expect(defaultDataDir()).toBe(join(root, 'from-env'));
      const fromEnvironment = new ProjectStore();
      expect(fromEnvironment.dataDir).toBe(join(root, 'from-env'));
      fromEnvironment.close();
    } finally {
      if (previous === undefined) delete process.env[DATA_DIR_VARIABLE];
      else process.env[DATA_DIR_VARIABLE] = previous;
    }
  });
});

describe('Project blocks and rules versions', () => {
  it('increases the version with every save', () => {
    const project = create('Versions');
    const blocks = { version: 1, blocks: [{ id: 'money', name: 'Money', tokens: ['cash'] }] };
    expect(project.saveFile('blocks', blocks).version).toBe(2);
    expect(project.saveFile('blocks', { ...blocks, blocks: [] }).version).toBe(3);
    expect(project.saveFile('rules', { version: 1, rules: [] }).version).toBe(2);

    expect(project.currentFile('blocks')?.version).toBe(3);
    expect(project.currentFile('blocks')?.json).toEqual({ version: 1, blocks: [] });
    expect(project.fileVersions('blocks').map((saved) => saved.version)).toEqual([1, 2, 3]);
    expect(project.fileVersions('blocks')[1].json).toEqual(blocks);
    expect(project.currentFile('rules')?.version).toBe(2);
  });

  it('invalid save keeps current version', () => {
    const project = create('Invalid');
    const error = errorOf(() => project.saveFile('blocks', { version: 1, blocks: [{ id: '', tokens: 'cash' }] }));
    expect(error.code).toBe('invalid-request');
    expect(error.message).toContain('blocks file is invalid');
    expect(error.message).toContain('/blocks/0/tokens');
    expect(errorOf(() => project.saveFile('rules', { rules: 'none' })).message).toContain('no "rules" list');
    expect(project.fileVersions('blocks').map((saved) => saved.version)).toEqual([1]);
    expect(project.fileVersions('rules').map((saved) => saved.version)).toEqual([1]);
  });
});

describe('Project runs, metrics and checkpoints', () => {
  it('records run, metrics and checkpoint', () => {
    const project = create('Runs');
    project.startRun('run-1', { preset: 'quick' });
    project.recordMetrics('run-1', 1, { loss: 7.5, crossEntropy: 7.4, etaSeconds: Number.POSITIVE_INFINITY });
    project.recordMetrics('run-1', 2, { loss: 7.1, crossEntropy: 7.0 });
    const path = join(project.checkpointsFolder, 'run-1.localist');
    const first = project.recordCheckpoint({ path, sha256: 'a'.repeat(64), runId: 'run-1', steps: 1 });
    const second = project.recordCheckpoint({ path, sha256: 'b'.repeat(64), runId: 'run-1', steps: 2 });
    project.finishRun('run-1', { state: 'finished', backend: 'wasm' });

    expect(second.id).toBe(first.id);
    expect(project.latestCheckpoint()).toMatchObject({ path, sha256: 'b'.repeat(64), steps: 2, runId: 'run-1' });
    expect(project.checkpoints()).toHaveLength(1);
    expect(project.metrics('run-1')).toEqual([
      { step: 1, name: 'crossEntropy', value: 7.4 },
      { step: 1, name: 'loss', value: 7.5 },
      { step: 2, name: 'crossEntropy', value: 7.0 },
      { step: 2, name: 'loss', value: 7.1 },
    ]);
    expect(project.runs()).toMatchObject([{ id: 'run-1', state: 'finished', backend: 'wasm', config: { preset: 'quick' } }]);
  });

  it('rejects checkpoint outside project folder', () => {
    const project = create('Outside');
    const error = errorOf(() => project.recordCheckpoint({ path: join(root, 'elsewhere.localist'), sha256: 'c', runId: null, steps: 1 }));
    expect(error.code).toBe('invalid-request');
    expect(project.latestCheckpoint()).toBeNull();
  });

  it('marks runs left running as failed', () => {
    const project = create('Interrupted');
    project.startRun('run-1', {});
    expect(project.failInterruptedRuns()).toEqual(['run-1']);
    expect(project.runs()[0]).toMatchObject({ state: 'failed', error: 'the workbench stopped while the run was training' });
    expect(project.failInterruptedRuns()).toEqual([]);
  });
});

describe('Project reference examples', () => {
  it('persist across reopen', () => {
    const project = create('Examples');
    const first = project.pinReferenceExample('the jury said the money');
    const second = project.pinReferenceExample('she paid the bill');
    project.close();

    const reopened = track(store.openProject(join(root, 'examples')));
    expect(reopened.referenceExamples()).toEqual([first, second]);
    reopened.unpinReferenceExample(first.id);
    expect(reopened.referenceExamples()).toEqual([second]);
  });

  it('rejects empty, long and duplicate texts', () => {
    const project = create('Examples');
    const pinned = project.pinReferenceExample('the court ruled');

    const duplicate = errorOf(() => project.pinReferenceExample('the court ruled'));
    expect(duplicate.code).toBe('invalid-request');
    expect(duplicate.message).toContain(`already pinned as reference example "${pinned.id}"`);

    expect(errorOf(() => project.pinReferenceExample(' \n ')).message).toContain('empty');
    const long = errorOf(() => project.pinReferenceExample('a'.repeat(REFERENCE_EXAMPLE_MAX_CHARACTERS + 1)));
    expect(long.message).toContain(`${REFERENCE_EXAMPLE_MAX_CHARACTERS + 1} characters`);
    expect(project.pinReferenceExample('b'.repeat(REFERENCE_EXAMPLE_MAX_CHARACTERS)).text).toHaveLength(REFERENCE_EXAMPLE_MAX_CHARACTERS);
    expect(project.referenceExamples()).toHaveLength(2);
  });

  it('rejects unpinning an unknown id', () => {
    const project = create('Examples');
    const error = errorOf(() => project.unpinReferenceExample('no-such-id'));
    expect(error.code).toBe('not-found');
    expect(error.message).toContain('"no-such-id"');
  });
});

describe('ProjectStore recent projects', () => {
  it('lists projects most recently opened first', () => {
    create('Alpha').close();
    create('Beta').close();
    track(store.openProject(join(root, 'alpha'))).close();
    expect(store.recentProjects().map((project) => project.name)).toEqual(['Alpha', 'Beta']);
  });

  it('list survives a new store', () => {
    create('Alpha').close();
    store.close();
    store = new ProjectStore({ dataDir: join(root, 'data') });
    expect(store.recentProjects().map((project) => project.name)).toEqual(['Alpha']);
  });

  it('skips projects whose folder is gone', () => {
    create('Alpha').close();
    create('Beta').close();
    rmSync(join(root, 'beta'), { recursive: true });
    expect(store.recentProjects().map((project) => project.name)).toEqual(['Alpha']);
  });
});

describe('openDemoProject', () => {
  it('creates demo blocks and rules', () => {
    const project = track(openDemoProject(store));
    const summary = project.summary();
    expect(summary.folder).toBe(join(root, 'data', DEMO_PROJECT_FOLDER));
    expect(summary.demo).toBe(true);
    expect(summary.corpus).toBe('brown');
    expect(project.currentFile('blocks')).toMatchObject({ version: 1, json: JSON.parse(readFileSync(DEMO_BLOCKS_PATH, 'utf8')) });
    expect(project.currentFile('rules')).toMatchObject({ version: 1, json: JSON.parse(readFileSync(DEMO_RULES_PATH, 'utf8')) });
    expect(project.latestCheckpoint()).toBeNull();
  });

  it('reopens the same project', () => {
    const first = track(openDemoProject(store));
    const id = first.summary().id;
    first.close();
    const second = track(openDemoProject(store));
    expect(second.summary().id).toBe(id);
    expect(second.fileVersions('blocks')).toHaveLength(1);
    expect(second.fileVersions('rules')).toHaveLength(1);
    expect(store.recentProjects().map((project) => project.id)).toEqual([id]);
  });
});
