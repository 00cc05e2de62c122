/** Sends the built renderer's files, with the workbench's security headers, for `localist serve`. */
import { createReadStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { staticFileHeaders } from '../security-headers';
import { resolveStaticFile } from '../static-files';

function sendText(response: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  response.writeHead(status, {
    ...staticFileHeaders('text/plain; charset=utf-8'),
    'Content-Length': String(Buffer.byteLength(text)),
    ...headers,
  });
  response.end(text);
}

/** Sends the file that `path` (percent-encoded, without the query) names under `root`, or an error page. */
export async function serveStaticFile(
  request: IncomingMessage,
  response: ServerResponse,
  path: string,
  root: string | null,
): Promise<void> {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    sendText(response, 405, `${request.method} is not allowed here; pages take GET\n`, { Allow: 'GET, HEAD' });
    return;
  }
  if (root === null) {
    sendText(response, 404, 'The workbench page was not built; run "npm run build", then start "localist serve" again.\n');
    return;
  }

  const lookup = await resolveStaticFile(root, path);
  if (lookup.kind === 'invalid') {
    sendText(response, 400, `Invalid path: ${lookup.reason}.\n`);
    return;
  }
  if (lookup.kind === 'not-found') {
    sendText(response, 404, 'Not found.\n');
    return;
  }

  response.writeHead(200, staticFileHeaders(lookup.contentType));
  if (request.method === 'HEAD') {
    response.end();
    return;
  }
  const stream = createReadStream(lookup.path);
  stream.on('error', () => response.destroy());
  stream.pipe(response);
}
