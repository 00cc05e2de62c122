import { useCallback, useState } from 'react';
import { useApi } from './api-context';
import { ErrorMessage } from './ErrorMessage';
import { ProjectView } from './shell/ProjectView';
import { StatusBar } from './shell/StatusBar';
import { useTheme } from './shell/theme';
import { ThemeToggle } from './shell/ThemeToggle';
import { useWorkbenchStatus } from './shell/use-workbench-status';
import { StartView } from './start/StartView';

/** The workbench window: a header, the start view or the open project, and the status bar. */
export function App() {
  const api = useApi();
  const { theme, toggleTheme } = useTheme(api.subscribe);
  const { status, error, refresh } = useWorkbenchStatus();
  const [choosingProject, setChoosingProject] = useState(false);

  const projectOpened = useCallback(() => {
    setChoosingProject(false);
    void refresh();
  }, [refresh]);

  const project = status?.project ?? null;
  const showProject = status !== null && project !== null && !choosingProject;

  return (
    <div className="app-shell">
      <header className="app-header">
        <h1>Localist Workbench</h1>
        <nav className="header-actions" aria-label="Workbench">
          {project !== null && (
            <button type="button" onClick={() => setChoosingProject(!choosingProject)}>
              {choosingProject ? 'Back to project' : 'Projects'}
            </button>
          )}
          <ThemeToggle theme={theme} onToggle={toggleTheme} />
        </nav>
      </header>

      <main className="app-main">
        {error && <ErrorMessage error={error} onDismiss={() => void refresh()} />}
        {status === null && !error && <p role="status">Connecting to the workbench services…</p>}
        {status !== null && showProject && <ProjectView status={{ ...status, project }} theme={theme} refresh={refresh} />}
        {status !== null && !showProject && <StartView onOpened={projectOpened} />}
      </main>

      <StatusBar status={status} />
    </div>
  );
}
