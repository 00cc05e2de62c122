/**
 * Creates the services behind the API contract with their inspector engine,
 * for both transports: the Electron window and `localist serve`.
 */
import { EngineSession } from './engine/engine-session';
import { createWorkbench, type Workbench } from './services';
import type { EventSink } from './services/types';

export interface WorkbenchServicesOptions {
  /** Folder of the app-level database and the demo project; the services' default when omitted. */
  dataDir?: string;
  events: EventSink;
  /** Receives the engine worker's lines: starts, stops and superseded requests. */
  log: (line: string) => void;
}

/** Returns the services; `dispose()` cancels training, closes the project and stops the engine worker. */
export function createWorkbenchServices(options: WorkbenchServicesOptions): Workbench {
  const engine = new EngineSession({ onLog: (line) => options.log(`engine: ${line}`) });
  return createWorkbench({ dataDir: options.dataDir, engine, events: options.events });
}
