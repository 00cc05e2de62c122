import { resolve } from 'node:path';

/** Environment variable with the address of the server under test, token included. */
export const SERVER_URL_VARIABLE = 'LOCALIST_E2E_URL';

/** Folder of the screenshots and the server log that a run leaves behind. */
export const ARTIFACTS_DIR = resolve(import.meta.dirname, 'artifacts');

/** Folder of the user guide's images, refreshed from a run when UPDATE_GUIDE_IMAGES=1. */
export const GUIDE_IMAGES_DIR = resolve(import.meta.dirname, '../docs/images');
