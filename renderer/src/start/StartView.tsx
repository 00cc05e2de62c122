import { useCallback, useEffect, useState } from 'react';
import type { ApiError, ProjectSummary } from '../../../common/api';
import { useApi } from '../api-context';
import { toApiError } from '../api-errors';
import { ErrorMessage } from '../ErrorMessage';
import { useAction } from '../use-action';
import { CreateProjectForm, type NewProject } from './CreateProjectForm';
import { OpenProjectForm } from './OpenProjectForm';
import { RecentProjects } from './RecentProjects';

/** View shown when no project is open: the demo project, recent projects, and open or create by folder. */
export function StartView({ onOpened }: { onOpened: (project: ProjectSummary) => void }) {
  const api = useApi();
  const [recent, setRecent] = useState<ProjectSummary[] | null>(null);
  const [recentError, setRecentError] = useState<ApiError | null>(null);

  useEffect(() => {
    let active = true;
    api.recentProjects().then(
      (projects) => {
        if (active) setRecent(projects);
      },
      (reason: unknown) => {
        if (!active) return;
        setRecent([]);
        setRecentError(toApiError(reason));
      },
    );
    return () => {
      active = false;
    };
  }, [api]);

  const open = useAction(
    useCallback(
      async (request: () => Promise<ProjectSummary>) => {
        onOpened(await request());
      },
      [onOpened],
    ),
  );
  const busy = open.pending;

  return (
    <div className="start-view">
      <section aria-labelledby="start-demo-heading" className="card">
        <h2 id="start-demo-heading">Demo project</h2>
        <p>
          The Brown corpus (500 texts in 15 genres) with ready-made blocks and rules. Open it to train a small model and
          turn the locality dial.
        </p>
        <button type="button" className="primary" disabled={busy} onClick={() => void open.run(() => api.openDemoProject())}>
          Open Demo Project
        </button>
      </section>

      {open.error && <ErrorMessage error={open.error} onDismiss={open.clearError} />}

      <section aria-labelledby="start-recent-heading" className="card">
        <h2 id="start-recent-heading">Recent projects</h2>
        {recentError && <ErrorMessage error={recentError} />}
        <RecentProjects
          projects={recent}
          disabled={busy}
          onOpen={(project) => void open.run(() => api.openProject({ folder: project.folder }))}
        />
      </section>

      <section aria-labelledby="start-open-heading" className="card">
        <h2 id="start-open-heading">Open a project folder</h2>
        <OpenProjectForm disabled={busy} onOpen={(folder) => void open.run(() => api.openProject({ folder }))} />
      </section>

      <section aria-labelledby="start-create-heading" className="card">
        <h2 id="start-create-heading">Create a project</h2>
        <CreateProjectForm disabled={busy} onCreate={(project: NewProject) => void open.run(() => api.createProject(project))} />
      </section>
    </div>
  );
}
