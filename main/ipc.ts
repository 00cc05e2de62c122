/**
 * The IPC handlers behind `window.api`. `replyToMessage` makes the whole
 * decision (sender check, request parsing, error mapping) from plain
 * values, so tests run it without Electron. `handleOperation` only
 * registers it with `ipcMain`.
 */
import { ipcMain } from 'electron';
import { CHANNELS, OPERATION_NAMES, type OperationName, type Operations, type Reply } from '../common/api';
import { CONSOLE_LOG, dispatchToService, type TransportLog } from './dispatch';
import type { ServiceHandlers } from './services/types';

type Response<Name extends OperationName> = Operations[Name]['response'];

export interface IpcOptions {
  /** Whether a message from a frame at this URL comes from the workbench's own page. */
  isTrustedSender: (senderUrl: string) => boolean;
  handlers: ServiceHandlers;
  log?: TransportLog;
}

/**
 * Returns the reply to one IPC message. A message whose sender frame is not
 * a workbench page is rejected with `forbidden` before its payload is read.
 * `senderUrl` is the empty string when the frame is gone.
 */
export async function replyToMessage<Name extends OperationName>(
  operation: Name,
  senderUrl: string,
  raw: unknown,
  options: IpcOptions,
): Promise<Reply<Response<Name>>> {
  const log = options.log ?? CONSOLE_LOG;
  if (!options.isTrustedSender(senderUrl)) {
    log.warn(`IPC: rejected operation "${operation}" from untrusted sender ${JSON.stringify(senderUrl)}`);
    return {
      ok: false,
      error: {
        code: 'forbidden',
        message: `operation "${operation}" was sent by a page that is not the workbench (${senderUrl || 'no URL'}), so it was rejected`,
        details: { operation, senderUrl },
      },
    };
  }
  return dispatchToService(operation, raw, options.handlers, log);
}

/**
 * Registers the IPC handler of one operation. Failures travel as `Reply`
 * values instead of thrown errors, because Electron keeps only the message
 * of an error thrown in a handler.
 */
export function handleOperation(operation: OperationName, options: IpcOptions): void {
  ipcMain.handle(CHANNELS[operation], (event, raw: unknown) =>
    // senderFrame is null when the frame navigated away or was destroyed before the message arrived.
    replyToMessage(operation, event.senderFrame?.url ?? '', raw, options),
  );
}

/** Registers the handler of every operation of the contract. */
export function registerServiceHandlers(options: IpcOptions): void {
  for (const operation of OPERATION_NAMES) handleOperation(operation, options);
}

/** Removes every handler that `registerServiceHandlers` added, before the services are disposed. */
export function removeServiceHandlers(): void {
  for (const operation of OPERATION_NAMES) ipcMain.removeHandler(CHANNELS[operation]);
}
