import { pathToFileURL } from 'node:url';

/**
 * Returns the URL of the workbench page: the development server's URL when
 * one is given, or else the file URL of the built `index.html`.
 */
export function rendererEntryUrl(devServerUrl: string | undefined, builtIndexPath: string): string {
  if (devServerUrl) return new URL(devServerUrl).href;
  return pathToFileURL(builtIndexPath).href;
}

/**
 * Checks whether `candidate` is a page of the workbench itself. A page served
 * over HTTP must have the entry's origin. A file page must be the entry file
 * itself, because every file URL has the same opaque origin.
 */
export function isRendererUrl(candidate: string, entryUrl: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(candidate);
  } catch {
    return false;
  }

  const entry = new URL(entryUrl);
  if (entry.protocol === 'file:') {
    return parsed.protocol === 'file:' && parsed.host === entry.host && parsed.pathname === entry.pathname;
  }
  return parsed.origin === entry.origin;
}
