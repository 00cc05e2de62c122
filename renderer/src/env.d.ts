/// <reference types="vite/client" />
import type { WorkbenchApi } from '../../common/api';

declare global {
  interface Window {
    /**
     * The API contract's operations. The Electron preload script defines it.
     * In a plain browser, where no bridge runs, it is undefined.
     */
    readonly api: WorkbenchApi | undefined;
    /**
     * Milliseconds from each dial input event to the end of the redraw of
     * every heatmap that shows the response to it, in order. The dial-latency benchmark and
     * the end-to-end tests read it.
     */
    __dialLatencies?: number[];
  }
}
