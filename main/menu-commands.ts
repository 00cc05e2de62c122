/**
 * Actions of the application menu's own items: native dialogs to choose a
 * project folder or a corpus, the project operations of the services, the
 * theme, About and the user guide.
 */
import { basename, join } from 'node:path';
import { app, dialog, nativeTheme, shell, type BrowserWindow } from 'electron';
import { isApiError, type ProjectSummary } from '../common/api';
import { MAX_NAME_LENGTH } from '../common/requests';
import type { MenuActions } from './menu';
import type { EventSink, ServiceHandlers } from './services/types';

export interface MenuCommandOptions {
  handlers: ServiceHandlers;
  events: EventSink;
  /** The workbench window, or null while none is open. */
  window: () => BrowserWindow | null;
  /** Called after the theme changes, so that the menu's checkbox follows. */
  onThemeChanged: () => void;
}

/** Path of the user guide: inside the app's resources when packaged, else in the checkout's docs/ folder. */
export function userGuidePath(): string {
  const base = app.isPackaged ? process.resourcesPath : app.getAppPath();
  return join(base, 'docs', 'user-guide.md');
}

function messageOf(error: unknown): string {
  if (isApiError(error)) return error.message;
  return error instanceof Error ? error.message : String(error);
}

export class MenuCommands implements MenuActions {
  constructor(private readonly options: MenuCommandOptions) {}

  newProject(): void {
    void this.run('Could not create the project', async (window) => {
      const saved = await dialog.showSaveDialog(window, {
        title: 'New Project',
        buttonLabel: 'Create Project',
        nameFieldLabel: 'Project folder',
        defaultPath: join(app.getPath('documents'), 'Localist project'),
        properties: ['createDirectory', 'showOverwriteConfirmation'],
      });
      if (saved.canceled || !saved.filePath) return;
      const corpus = await this.chooseCorpus(window);
      if (corpus === null) return;
      const name = basename(saved.filePath).slice(0, MAX_NAME_LENGTH);
      this.opened(await this.options.handlers.createProject({ folder: saved.filePath, name, corpus }));
    });
  }

  openProject(): void {
    void this.run('Could not open the project', async (window) => {
      const chosen = await dialog.showOpenDialog(window, {
        title: 'Open Project',
        buttonLabel: 'Open Project',
        properties: ['openDirectory'],
      });
      const folder = chosen.filePaths[0];
      if (chosen.canceled || folder === undefined) return;
      this.opened(await this.options.handlers.openProject({ folder }));
    });
  }

  openDemoProject(): void {
    void this.run('Could not open the demo project', async () => {
      this.opened(await this.options.handlers.openDemoProject());
    });
  }

  openRecentProject(project: ProjectSummary): void {
    void this.run(`Could not open the project "${project.name}"`, async () => {
      const opened = project.demo
        ? await this.options.handlers.openDemoProject()
        : await this.options.handlers.openProject({ folder: project.folder });
      this.opened(opened);
    });
  }

  /**
   * Switches Electron's theme, which sets the colours of native dialogs and
   * scroll bars, and sends the choice to the page as a `theme` event.
   */
  toggleDarkTheme(): void {
    const theme = nativeTheme.shouldUseDarkColors ? 'light' : 'dark';
    nativeTheme.themeSource = theme;
    this.options.events.emit('theme', { theme });
    this.options.onThemeChanged();
  }

  showAbout(): void {
    void this.run('Could not show About', async (window) => {
      const versions = process.versions as NodeJS.ProcessVersions & { electron?: string; chrome?: string };
      await dialog.showMessageBox(window, {
        type: 'info',
        title: 'About Localist Workbench',
        message: `Localist Workbench ${app.getVersion()}`,
        detail: [
          'Trains small transformer language models whose attention a reviewer can check.',
          '',
          `Electron ${versions.electron ?? 'unknown'}, Chromium ${versions.chrome ?? 'unknown'}, Node.js ${versions.node}`,
        ].join('\n'),
        buttons: ['OK'],
      });
    });
  }

  openUserGuide(): void {
    void this.run('Could not open the user guide', async () => {
      const path = userGuidePath();
      // shell.openPath resolves to an error message, or to an empty string on success.
      const failure = await shell.openPath(path);
      if (failure !== '') throw new Error(`${failure} (${path})`);
    });
  }

  /** Asks which corpus a new project trains on; null when the user cancels. */
  private async chooseCorpus(window: BrowserWindow): Promise<string | null> {
    const BROWN = 0;
    const FOLDER = 1;
    const answer = await dialog.showMessageBox(window, {
      type: 'question',
      title: 'New Project',
      message: 'Which text should the project train on?',
      detail: 'The Brown corpus (about one million words in 15 genres) ships with the workbench. A folder of .txt, .md or .text files trains on your own documents; its subfolder names become domain labels.',
      buttons: ['Brown Corpus', 'Choose Folder…', 'Cancel'],
      defaultId: BROWN,
      cancelId: 2,
    });
    if (answer.response === BROWN) return 'brown';
    if (answer.response !== FOLDER) return null;
    const chosen = await dialog.showOpenDialog(window, {
      title: 'Choose the Corpus Folder',
      buttonLabel: 'Use Folder',
      properties: ['openDirectory'],
    });
    return chosen.canceled ? null : (chosen.filePaths[0] ?? null);
  }

  /** Logs a project opened by a menu command; the services' `project` event updates the page. */
  private opened(project: ProjectSummary): void {
    console.info(`menu: opened the project "${project.name}" in ${project.folder}`);
  }

  /** Runs a menu command with the window as the parent of its dialogs, and shows its failure in an error box. */
  private async run(failureTitle: string, command: (window: BrowserWindow) => Promise<void>): Promise<void> {
    const window = this.options.window();
    if (window === null) return;
    try {
      await command(window);
    } catch (error) {
      const message = messageOf(error);
      console.error(`menu: ${failureTitle}: ${message}`);
      this.options.events.emit('log', { level: 'error', message: `${failureTitle}: ${message}`, time: new Date().toISOString() });
      dialog.showErrorBox(failureTitle, message);
    }
  }
}
