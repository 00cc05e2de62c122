/**
 * Lines that `localist serve` writes to stderr for the services' events:
 * every log event, and training progress at most once per interval plus
 * every change of the training state.
 */
import type { EventName, Events, TrainingState } from '../../common/api';

/** Describes a training state in one line, such as "training job-1: step 5 of 20 (25%), loss 6.100". */
export function describeTraining(state: TrainingState): string {
  switch (state.state) {
    case 'idle':
      return 'training: idle';
    case 'running': {
      const loss = state.loss === null ? '' : `, loss ${state.loss.toFixed(3)}`;
      const eta = state.etaSeconds === null ? '' : `, about ${Math.ceil(state.etaSeconds)} s left`;
      return `training ${state.jobId}: step ${state.step} of ${state.steps} (${Math.round(state.share * 100)}%)${loss}${eta}`;
    }
    case 'finished':
      return `training ${state.jobId}: finished, checkpoint ${state.checkpoint}`;
    case 'failed':
      return `training ${state.jobId}: failed: ${state.error.message}`;
    case 'cancelled':
      return `training ${state.jobId}: cancelled`;
  }
}

/** Turns events into lines. A running job gets at most one progress line per `intervalMs`, plus one at every change of state. */
export class EventLines {
  private lastState: TrainingState['state'] | null = null;
  private lastProgressAt = -Infinity;

  constructor(
    private readonly write: (line: string) => void,
    private readonly intervalMs = 5000,
    private readonly now: () => number = () => Date.now(),
  ) {}

  handle<Name extends EventName>(name: Name, payload: Events[Name]): void {
    if (name === 'log') {
      const log = payload as Events['log'];
      this.write(`${log.level}: ${log.message}`);
      return;
    }
    // The opened project is already logged by the services; the theme only concerns pages.
    if (name !== 'training') return;
    const state = payload as Events['training'];
    const time = this.now();
    const changed = state.state !== this.lastState;
    this.lastState = state.state;
    if (state.state === 'running' && !changed && time - this.lastProgressAt < this.intervalMs) return;
    if (state.state === 'running') this.lastProgressAt = time;
    this.write(describeTraining(state));
  }
}
