/**
 * The bridge between the sandboxed page and main: one named function per
 * operation of the API contract, exposed as `window.api`. It never exposes
 * `ipcRenderer` itself or a generic send or invoke.
 */
import { contextBridge, ipcRenderer } from 'electron';
import { CHANNELS, type ApiError, type OperationName, type Operations, type Reply, type WorkbenchApi } from '../common/api';

/** Sends one operation to main and resolves to its response, or rejects with an `ApiError`. */
async function invoke<Name extends OperationName>(
  name: Name,
  request: Operations[Name]['request'],
): Promise<Operations[Name]['response']> {
  let reply: Reply<Operations[Name]['response']>;
  try {
    reply = (await ipcRenderer.invoke(CHANNELS[name], request)) as Reply<Operations[Name]['response']>;
  } catch (cause) {
    // ipcRenderer.invoke rejects when main has no handler for the channel or the request cannot be cloned.
    const error: ApiError = {
      code: 'unavailable',
      message: `operation "${name}" could not reach the main process: ${cause instanceof Error ? cause.message : String(cause)}`,
      details: {},
    };
    throw error;
  }

  if (reply.ok) return reply.value;
  throw reply.error;
}

// TODO: one function per operation and `subscribe` are being added with the Electron shell.
const api = {
  appVersion: () => invoke('appVersion', undefined),
} as unknown as WorkbenchApi;

contextBridge.exposeInMainWorld('api', api);
