/**
 * Electron main process: one window on the workbench page, and the IPC
 * handlers behind `window.api`.
 */
import { app, BrowserWindow, session } from 'electron';
import { join } from 'node:path';
import { expectNoRequest, handleOperation } from './ipc';
import { isRendererUrl, rendererEntryUrl } from './renderer-origin';

// electron-vite sets ELECTRON_RENDERER_URL when it runs the development
// server. A packaged app ignores it, so an environment variable cannot
// point the window at another site.
const entryUrl = rendererEntryUrl(
  app.isPackaged ? undefined : process.env.ELECTRON_RENDERER_URL,
  join(import.meta.dirname, '../renderer/index.html'),
);

function createWindow(): BrowserWindow {
  const window = new BrowserWindow({
    width: 1280,
    height: 800,
    show: false,
    title: 'Localist Workbench',
    webPreferences: {
      // The preload is built as CommonJS, because a sandboxed preload cannot be an ES module.
      preload: join(import.meta.dirname, '../preload/index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
    },
  });
  window.once('ready-to-show', () => window.show());
  window.loadURL(entryUrl).catch((error: unknown) => {
    console.error(`window: failed to load ${entryUrl}`, error);
  });
  return window;
}

// The workbench is a single page, so every navigation, new window and
// <webview> is blocked, whatever the page requests.
app.on('web-contents-created', (_event, contents) => {
  contents.on('will-navigate', (event, url) => {
    console.warn(`window: blocked navigation to ${url}`);
    event.preventDefault();
  });
  contents.setWindowOpenHandler(({ url }) => {
    console.warn(`window: blocked new window for ${url}`);
    return { action: 'deny' };
  });
  contents.on('will-attach-webview', (event) => {
    event.preventDefault();
  });
});

function registerHandlers(): void {
  const isTrustedSender = (senderUrl: string): boolean => isRendererUrl(senderUrl, entryUrl);

  handleOperation('appVersion', {
    isTrustedSender,
    parseRequest: expectNoRequest,
    run: () => Promise.resolve(app.getVersion()),
  });
}

app
  .whenReady()
  .then(() => {
    // The page needs no camera, microphone, notifications or other permission.
    session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
    registerHandlers();
    createWindow();

    app.on('activate', () => {
      if (BrowserWindow.getAllWindows().length === 0) createWindow();
    });
  })
  .catch((error: unknown) => {
    console.error('app: failed to start', error);
    app.exit(1);
  });

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});
