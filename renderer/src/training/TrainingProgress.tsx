import { useId } from 'react';
import type { TrainingState } from '../../../common/api';
import { formatDuration } from './format-duration';

type RunningTraining = Extract<TrainingState, { state: 'running' }>;

/** Progress bar of a running training job with its step, loss and estimated time left. */
export function TrainingProgress({ training }: { training: RunningTraining }) {
  const labelId = useId();
  const percent = Math.round(Math.min(1, Math.max(0, training.share)) * 100);
  const facts = [`step ${training.step} of ${training.steps}`];
  // The engine reports the training objective in nats per token.
  if (training.loss !== null) facts.push(`loss ${training.loss.toFixed(3)} nats`);
  if (training.etaSeconds !== null) facts.push(`about ${formatDuration(training.etaSeconds)} left`);

  return (
    <div className="training-progress">
      <label id={labelId} htmlFor={`${labelId}-bar`}>
        Training: {percent}%
      </label>
      <progress id={`${labelId}-bar`} max={100} value={percent} aria-labelledby={labelId} data-testid="training-progress" />
      <p className="training-facts" data-testid="training-facts">
        {facts.join(', ')}
      </p>
    </div>
  );
}
