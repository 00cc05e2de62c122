import { resolve } from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'electron-vite';
import type { Plugin } from 'vite';

const projectRoot = import.meta.dirname;

const STRICT_STYLE_SOURCE = "style-src 'self';";

/**
 * Adds 'unsafe-inline' to the page's style-src on the development server
 * only, because Vite injects imported CSS there as <style> elements. A
 * build keeps the strict policy of renderer/index.html.
 */
function allowInlineStylesOnDevServer(): Plugin {
  return {
    name: 'localist:allow-inline-styles-on-dev-server',
    apply: 'serve',
    transformIndexHtml(html) {
      if (!html.includes(STRICT_STYLE_SOURCE)) {
        throw new Error(
          `renderer/index.html has no "${STRICT_STYLE_SOURCE}" in its Content-Security-Policy; ` +
            'update allowInlineStylesOnDevServer in electron.vite.config.ts to match the new policy',
        );
      }
      return html.replace(STRICT_STYLE_SOURCE, "style-src 'self' 'unsafe-inline';");
    },
  };
}

export default defineConfig({
  main: {
    build: {
      outDir: resolve(projectRoot, 'out/main'),
      // Packages stay in node_modules and are loaded at run time, as Node loads them.
      externalizeDeps: true,
      rolldownOptions: {
        input: {
          index: resolve(projectRoot, 'main/index.ts'),
          // Engine worker threads, which main/engine/host.ts starts from
          // `./<name>.js` beside the module that starts them.
          worker: resolve(projectRoot, 'main/engine/worker.ts'),
          'session-worker': resolve(projectRoot, 'main/engine/session-worker.ts'),
        },
        // Entries and shared chunks sit side by side in out/main/, two
        // folders below the project root as main/engine/ is, so that the
        // engine's `new URL('./worker.js', import.meta.url)` and
        // `new URL('../../resources/...', import.meta.url)` resolve alike
        // in the sources and in the build.
        output: { entryFileNames: '[name].js', chunkFileNames: '[name]-[hash].js' },
      },
    },
  },
  preload: {
    build: {
      outDir: resolve(projectRoot, 'out/preload'),
      // A sandboxed preload can require only `electron` and a few Node
      // modules, so packages are bundled into the script.
      externalizeDeps: false,
      rolldownOptions: {
        input: { index: resolve(projectRoot, 'preload/index.ts') },
        // Electron's ESM guide lists ES-module preloads as unsupported in a
        // sandboxed renderer, so the preload is CommonJS even though
        // package.json declares ES modules.
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: resolve(projectRoot, 'renderer'),
    build: {
      outDir: resolve(projectRoot, 'out/renderer'),
      rolldownOptions: {
        input: { index: resolve(projectRoot, 'renderer/index.html') },
      },
    },
    plugins: [react(), allowInlineStylesOnDevServer()],
  },
});
