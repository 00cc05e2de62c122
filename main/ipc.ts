import { ipcMain } from 'electron';
import { CHANNELS, isApiError, type ApiError, type OperationName, type Operations, type Reply } from '../common/api';

type Request<Name extends OperationName> = Operations[Name]['request'];
type Response<Name extends OperationName> = Operations[Name]['response'];

/** Turns the raw value received over IPC into a typed request, or throws an `invalid-request` ApiError. */
export type RequestParser<Name extends OperationName> = (raw: unknown) => Request<Name>;

/** Parser for operations whose request type is `void`. */
export function expectNoRequest(raw: unknown): void {
  if (raw !== undefined) {
    const error: ApiError = {
      code: 'invalid-request',
      message: `this operation takes no request, but received a value of type ${typeof raw}`,
      details: {},
    };
    throw error;
  }
}

/**
 * Registers the IPC handler of one operation. The wrapper rejects messages
 * whose sender frame is not a workbench page, parses the request, and
 * returns every failure as an `ApiError` value, because Electron would keep
 * only the message of a thrown error.
 */
export function handleOperation<Name extends OperationName>(
  name: Name,
  options: {
    isTrustedSender: (senderUrl: string) => boolean;
    parseRequest: RequestParser<Name>;
    run: (request: Request<Name>) => Promise<Response<Name>>;
  },
): void {
  const channel = CHANNELS[name];

  ipcMain.handle(channel, async (event, raw: unknown): Promise<Reply<Response<Name>>> => {
    // senderFrame is null when the frame navigated away or was destroyed before the message arrived.
    const senderUrl = event.senderFrame?.url ?? '';
    if (!options.isTrustedSender(senderUrl)) {
      console.error(`IPC: rejected "${channel}" from untrusted sender ${JSON.stringify(senderUrl)}`);
      return {
        ok: false,
        error: {
          code: 'forbidden',
          message: `operation "${name}" was sent by a page that is not the workbench`,
          details: { senderUrl },
        },
      };
    }

    try {
      const request = options.parseRequest(raw);
      return { ok: true, value: await options.run(request) };
    } catch (error) {
      if (isApiError(error)) return { ok: false, error };
      console.error(`IPC: operation "${name}" failed`, error);
      return {
        ok: false,
        error: {
          code: 'internal',
          message: `operation "${name}" failed unexpectedly: ${error instanceof Error ? error.message : String(error)}`,
          details: {},
        },
      };
    }
  });
}
