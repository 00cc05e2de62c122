/**
 * The page's access to the services. In Electron the preload script
 * provides `window.api`. In a browser, opened from the address that
 * `localist serve` prints, the same `WorkbenchApi` runs on HTTP and a
 * WebSocket (common/http-client.ts), with the token from the address's
 * `#token=...` fragment.
 */
import type { WorkbenchApi } from '../../common/api';
import { createHttpApi, failingApi, type OpenEventSocket } from '../../common/http-client';
import { TOKEN_PARAMETER } from '../../common/http-transport';

/** sessionStorage key of the token, so that it survives a reload and a change of the fragment. */
const TOKEN_STORAGE_KEY = 'localist.serve-token';

/** Reads the token from a URL fragment such as "#token=abc"; null when it has none. */
export function tokenFromFragment(hash: string): string | null {
  const token = new URLSearchParams(hash.replace(/^#/, '')).get(TOKEN_PARAMETER);
  return token === null || token === '' ? null : token;
}

function storedToken(): string | null {
  try {
    return window.sessionStorage.getItem(TOKEN_STORAGE_KEY);
  } catch {
    // Storage can be disabled by the browser's privacy settings; then only the fragment carries the token.
    return null;
  }
}

function storeToken(token: string): void {
  try {
    window.sessionStorage.setItem(TOKEN_STORAGE_KEY, token);
  } catch {
    // As in storedToken: without storage a reload needs the fragment again.
  }
}

const openBrowserSocket: OpenEventSocket = (url, protocols, handlers) => {
  const socket = new WebSocket(url, protocols);
  socket.addEventListener('open', () => handlers.open());
  socket.addEventListener('message', (event) => handlers.message(String(event.data)));
  socket.addEventListener('close', () => handlers.close());
  return socket;
};

let cachedApi: WorkbenchApi | null = null;

/**
 * Returns the workbench API: `window.api` in Electron, else the client of
 * the `localist serve` that served this page. Without a token in the
 * fragment or in this tab's storage, every operation rejects with
 * `forbidden` and names the address to open.
 */
export function getApi(): WorkbenchApi {
  if (cachedApi) return cachedApi;
  if (window.api) {
    cachedApi = window.api;
    return cachedApi;
  }

  const token = tokenFromFragment(window.location.hash) ?? storedToken();
  if (token === null) {
    cachedApi = failingApi({
      code: 'forbidden',
      message: 'this page has no access token; open the whole address that "localist serve" or "npm start" printed, with its #token=... part',
      details: {},
    });
    return cachedApi;
  }
  storeToken(token);
  cachedApi = createHttpApi({
    origin: window.location.origin,
    token,
    fetch: (url, init) => window.fetch(url, init),
    openSocket: openBrowserSocket,
  });
  return cachedApi;
}
