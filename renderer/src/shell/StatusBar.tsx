import type { TrainingState, WorkbenchStatus } from '../../../common/api';

function describeTraining(training: TrainingState): string {
  switch (training.state) {
    case 'idle':
      return 'idle';
    case 'running':
      return `running, ${Math.floor(training.share * 100)}% (step ${training.step} of ${training.steps})`;
    case 'finished':
      return 'finished';
    case 'failed':
      return `failed: ${training.error.message}`;
    case 'cancelled':
      return 'cancelled';
  }
}

/** Bottom bar: the engine's backend, the open project, its model and its training state. */
export function StatusBar({ status }: { status: WorkbenchStatus | null }) {
  if (status === null) {
    return (
      <footer className="status-bar" aria-label="Status">
        <span>Connecting to the workbench services…</span>
      </footer>
    );
  }

  const { backend, backendSkipped, project, model, training } = status;
  const backendTitle = backendSkipped.length > 0 ? `Skipped backends:\n${backendSkipped.join('\n')}` : undefined;
  return (
    <footer className="status-bar" aria-label="Status" data-testid="status-bar">
      <span title={backendTitle} data-testid="status-backend">
        Backend: {backend ?? 'engine not started'}
      </span>
      <span data-testid="status-project">Project: {project ? project.name : 'none open'}</span>
      <span data-testid="status-model">
        Model:{' '}
        {model
          ? `${model.steps} steps, ${model.layers} layers × ${model.heads} heads, trained on ${model.backend}`
          : 'none'}
      </span>
      <span data-testid="status-training">Training: {describeTraining(training)}</span>
      <span className="status-version">Version {status.version}</span>
    </footer>
  );
}
