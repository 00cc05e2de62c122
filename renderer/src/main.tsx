import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import './styles.css';

const container = document.getElementById('root');
if (!container) {
  throw new Error('renderer/index.html has no element with id "root", so the workbench cannot start');
}

createRoot(container).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
