/**
 * The body of `localist serve`: creates the services, opens the demo
 * project or the given one, starts the HTTP and WebSocket server, prints the
 * address to open, optionally trains the quick demo model, and stops
 * everything when its signal aborts.
 */
import { isApiError, type ApiError } from '../../common/api';
import type { TransportLog } from '../dispatch';
import { EventHub } from '../event-hub';
import type { ServiceHandlers } from '../services/types';
import { EventLines } from './event-lines';
import { startWorkbenchServer, type WorkbenchServer } from './workbench-server';

/** Services as serve needs them: the handlers, and a way to stop them. */
export type DisposableServices = ServiceHandlers & { dispose(): Promise<void> };

export interface ServeOptions {
  /** Absolute folder of the project to open, or null for the demo project. */
  project: string | null;
  port: number;
  /** Train the quick demo model at start when the project has no model. */
  trainQuick: boolean;
  /** Folder of the built renderer, or null when it was not built. */
  staticRoot: string | null;
  createServices: (events: EventHub) => DisposableServices;
  /** Receives the address to open, as the only line on stdout, where scripts read it. */
  printAddress: (line: string) => void;
  /** Receives progress, events and log lines, for stderr. */
  printInfo: (line: string) => void;
  /** Aborted on Ctrl-C: the server and the services stop, and `runServe` resolves. */
  signal: AbortSignal;
}

/** Outcome of `runServe`: stopped on request, or failed before serving with an ApiError. */
export type ServeResult = { kind: 'stopped' } | { kind: 'failed'; error: ApiError };

function toServeError(error: unknown, what: string): ApiError {
  if (isApiError(error)) return { code: error.code, message: `${what}: ${error.message}`, details: error.details };
  const errno = error as NodeJS.ErrnoException;
  if (errno.code === 'EADDRINUSE') {
    return { code: 'invalid-request', message: `${what}: the port is in use; choose another with --port, or --port 0 for a free one`, details: {} };
  }
  const reason = error instanceof Error ? error.message : String(error);
  return { code: 'internal', message: `${what}: ${reason}`, details: {} };
}

function waitForAbort(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

export async function runServe(options: ServeOptions): Promise<ServeResult> {
  const events = new EventHub();
  const lines = new EventLines(options.printInfo);
  events.subscribe((name, payload) => lines.handle(name, payload));
  const log: TransportLog = {
    warn: (line) => options.printInfo(`warning: ${line}`),
    error: (line, cause) => options.printInfo(`error: ${line}${cause instanceof Error ? `: ${cause.stack ?? cause.message}` : ''}`),
  };

  let services: DisposableServices;
  try {
    services = options.createServices(events);
  } catch (error) {
    return { kind: 'failed', error: toServeError(error, 'could not start the services') };
  }

  try {
    const project =
      options.project === null ? await services.openDemoProject() : await services.openProject({ folder: options.project });
    options.printInfo(`project: ${project.name} (${project.folder})`);
  } catch (error) {
    await services.dispose();
    const what = options.project === null ? 'could not open the demo project' : `could not open the project in "${options.project}"`;
    return { kind: 'failed', error: toServeError(error, what) };
  }

  if (options.staticRoot === null) {
    options.printInfo('warning: the workbench page was not built, so the address shows only a hint; run "npm run build" first');
  }

  let server: WorkbenchServer;
  try {
    server = await startWorkbenchServer({ handlers: services, events, staticRoot: options.staticRoot, port: options.port, log });
  } catch (error) {
    await services.dispose();
    return { kind: 'failed', error: toServeError(error, `could not listen on 127.0.0.1 port ${options.port}`) };
  }
  options.printInfo('Open the address below in a browser; press Ctrl-C to stop the workbench.');
  options.printAddress(server.pageUrl);

  if (options.trainQuick) {
    try {
      const status = await services.status();
      if (status.model === null) {
        const { jobId } = await services.startTraining({ preset: 'quick' });
        options.printInfo(`training the quick demo model (job ${jobId}), because the project has no model yet`);
      } else {
        options.printInfo(`--train-quick: the project already has a model (${status.model.checkpoint}), so nothing was trained`);
      }
    } catch (error) {
      options.printInfo(`error: ${toServeError(error, 'could not start training the quick demo model').message}`);
    }
  }

  await waitForAbort(options.signal);
  options.printInfo('stopping: closing connections, cancelling training and stopping the engine');
  await server.close();
  await services.dispose();
  return { kind: 'stopped' };
}
