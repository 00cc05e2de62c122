/**
 * Where the workbench page comes from, and the check that a URL is that
 * page. A build loads the page from the `app:` protocol that
 * main/app-protocol.ts serves; development loads it from electron-vite's server.
 */

/** Scheme and host of the built page, so that its URL is app://workbench/index.html. */
export const APP_SCHEME = 'app';
export const APP_HOST = 'workbench';

/** Returns the URL of the workbench page: the development server's URL when one is given, or else the built page in the `app:` protocol. */
export function rendererEntryUrl(devServerUrl: string | undefined): string {
  if (devServerUrl) return new URL(devServerUrl).href;
  return `${APP_SCHEME}://${APP_HOST}/index.html`;
}

/**
 * Checks whether `candidate` is a page of the workbench itself. A page served
 * over HTTP must have the entry's origin. A page of another scheme, such as
 * `app:`, must have the entry's scheme and host, because the URL standard
 * gives such URLs no origin to compare. A file page must be the entry file
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
  if (entry.protocol === 'http:' || entry.protocol === 'https:') return parsed.origin === entry.origin;
  if (parsed.protocol !== entry.protocol || parsed.host !== entry.host) return false;
  if (entry.protocol === 'file:') return parsed.pathname === entry.pathname;
  return true;
}
