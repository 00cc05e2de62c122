/**
 * Entry point of the services for the transports (Electron IPC and
 * `localist serve`): a factory for the `Workbench` and the types it needs.
 */
import { APP_VERSION } from '../engine/host';
import { Workbench, type WorkbenchOptions } from './workbench';

export type { EventSink, InspectEngine, ServiceHandlers } from './types';
export { Workbench, type WorkbenchOptions } from './workbench';
export { defaultDataDir, DATA_DIR_VARIABLE, ProjectStore } from './project-store';
export { ServiceError } from './errors';
export { TRAINING_PRESETS, type TrainingPreset } from './training';

export type CreateWorkbenchOptions = Omit<WorkbenchOptions, 'appVersion'> & {
  /** Version string that `appVersion` returns; defaults to the engine's `APP_VERSION`, which matches package.json. */
  appVersion?: string;
};

/**
 * Creates the services behind the API contract. The data folder is created
 * when missing; the engine starts only when an operation needs it.
 */
export function createWorkbench(options: CreateWorkbenchOptions): Workbench {
  return new Workbench({ ...options, appVersion: options.appVersion ?? APP_VERSION });
}
