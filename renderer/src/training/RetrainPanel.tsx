import { useCallback } from 'react';
import { useApi } from '../api-context';
import { ErrorMessage } from '../ErrorMessage';
import { useAction } from '../use-action';

/**
 * Collapsed panel under the inspector of a project that has a model: trains
 * a new one with the demo or the quick preset. Progress then shows in the
 * training panel above the inspector.
 */
export function RetrainPanel() {
  const api = useApi();
  const start = useAction(useCallback((preset: 'demo' | 'quick') => api.startTraining({ preset }), [api]));

  return (
    <details className="card retrain-panel" data-testid="retrain-panel">
      <summary>Train a new model</summary>
      <p>
        A new run starts from scratch on the project’s corpus. Its first checkpoint replaces the model in the inspector.
        The demo preset takes about 8 minutes on 2 cores; the quick preset takes 20 steps.
      </p>
      <div className="button-row">
        <button type="button" className="primary" disabled={start.pending} onClick={() => void start.run('demo')}>
          Train the demo model again
        </button>
        <button type="button" disabled={start.pending} onClick={() => void start.run('quick')}>
          Quick training again
        </button>
      </div>
      {start.error && <ErrorMessage error={start.error} onDismiss={start.clearError} />}
    </details>
  );
}
