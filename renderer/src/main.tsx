import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { getApi } from './api-client';
import { ApiProvider } from './api-context';
import { App } from './App';
import { recordedDialLatencies } from './inspector/dial-latency';
import { applyTheme, initialTheme } from './shell/theme';
import './styles.css';

const container = document.getElementById('root');
if (!container) {
  throw new Error('renderer/index.html has no element with id "root", so the workbench cannot start');
}

// Set before the first render, so that the page never flashes in the other theme.
applyTheme(initialTheme());
recordedDialLatencies();

createRoot(container).render(
  <StrictMode>
    <ApiProvider api={getApi()}>
      <App />
    </ApiProvider>
  </StrictMode>,
);
