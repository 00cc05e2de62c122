/**
 * Maps a request path onto a file of the built renderer, for Electron's
 * `app:` protocol and for `localist serve`. Only regular files inside the
 * root folder are served: a path with a `..` or `.` segment (also when
 * percent-encoded), a backslash, a NUL character or a symbolic link that
 * leads out of the root is rejected.
 */
import { realpath, stat } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';

export type StaticLookup =
  | { kind: 'file'; path: string; contentType: string }
  | { kind: 'not-found' }
  | { kind: 'invalid'; reason: string };

/** Content types of the files that a Vite build of the renderer writes. */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
};

export function contentTypeOf(path: string): string {
  return CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

function isInside(folder: string, path: string): boolean {
  return path === folder || path.startsWith(folder.endsWith(sep) ? folder : `${folder}${sep}`);
}

/** Splits a percent-encoded URL path into decoded segments, or returns why it is rejected. */
export function pathSegments(urlPath: string): string[] | { reason: string } {
  if (!urlPath.startsWith('/')) return { reason: 'the path does not start with "/"' };
  const segments: string[] = [];
  for (const encoded of urlPath.slice(1).split('/')) {
    let segment: string;
    try {
      segment = decodeURIComponent(encoded);
    } catch {
      return { reason: `the path segment "${encoded}" is not valid percent-encoding` };
    }
    if (segment === '.' || segment === '..') return { reason: 'the path contains a "." or ".." segment' };
    if (segment.includes('/') || segment.includes('\\') || segment.includes('\0')) {
      return { reason: 'the path contains an encoded slash, a backslash or a NUL character' };
    }
    segments.push(segment);
  }
  return segments;
}

/**
 * Finds the file that `urlPath`, the percent-encoded path of a request
 * without its query, names under `root`. The path "/" names index.html.
 */
export async function resolveStaticFile(root: string, urlPath: string): Promise<StaticLookup> {
  const segments = pathSegments(urlPath === '/' ? '/index.html' : urlPath);
  if (!Array.isArray(segments)) return { kind: 'invalid', reason: segments.reason };

  const rootFolder = resolve(root);
  const candidate = resolve(rootFolder, ...segments);
  if (!isInside(rootFolder, candidate)) return { kind: 'invalid', reason: 'the path leads out of the served folder' };

  let realRoot: string;
  let realCandidate: string;
  try {
    realRoot = await realpath(rootFolder);
    realCandidate = await realpath(candidate);
  } catch {
    return { kind: 'not-found' };
  }
  if (!isInside(realRoot, realCandidate)) return { kind: 'invalid', reason: 'the path leads out of the served folder' };

  const info = await stat(realCandidate);
  if (!info.isFile()) return { kind: 'not-found' };
  return { kind: 'file', path: realCandidate, contentType: contentTypeOf(realCandidate) };
}
