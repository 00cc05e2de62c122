import { useCallback } from 'react';
import type { TrainingState } from '../../../common/api';
import { useApi } from '../api-context';
import { ErrorMessage } from '../ErrorMessage';
import { useAction } from '../use-action';
import { TrainingProgress } from './TrainingProgress';

type Preset = 'demo' | 'quick';

/**
 * Panel for a project without a model: starts training with the demo or the
 * quick preset, shows its progress and cancels it.
 */
export function TrainingPanel({ training }: { training: TrainingState }) {
  const api = useApi();
  const start = useAction(useCallback((preset: Preset) => api.startTraining({ preset }), [api]));
  const cancel = useAction(useCallback((jobId: string) => api.cancelJob({ jobId }), [api]));
  const running = training.state === 'running';

  return (
    <section className="card training-panel" aria-labelledby="training-heading" data-testid="training-panel">
      <h2 id="training-heading">{running ? 'Training the model' : 'This project has no model yet'}</h2>

      {!running && (
        <>
          <p>
            Train a model on the project’s corpus to inspect it. The demo preset trains the default model (2 layers, 4
            heads, width 128) for about 8 minutes on 2 cores. The quick preset takes 20 steps in under a minute:
            its predictions are poor, but it is enough to try the inspector.
          </p>
          <div className="button-row">
            <button type="button" className="primary" disabled={start.pending} onClick={() => void start.run('demo')}>
              Train the demo model
            </button>
            <button type="button" disabled={start.pending} onClick={() => void start.run('quick')}>
              Quick training
            </button>
          </div>
        </>
      )}

      {training.state === 'running' && (
        <>
          <TrainingProgress training={training} />
          <button type="button" disabled={cancel.pending} onClick={() => void cancel.run(training.jobId)}>
            Cancel training
          </button>
        </>
      )}

      {training.state === 'failed' && <ErrorMessage error={training.error} />}
      {training.state === 'cancelled' && (
        <p role="status">Training was cancelled before it saved a checkpoint, so the project has no model yet.</p>
      )}
      {start.error && <ErrorMessage error={start.error} onDismiss={start.clearError} />}
      {cancel.error && <ErrorMessage error={cancel.error} onDismiss={cancel.clearError} />}
    </section>
  );
}
