/**
 * Debian's Chromium and the flags it needs here. Playwright's own browser
 * download (`npx playwright install`) is not used: `.ci/run` installs the
 * `chromium` package instead.
 */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Without the networking flags Chromium keeps trying to reach its update
 * and sync services, which this project's machines cannot reach. Chromium
 * refuses to start its sandbox as root, and .ci/run runs as root, hence
 * --no-sandbox.
 */
export const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];
