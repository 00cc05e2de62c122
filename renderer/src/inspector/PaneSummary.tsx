import type { InspectPane } from '../../../common/api';

/**
 * Shows the continuations and the two attention metrics of one pane. A
 * `shortened` response, made while the dial moved, has one-token
 * continuations, marked with a note.
 */
export function PaneSummary({ pane, seed, shortened, testId }: { pane: InspectPane; seed: number; shortened: boolean; testId: string }) {
  const note = shortened ? <span className="hint"> (first token; the rest follows when the dial rests)</span> : null;
  return (
    <dl className="pane-summary" data-testid={testId}>
      <div>
        <dt>Greedy continuation</dt>
        <dd>
          <span className="continuation">… {pane.greedy.join(' ')}</span>
          {note}
        </dd>
      </div>
      <div>
        <dt>Sampled continuation (seed {seed})</dt>
        <dd>
          <span className="continuation">… {pane.sampled.join(' ')}</span>
          {note}
        </dd>
      </div>
      <div>
        <dt>Attention entropy</dt>
        <dd data-testid={`${testId}-entropy`}>{pane.attentionEntropyBits.toFixed(3)} bits</dd>
      </div>
      <div>
        <dt>Pointer fidelity</dt>
        <dd data-testid={`${testId}-fidelity`}>
          {pane.pointerFidelity === null ? 'no rule active' : pane.pointerFidelity.toFixed(3)}
        </dd>
      </div>
    </dl>
  );
}
