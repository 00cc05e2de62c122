/**
 * The embedded demo project: the Brown corpus with the demo blocks and rules
 * from resources/demo/, created in the data folder on first use. It has no
 * model until it is trained.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEMO_BLOCKS_PATH, DEMO_RULES_PATH } from '../engine/data';
import { ServiceError } from './errors';
import { PROJECT_DATABASE_FILE, type Project } from './project';
import type { ProjectStore } from './project-store';

/** Folder of the demo project inside the data folder. */
export const DEMO_PROJECT_FOLDER = 'demo-project';

export const DEMO_PROJECT_NAME = 'Brown corpus demo';

function readDemoFile(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as unknown;
  } catch (error) {
    throw new ServiceError(
      'internal',
      `demo file "${path}" cannot be read (${(error as Error).message}); the installation is incomplete, so reinstall the workbench`,
      { path },
    );
  }
}

/**
 * Opens the demo project, creating it first when its folder contains no
 * project. Calling it again opens the same project, with its blocks and
 * rules versions unchanged.
 */
export function openDemoProject(store: ProjectStore): Project {
  const folder = join(store.dataDir, DEMO_PROJECT_FOLDER);
  if (existsSync(join(folder, PROJECT_DATABASE_FILE))) return store.openProject(folder);
  return store.createProject({
    folder,
    name: DEMO_PROJECT_NAME,
    corpus: 'brown',
    demo: true,
    blocks: readDemoFile(DEMO_BLOCKS_PATH),
    rules: readDemoFile(DEMO_RULES_PATH),
  });
}
