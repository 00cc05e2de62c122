/// <reference types="vite/client" />
import type { WorkbenchApi } from '../../common/api';

declare global {
  interface Window {
    /**
     * The API contract's operations. The Electron preload script defines it.
     * In a plain browser, where no bridge runs, it is undefined.
     */
    readonly api: WorkbenchApi | undefined;
  }
}
