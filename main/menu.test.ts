import { describe, expect, it, vi } from 'vitest';
import type { MenuItemConstructorOptions } from 'electron';
import type { ProjectSummary } from '../common/api';
import { buildMenuTemplate, MENU_RECENT_PROJECTS, type MenuActions, type MenuState } from './menu';

function fakeActions() {
  return {
    newProject: vi.fn<() => void>(),
    openProject: vi.fn<() => void>(),
    openDemoProject: vi.fn<() => void>(),
    openRecentProject: vi.fn<(project: ProjectSummary) => void>(),
    toggleDarkTheme: vi.fn<() => void>(),
    showAbout: vi.fn<() => void>(),
    openUserGuide: vi.fn<() => void>(),
  } satisfies MenuActions;
}

function project(index: number): ProjectSummary {
  return {
    id: `project-${index}`,
    name: `Project ${index}`,
    folder: `/srv/projects/${index}`,
    demo: false,
    corpus: 'brown',
    openedAt: '2025-01-01T00:00:00.000Z',
  };
}

const LINUX: MenuState = { recentProjects: [], development: false, darkTheme: false, platform: 'linux' };

function submenuOf(template: MenuItemConstructorOptions[], label: string): MenuItemConstructorOptions[] {
  const menu = template.find((item) => item.label === label || (label === 'Help' && item.role === 'help'));
  if (!menu || !Array.isArray(menu.submenu)) throw new Error(`no menu "${label}" in the template`);
  return menu.submenu;
}

function labels(items: MenuItemConstructorOptions[]): string[] {
  return items.filter((item) => item.type !== 'separator').map((item) => item.label ?? `role:${item.role}`);
}

function click(item: MenuItemConstructorOptions | undefined): void {
  if (!item?.click) throw new Error(`menu item ${item?.label ?? 'missing'} has no click handler`);
  (item.click as () => void)();
}

describe('buildMenuTemplate', () => {
  it('has File, Edit, View and Help', () => {
    const template = buildMenuTemplate(fakeActions(), LINUX);
    expect(template.map((item) => item.label ?? item.role)).toEqual(['File', 'Edit', 'View', 'help']);
  });

  it('lists the File items', () => {
    const file = submenuOf(buildMenuTemplate(fakeActions(), LINUX), 'File');
    expect(labels(file)).toEqual(['New Project…', 'Open Project…', 'Open Demo Project', 'Recent', 'role:quit']);
  });

  it('calls the File actions', () => {
    const actions = fakeActions();
    const file = submenuOf(buildMenuTemplate(actions, LINUX), 'File');
    click(file.find((item) => item.label === 'New Project…'));
    click(file.find((item) => item.label === 'Open Project…'));
    click(file.find((item) => item.label === 'Open Demo Project'));
    expect(actions.newProject).toHaveBeenCalledOnce();
    expect(actions.openProject).toHaveBeenCalledOnce();
    expect(actions.openDemoProject).toHaveBeenCalledOnce();
  });

  it('lists recent projects and opens the chosen one', () => {
    const actions = fakeActions();
    const projects = Array.from({ length: MENU_RECENT_PROJECTS + 3 }, (_, index) => project(index));
    const file = submenuOf(buildMenuTemplate(actions, { ...LINUX, recentProjects: projects }), 'File');
    const recent = file.find((item) => item.label === 'Recent')?.submenu as MenuItemConstructorOptions[];
    expect(recent).toHaveLength(MENU_RECENT_PROJECTS);
    expect(recent[1].label).toBe('Project 1 (/srv/projects/1)');
    click(recent[1]);
    expect(actions.openRecentProject).toHaveBeenCalledWith(projects[1]);
  });

  it('disables Recent without projects', () => {
    const file = submenuOf(buildMenuTemplate(fakeActions(), LINUX), 'File');
    const recent = file.find((item) => item.label === 'Recent')?.submenu as MenuItemConstructorOptions[];
    expect(recent).toEqual([{ label: 'No Recent Projects', enabled: false }]);
  });

  it('gives Edit the standard roles', () => {
    const edit = submenuOf(buildMenuTemplate(fakeActions(), LINUX), 'Edit');
    expect(edit.map((item) => item.role).filter(Boolean)).toEqual(['undo', 'redo', 'cut', 'copy', 'paste', 'delete', 'selectAll']);
  });

  it('offers Reload only in development', () => {
    const packaged = submenuOf(buildMenuTemplate(fakeActions(), LINUX), 'View');
    const development = submenuOf(buildMenuTemplate(fakeActions(), { ...LINUX, development: true }), 'View');
    expect(packaged.some((item) => item.role === 'reload' || item.role === 'toggleDevTools')).toBe(false);
    expect(development.some((item) => item.role === 'reload')).toBe(true);
  });

  it('lists the View items', () => {
    const view = submenuOf(buildMenuTemplate(fakeActions(), LINUX), 'View');
    expect(labels(view)).toEqual(['Toggle Dark Theme', 'role:resetZoom', 'role:zoomIn', 'role:zoomOut', 'role:togglefullscreen']);
  });

  it('shows the theme as a checkbox', () => {
    const actions = fakeActions();
    const view = submenuOf(buildMenuTemplate(actions, { ...LINUX, darkTheme: true }), 'View');
    const toggle = view.find((item) => item.label === 'Toggle Dark Theme');
    expect(toggle?.checked).toBe(true);
    click(toggle);
    expect(actions.toggleDarkTheme).toHaveBeenCalledOnce();
  });

  it('calls the Help actions', () => {
    const actions = fakeActions();
    const help = submenuOf(buildMenuTemplate(actions, LINUX), 'Help');
    expect(labels(help)).toEqual(['User Guide', 'About Localist Workbench']);
    click(help.find((item) => item.label === 'User Guide'));
    click(help.find((item) => item.label === 'About Localist Workbench'));
    expect(actions.openUserGuide).toHaveBeenCalledOnce();
    expect(actions.showAbout).toHaveBeenCalledOnce();
  });

  it('adds the application menu on macOS', () => {
    const template = buildMenuTemplate(fakeActions(), { ...LINUX, platform: 'darwin' });
    expect(template[0].role).toBe('appMenu');
    expect(labels(submenuOf(template, 'File')).at(-1)).toBe('role:close');
  });

  it('gives every menu shortcut once', () => {
    const accelerators: string[] = [];
    const collect = (items: MenuItemConstructorOptions[]) => {
      for (const item of items) {
        if (item.accelerator) accelerators.push(String(item.accelerator));
        if (Array.isArray(item.submenu)) collect(item.submenu);
      }
    };
    collect(buildMenuTemplate(fakeActions(), { ...LINUX, development: true }));
    expect(new Set(accelerators).size).toBe(accelerators.length);
  });
});
