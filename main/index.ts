/**
 * Electron main process: the workbench window, its menu, the IPC handlers
 * behind `window.api`, and the services with their engine worker, which
 * are disposed before the app quits.
 */
import { join } from 'node:path';
import { app, BrowserWindow, dialog, Menu, nativeTheme, session } from 'electron';
import { EVENT_CHANNELS, isApiError, type OperationName } from '../common/api';
import { registerAppScheme, serveAppProtocol } from './app-protocol';
import { EventHub } from './event-hub';
import { registerServiceHandlers, removeServiceHandlers } from './ipc';
import { buildMenuTemplate } from './menu';
import { MenuCommands } from './menu-commands';
import { isRendererUrl, rendererEntryUrl } from './renderer-origin';
import type { ServiceHandlers } from './services/types';
import { guardWebContents, secureSession } from './window-security';
import { createWorkbenchServices } from './workbench-services';

// electron-vite sets ELECTRON_RENDERER_URL when it runs the development
// server. A packaged app ignores it, so an environment variable cannot
// point the window at another site.
const devServerUrl = app.isPackaged ? null : process.env.ELECTRON_RENDERER_URL || null;
const entryUrl = rendererEntryUrl(devServerUrl ?? undefined);
const isTrustedSender = (senderUrl: string): boolean => isRendererUrl(senderUrl, entryUrl);

registerAppScheme();
guardWebContents(app);

let mainWindow: BrowserWindow | null = null;

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
      webSecurity: true,
      webviewTag: false,
    },
  });
  window.once('ready-to-show', () => window.show());
  window.on('closed', () => {
    if (mainWindow === window) mainWindow = null;
  });
  window.loadURL(entryUrl).catch((error: unknown) => {
    console.error(`window: failed to load ${entryUrl}`, error);
  });
  mainWindow = window;
  return window;
}

/** Sends each event to every window that shows the workbench page. */
function forwardEvents(events: EventHub): void {
  events.subscribe((name, payload) => {
    for (const window of BrowserWindow.getAllWindows()) {
      const contents = window.webContents;
      if (contents.isDestroyed() || !isRendererUrl(contents.getURL(), entryUrl)) continue;
      contents.send(EVENT_CHANNELS[name], payload);
    }
  });
}

const PROJECT_OPERATIONS: readonly OperationName[] = ['openDemoProject', 'openProject', 'createProject'];

/** Wraps the handlers so that `onProjectOpened` runs after any operation that opens a project succeeds. */
function withProjectHook(handlers: ServiceHandlers, onProjectOpened: () => void): ServiceHandlers {
  const wrapped: Record<string, unknown> = { ...handlers };
  for (const operation of PROJECT_OPERATIONS) {
    const service = handlers[operation] as (request: unknown) => Promise<unknown>;
    wrapped[operation] = async (request: unknown) => {
      const result = await service(request);
      onProjectOpened();
      return result;
    };
  }
  return wrapped as ServiceHandlers;
}

async function start(): Promise<void> {
  secureSession(session.defaultSession, devServerUrl);
  if (devServerUrl === null) serveAppProtocol(join(import.meta.dirname, '../renderer'));

  const events = new EventHub();
  // The data folder is the services' default, the one `localist serve` uses
  // too, so that the desktop app and the browser mode share their projects.
  const services = createWorkbenchServices({ events, log: (line) => console.info(line) });

  const commands = new MenuCommands({
    handlers: services,
    events,
    window: () => mainWindow,
    onThemeChanged: () => void refreshMenu(),
  });
  async function refreshMenu(): Promise<void> {
    let recentProjects: Awaited<ReturnType<ServiceHandlers['recentProjects']>> = [];
    try {
      recentProjects = await services.recentProjects();
    } catch (error) {
      console.error('menu: could not read the recent projects', error);
    }
    const template = buildMenuTemplate(commands, {
      recentProjects,
      development: !app.isPackaged,
      darkTheme: nativeTheme.shouldUseDarkColors,
      platform: process.platform,
    });
    Menu.setApplicationMenu(Menu.buildFromTemplate(template));
  }

  registerServiceHandlers({ isTrustedSender, handlers: withProjectHook(services, () => void refreshMenu()) });
  forwardEvents(events);
  await refreshMenu();
  createWindow();

  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow();
  });

  // Quitting waits for the services: a running training job saves its
  // checkpoint, and the project database and the engine worker close.
  let disposed = false;
  let disposing = false;
  app.on('before-quit', (event) => {
    if (disposed) return;
    event.preventDefault();
    if (disposing) return;
    disposing = true;
    removeServiceHandlers();
    services
      .dispose()
      .catch((error: unknown) => console.error('app: the services failed to stop cleanly', error))
      .finally(() => {
        disposed = true;
        app.quit();
      });
  });
}

if (!app.requestSingleInstanceLock()) {
  // Another instance is running and receives 'second-instance'; this one has nothing to do.
  app.quit();
} else {
  app.on('second-instance', () => {
    if (mainWindow === null) return;
    if (mainWindow.isMinimized()) mainWindow.restore();
    mainWindow.focus();
  });

  app
    .whenReady()
    .then(start)
    .catch((error: unknown) => {
      console.error('app: failed to start', error);
      const message = isApiError(error) || error instanceof Error ? error.message : String(error);
      dialog.showErrorBox('Localist Workbench could not start', message);
      app.exit(1);
    });

  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
}
