/**
 * The application menu as a template: File, Edit, View and Help, with the
 * usual shortcuts. Building the template needs no Electron at run time, so
 * tests check it in plain Node; main/index.ts turns it into the menu.
 */
import type { MenuItemConstructorOptions } from 'electron';
import type { ProjectSummary } from '../common/api';

/** Recent projects that the File menu lists. */
export const MENU_RECENT_PROJECTS = 10;

/** Actions of the menu's own items. Roles cover the rest: quit, clipboard, zoom and full screen. */
export interface MenuActions {
  newProject(): void;
  openProject(): void;
  openDemoProject(): void;
  openRecentProject(project: ProjectSummary): void;
  toggleDarkTheme(): void;
  showAbout(): void;
  openUserGuide(): void;
}

export interface MenuState {
  /** Most recent first, as the services return them. */
  recentProjects: readonly ProjectSummary[];
  /** Whether the app runs from a checkout, where Reload and the developer tools are offered. */
  development: boolean;
  darkTheme: boolean;
  platform: NodeJS.Platform;
}

function recentProjectItems(actions: MenuActions, projects: readonly ProjectSummary[]): MenuItemConstructorOptions[] {
  if (projects.length === 0) return [{ label: 'No Recent Projects', enabled: false }];
  return projects.slice(0, MENU_RECENT_PROJECTS).map((project) => ({
    label: `${project.name} (${project.folder})`,
    click: () => actions.openRecentProject(project),
  }));
}

export function buildMenuTemplate(actions: MenuActions, state: MenuState): MenuItemConstructorOptions[] {
  const mac = state.platform === 'darwin';

  const file: MenuItemConstructorOptions = {
    label: 'File',
    submenu: [
      { label: 'New Project…', accelerator: 'CmdOrCtrl+N', click: () => actions.newProject() },
      { label: 'Open Project…', accelerator: 'CmdOrCtrl+O', click: () => actions.openProject() },
      { label: 'Open Demo Project', click: () => actions.openDemoProject() },
      { label: 'Recent', submenu: recentProjectItems(actions, state.recentProjects) },
      { type: 'separator' },
      // On macOS, Quit lives in the application menu, and File ends with Close Window.
      mac ? { role: 'close' } : { role: 'quit' },
    ],
  };

  const edit: MenuItemConstructorOptions = {
    label: 'Edit',
    submenu: [
      { role: 'undo' },
      { role: 'redo' },
      { type: 'separator' },
      { role: 'cut' },
      { role: 'copy' },
      { role: 'paste' },
      { role: 'delete' },
      { type: 'separator' },
      { role: 'selectAll' },
    ],
  };

  const developmentItems: MenuItemConstructorOptions[] = state.development
    ? [{ role: 'reload' }, { role: 'toggleDevTools' }, { type: 'separator' }]
    : [];
  const view: MenuItemConstructorOptions = {
    label: 'View',
    submenu: [
      ...developmentItems,
      {
        label: 'Toggle Dark Theme',
        type: 'checkbox',
        checked: state.darkTheme,
        accelerator: 'CmdOrCtrl+Shift+D',
        click: () => actions.toggleDarkTheme(),
      },
      { type: 'separator' },
      { role: 'resetZoom' },
      { role: 'zoomIn' },
      { role: 'zoomOut' },
      { type: 'separator' },
      { role: 'togglefullscreen' },
    ],
  };

  const help: MenuItemConstructorOptions = {
    role: 'help',
    submenu: [
      { label: 'User Guide', accelerator: 'F1', click: () => actions.openUserGuide() },
      { type: 'separator' },
      { label: 'About Localist Workbench', click: () => actions.showAbout() },
    ],
  };

  const template = [file, edit, view, help];
  return mac ? [{ role: 'appMenu' }, ...template] : template;
}
