/**
 * The `app:` protocol, which serves the built renderer to the window. Its
 * pages get the Content-Security-Policy as a response header, which a
 * file:// page cannot have. They also get a host of their own, which the IPC
 * sender check compares.
 */
import { readFile } from 'node:fs/promises';
import { protocol } from 'electron';
import { APP_HOST, APP_SCHEME } from './renderer-origin';
import { staticFileHeaders } from './security-headers';
import { resolveStaticFile } from './static-files';

/**
 * Declares `app:` a standard, secure scheme, so that its pages have an
 * origin, may load ES modules, and count as a secure context. Electron
 * accepts this only before the app is ready.
 */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([
    { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, codeCache: true } },
  ]);
}

function textResponse(status: number, text: string): Response {
  return new Response(text, { status, headers: staticFileHeaders('text/plain; charset=utf-8') });
}

/** Returns the response to one request of the `app:` protocol, from the files under `root`. */
export async function appProtocolResponse(method: string, url: string, root: string): Promise<Response> {
  const parsed = new URL(url);
  if (parsed.host !== APP_HOST) return textResponse(404, `Unknown host "${parsed.host}".\n`);
  if (method !== 'GET' && method !== 'HEAD') return textResponse(405, `${method} is not allowed here.\n`);

  const lookup = await resolveStaticFile(root, parsed.pathname);
  if (lookup.kind === 'invalid') return textResponse(400, `Invalid path: ${lookup.reason}.\n`);
  if (lookup.kind === 'not-found') return textResponse(404, 'Not found.\n');
  const body = method === 'HEAD' ? null : await readFile(lookup.path);
  return new Response(body, { status: 200, headers: staticFileHeaders(lookup.contentType) });
}

/** Serves `app://workbench/...` from `root`, the folder of the built renderer. Call once the app is ready. */
export function serveAppProtocol(root: string): void {
  protocol.handle(APP_SCHEME, (request) => appProtocolResponse(request.method, request.url, root));
}
