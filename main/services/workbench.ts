/**
 * The workbench's services: every operation of the API contract, behind the
 * transports (Electron IPC and `localist serve`). A `Workbench` owns the
 * project store, the open project, the training job and the inspector
 * engine. Every failure leaves a handler as a plain `ApiError` object.
 */
import { existsSync, realpathSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type {
  ApiError,
  InspectRequest,
  InspectResponse,
  ModelSummary,
  Operations,
  ProjectSummary,
  ReferenceExample,
  WorkbenchStatus,
} from '../../common/api';
import { DEMO_PROJECT_FOLDER, openDemoProject } from './demo-project';
import { apiErrorFromEngine, ServiceError, toApiError } from './errors';
import { validateInspectRequest } from './inspect-request';
import { ModelCatalog } from './model-summary';
import type { CheckpointRecord, Project } from './project';
import { ProjectStore } from './project-store';
import { isTrainingPreset, Trainer } from './training';
import type { EventSink, InspectEngine, ServiceHandlers } from './types';

export interface WorkbenchOptions {
  /** Folder of the app-level database and the demo project; defaults to `$LOCALIST_DATA_DIR` or `~/.localist`. */
  dataDir?: string;
  engine: InspectEngine;
  events: EventSink;
  /** Version string that `appVersion` returns, from package.json. */
  appVersion: string;
  /** Data-parallel replicas of training jobs; defaults to 2 on a machine with at least 2 cores, else 1. */
  trainingReplicas?: number;
}

type Request<Name extends keyof Operations> = Operations[Name]['request'];

export class Workbench implements ServiceHandlers {
  private readonly store: ProjectStore;
  private readonly engine: InspectEngine;
  private readonly events: EventSink;
  private readonly version: string;
  private readonly models = new ModelCatalog();
  private readonly trainer: Trainer;
  private project: Project | null = null;
  /** Backend of the engine, known after the engine or a training job has run. */
  private backendInfo: { name: string; skipped: string[] } | null = null;
  private engineBackendKnown = false;
  /** Checkpoints whose unreadable file was already logged, so that status polls do not repeat the warning. */
  private readonly reportedBrokenCheckpoints = new Set<string>();

  constructor(options: WorkbenchOptions) {
    this.store = new ProjectStore({ dataDir: options.dataDir });
    this.engine = options.engine;
    this.events = options.events;
    this.version = options.appVersion;
    this.trainer = new Trainer({
      events: options.events,
      replicas: options.trainingReplicas,
      hooks: {
        onBackend: (backend) => {
          if (!this.engineBackendKnown) this.backendInfo = backend;
        },
        onCheckpointRecorded: (project) => this.recordModel(project),
      },
    });
  }

  /** Folder of the app-level database and the demo project. */
  get dataDir(): string {
    return this.store.dataDir;
  }

  // Handlers are arrow-function properties, so that a transport may call them detached from the object.

  readonly appVersion = (): Promise<string> => this.handle('appVersion', async () => this.version);

  readonly status = (): Promise<WorkbenchStatus> =>
    this.handle('status', async () => ({
      version: this.version,
      backend: this.backendInfo?.name ?? null,
      backendSkipped: this.backendInfo ? [...this.backendInfo.skipped] : [],
      project: this.project?.summary() ?? null,
      model: await this.latestModelOrNull(),
      training: this.trainer.state,
    }));

  readonly recentProjects = (): Promise<ProjectSummary[]> => this.handle('recentProjects', async () => this.store.recentProjects());

  readonly openDemoProject = (): Promise<ProjectSummary> =>
    this.handle('openDemoProject', async () => this.switchProject(join(this.store.dataDir, DEMO_PROJECT_FOLDER), () => openDemoProject(this.store)));

  readonly createProject = (request: Request<'createProject'>): Promise<ProjectSummary> =>
    this.handle('createProject', async () => {
      const { folder, name, corpus } = requestObject(request, 'createProject');
      // A new project never is the open one, so the folder is not compared.
      return this.switchProject(null, () => this.store.createProject({ folder: folder as string, name: name as string, corpus: corpus as string }));
    });

  readonly openProject = (request: Request<'openProject'>): Promise<ProjectSummary> =>
    this.handle('openProject', async () => {
      const { folder } = requestObject(request, 'openProject');
      return this.switchProject(typeof folder === 'string' ? folder : null, () => this.store.openProject(folder as string));
    });

  readonly startTraining = (request: Request<'startTraining'>): Promise<{ jobId: string }> =>
    this.handle('startTraining', async () => {
      const { preset } = requestObject(request, 'startTraining');
      if (!isTrainingPreset(preset)) {
        throw new ServiceError('invalid-request', `training preset ${JSON.stringify(preset) ?? 'undefined'} is unknown; use "demo" or "quick"`, {
          preset: typeof preset === 'string' ? preset : null,
        });
      }
      return this.trainer.start(this.requireProject('start training'), preset);
    });

  readonly cancelJob = (request: Request<'cancelJob'>): Promise<void> =>
    this.handle('cancelJob', async () => {
      const { jobId } = requestObject(request, 'cancelJob');
      this.trainer.cancel(jobId);
    });

  readonly inspect = (request: InspectRequest): Promise<InspectResponse> =>
    this.handle('inspect', async () => {
      const project = this.project;
      if (!project) {
        throw new ServiceError('not-found', 'no project is open, so there is no model to inspect; open the demo project and train the demo model first', {});
      }
      const record = project.latestCheckpoint();
      if (!record) throw noModel(project);
      const { model } = await this.models.describe(record);
      const validated = validateInspectRequest(request, model);
      let response: InspectResponse;
      try {
        response = await this.engine.inspect(record.path, validated);
      } catch (error) {
        throw apiErrorFromEngine(error);
      }
      await this.learnEngineBackend();
      return response;
    });

  readonly referenceExamples = (): Promise<ReferenceExample[]> =>
    // With no project open there is nothing pinned, which the inspector shows as an empty list.
    this.handle('referenceExamples', async () => this.project?.referenceExamples() ?? []);

  readonly pinReferenceExample = (request: Request<'pinReferenceExample'>): Promise<ReferenceExample> =>
    this.handle('pinReferenceExample', async () => {
      const { text } = requestObject(request, 'pinReferenceExample');
      return this.requireProject('pin a reference example').pinReferenceExample(text);
    });

  readonly unpinReferenceExample = (request: Request<'unpinReferenceExample'>): Promise<void> =>
    this.handle('unpinReferenceExample', async () => {
      const { id } = requestObject(request, 'unpinReferenceExample');
      this.requireProject('unpin a reference example').unpinReferenceExample(id);
    });

  /** Resolves when no training job is running. */
  whenTrainingSettled(): Promise<void> {
    return this.trainer.settled();
  }

  /** Cancels a running training job and waits for it, then closes the project, the store and the engine. */
  async dispose(): Promise<void> {
    const running = this.trainer.running;
    if (running) this.trainer.cancel(running.id);
    await this.trainer.settled();
    this.project?.close();
    this.project = null;
    this.store.close();
    await this.engine.dispose();
  }

  // ---------------------------------------------------------------------------

  /** Runs a handler body and turns every failure into a plain `ApiError`; defects are also logged. */
  private async handle<T>(operation: string, body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (error) {
      const apiError: ApiError = toApiError(error, operation);
      if (apiError.code === 'internal') {
        console.error(`workbench: operation "${operation}" failed`, error);
        this.log('error', apiError.message);
      }
      throw apiError;
    }
  }

  private requireProject(action: string): Project {
    if (!this.project) {
      throw new ServiceError('invalid-request', `no project is open, so the workbench cannot ${action}; open the demo project or a project first`, {});
    }
    return this.project;
  }

  /**
   * Opens another project with `open` and closes the previous one. While a
   * training job runs, only its own project may be reopened. `folder` names
   * the project to open when it is known beforehand, for that comparison.
   */
  private switchProject(folder: string | null, open: () => Project): ProjectSummary {
    const running = this.trainer.running;
    if (running) {
      if (folder !== null && sameFolder(folder, running.project.folder) && this.project === running.project) {
        running.project.markOpened();
        const summary = running.project.summary();
        this.events.emit('project', summary);
        return summary;
      }
      throw new ServiceError(
        'invalid-request',
        `training job "${running.id}" is running on project "${running.project.summary().name}"; cancel it or wait for it to finish before opening another project`,
        { jobId: running.id },
      );
    }

    const project = open();
    this.project?.close();
    this.project = project;
    this.trainer.reset();
    // NOTE: a run that another workbench process is training on this project right now is also marked as failed.
    for (const runId of project.failInterruptedRuns()) {
      this.log('warning', `run ${runId} of project "${project.summary().name}" was still marked as training when the workbench stopped; it is now recorded as failed`);
    }
    const summary = project.summary();
    this.log('info', `opened project "${summary.name}" in ${summary.folder}`);
    // Every page follows, also when a menu command or another tab opened the project.
    this.events.emit('project', summary);
    return summary;
  }

  /** Returns the latest model of the open project, or null; an unreadable checkpoint is logged once and gives null. */
  private async latestModelOrNull(): Promise<ModelSummary | null> {
    const record = this.project?.latestCheckpoint();
    if (!record) return null;
    try {
      return (await this.models.describe(record)).model;
    } catch (error) {
      this.reportBrokenCheckpoint(record, error);
      return null;
    }
  }

  private reportBrokenCheckpoint(record: CheckpointRecord, error: unknown): void {
    const key = `${record.path}\u0000${record.sha256}`;
    if (this.reportedBrokenCheckpoints.has(key)) return;
    this.reportedBrokenCheckpoints.add(key);
    this.log('warning', `the latest model's checkpoint cannot be read: ${(error as Error).message}`);
  }

  /** Reads the new model's summary, and stores the corpus fingerprint that its checkpoint records. */
  private async recordModel(project: Project): Promise<void> {
    const record = project.latestCheckpoint();
    if (!record) return;
    const { corpusFingerprint } = await this.models.describe(record);
    if (corpusFingerprint === null) return;
    const stored = project.corpusFingerprint();
    if (stored !== null && stored !== corpusFingerprint) {
      this.log('warning', `the corpus of project "${project.summary().name}" changed since an earlier run (SHA-256 ${stored} before, ${corpusFingerprint} now)`);
    }
    if (stored !== corpusFingerprint) project.recordCorpusFingerprint(corpusFingerprint);
  }

  /** Records the engine worker's backend after a call that started it; `backend()` then starts nothing. */
  private async learnEngineBackend(): Promise<void> {
    if (this.engineBackendKnown) return;
    try {
      const backend = await this.engine.backend();
      this.backendInfo = { name: backend.name, skipped: [...backend.skipped] };
      this.engineBackendKnown = true;
    } catch (error) {
      this.log('warning', `the engine's backend could not be read: ${(error as Error).message}`);
    }
  }

  private log(level: 'info' | 'warning' | 'error', message: string): void {
    this.events.emit('log', { level, message, time: new Date().toISOString() });
  }
}

function noModel(project: Project): ServiceError {
  const summary = project.summary();
  const fix = summary.demo ? 'train the demo model first' : "train the project's model first";
  return new ServiceError('not-found', `project "${summary.name}" has no trained model yet; ${fix}, then inspect again`, { projectId: summary.id });
}

/** Returns the request's fields, or throws `invalid-request` when the request is not an object. */
function requestObject(request: unknown, operation: string): Record<string, unknown> {
  if (typeof request !== 'object' || request === null || Array.isArray(request)) {
    throw new ServiceError('invalid-request', `operation "${operation}" needs a request object, but received ${request === null ? 'null' : typeof request}`, {});
  }
  return request as Record<string, unknown>;
}

function sameFolder(first: string, second: string): boolean {
  const canonical = (folder: string) => (existsSync(folder) ? realpathSync(folder) : resolve(folder));
  return canonical(first) === canonical(second);
}
