/**
 * Guards of the window's web contents and session: no navigation, no new
 * windows, no <webview>, no permission, and no request to another site.
 */
import type { App, Session } from 'electron';

/**
 * Decides whether the page may load `url`. The built page loads only
 * `app:` URLs, plus `data:` and `blob:` URLs that it made itself. In
 * development, the electron-vite server and its hot-reload WebSocket are
 * allowed too. The developer tools load from `devtools:`.
 */
export function isAllowedRequestUrl(url: string, devServerUrl: string | null): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (['app:', 'data:', 'blob:', 'devtools:'].includes(parsed.protocol)) return true;
  if (devServerUrl === null) return false;
  const server = new URL(devServerUrl);
  const web = parsed.protocol === 'http:' || parsed.protocol === 'https:';
  const socket = parsed.protocol === 'ws:' || parsed.protocol === 'wss:';
  return (web || socket) && parsed.host === server.host;
}

/**
 * Blocks every navigation, new window and <webview> of every web contents,
 * whatever the page requests, because the workbench is a single page.
 * In-page navigation (a change of the URL fragment) fires no `will-navigate`
 * and stays allowed.
 */
export function guardWebContents(app: App): void {
  app.on('web-contents-created', (_event, contents) => {
    contents.on('will-navigate', (event, url) => {
      console.warn(`window: blocked navigation to ${url}`);
      event.preventDefault();
    });
    contents.on('will-redirect', (event, url) => {
      console.warn(`window: blocked redirect to ${url}`);
      event.preventDefault();
    });
    contents.setWindowOpenHandler(({ url }) => {
      console.warn(`window: blocked new window for ${url}`);
      return { action: 'deny' };
    });
    contents.on('will-attach-webview', (event) => {
      console.warn('window: blocked a <webview>');
      event.preventDefault();
    });
  });
}

/** Denies every permission and cancels every request that `isAllowedRequestUrl` rejects. */
export function secureSession(session: Session, devServerUrl: string | null): void {
  // The page needs no camera, microphone, notifications, clipboard reading or any other permission.
  session.setPermissionRequestHandler((_contents, permission, callback) => {
    console.warn(`window: denied the permission "${permission}"`);
    callback(false);
  });
  session.setPermissionCheckHandler(() => false);
  session.webRequest.onBeforeRequest((details, callback) => {
    const allowed = isAllowedRequestUrl(details.url, devServerUrl);
    if (!allowed) console.warn(`window: blocked a request to ${details.url}`);
    callback({ cancel: !allowed });
  });
}
