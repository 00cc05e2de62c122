/**
 * The bridge between the sandboxed page and main: one named function per
 * operation of the API contract, and `subscribe` for its events, exposed as
 * `window.api`. It never exposes `ipcRenderer` itself, a generic send or
 * invoke, or the IPC event object.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import {
  CHANNELS,
  EVENT_CHANNELS,
  type ApiError,
  type EventName,
  type Events,
  type OperationName,
  type Operations,
  type Reply,
  type WorkbenchApi,
} from '../common/api';

/** Sends one operation to main and resolves to its response, or rejects with an `ApiError`. */
async function invoke<Name extends OperationName>(name: Name, request: Operations[Name]['request']): Promise<Operations[Name]['response']> {
  let reply: Reply<Operations[Name]['response']>;
  try {
    reply = (await ipcRenderer.invoke(CHANNELS[name], request)) as Reply<Operations[Name]['response']>;
  } catch (cause) {
    // ipcRenderer.invoke rejects when main has no handler for the channel or the request cannot be cloned.
    const error: ApiError = {
      code: 'unavailable',
      message: `operation "${name}" could not reach the main process: ${cause instanceof Error ? cause.message : String(cause)}`,
      details: { operation: name },
    };
    throw error;
  }

  if (reply.ok) return reply.value;
  throw reply.error;
}

/**
 * Calls `listener` with the payload of every event of one name. A name
 * outside the contract is rejected, so the page cannot listen on other channels.
 */
function subscribe<Name extends EventName>(name: Name, listener: (payload: Events[Name]) => void): () => void {
  if (!Object.hasOwn(EVENT_CHANNELS, name)) {
    throw new TypeError(`there is no event "${String(name)}"; use one of ${Object.keys(EVENT_CHANNELS).join(', ')}`);
  }
  if (typeof listener !== 'function') throw new TypeError(`the listener of event "${name}" must be a function`);
  const channel = EVENT_CHANNELS[name];
  const forward = (_event: IpcRendererEvent, payload: Events[Name]) => listener(payload);
  ipcRenderer.on(channel, forward);
  return () => {
    ipcRenderer.removeListener(channel, forward);
  };
}

const api: WorkbenchApi = {
  appVersion: () => invoke('appVersion', undefined),
  status: () => invoke('status', undefined),
  recentProjects: () => invoke('recentProjects', undefined),
  openDemoProject: () => invoke('openDemoProject', undefined),
  createProject: (request) => invoke('createProject', request),
  openProject: (request) => invoke('openProject', request),
  startTraining: (request) => invoke('startTraining', request),
  cancelJob: (request) => invoke('cancelJob', request),
  inspect: (request) => invoke('inspect', request),
  referenceExamples: () => invoke('referenceExamples', undefined),
  pinReferenceExample: (request) => invoke('pinReferenceExample', request),
  unpinReferenceExample: (request) => invoke('unpinReferenceExample', request),
  subscribe,
};

contextBridge.exposeInMainWorld('api', api);
