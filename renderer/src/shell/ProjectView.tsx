import { useCallback } from 'react';
import type { WorkbenchStatus } from '../../../common/api';
import { Inspector } from '../inspector/Inspector';
import { RetrainPanel } from '../training/RetrainPanel';
import { TrainingPanel } from '../training/TrainingPanel';
import type { Theme } from './theme';

type OpenStatus = WorkbenchStatus & { project: NonNullable<WorkbenchStatus['project']> };

/**
 * View of the open project: the training panel until it has a model or
 * while a run trains, the inspector once it has one, and under it a
 * collapsed panel to train again.
 */
export function ProjectView({ status, theme, refresh }: { status: OpenStatus; theme: Theme; refresh: () => Promise<void> }) {
  // Until the engine has run, the status has no backend, so the inspector's first response reads it again.
  const needsBackend = status.backend === null;
  const onFirstResult = useCallback(() => {
    if (needsBackend) void refresh();
  }, [needsBackend, refresh]);
  const { project, model, training } = status;
  return (
    <div className="project-view" data-testid="project-view">
      <h2 className="project-title">
        {project.name}
        <span className="project-folder">{project.folder}</span>
      </h2>
      {(model === null || training.state === 'running') && <TrainingPanel training={training} />}
      {model !== null && <Inspector key={model.id} model={model} theme={theme} onFirstResult={onFirstResult} />}
      {model !== null && training.state !== 'running' && <RetrainPanel />}
    </div>
  );
}
