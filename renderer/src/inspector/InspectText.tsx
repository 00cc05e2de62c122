import { useId } from 'react';
import { MAX_TEXT_LENGTH } from '../../../common/requests';
import { ErrorMessage } from '../ErrorMessage';
import { ReferenceExamples } from './ReferenceExamples';
import type { ReferenceExamplesState } from './use-reference-examples';

/** Shows the inspector's text box, the pin button and the pinned reference examples. */
export function InspectText({
  text,
  contextLength,
  references,
  onChange,
}: {
  text: string;
  contextLength: number;
  references: ReferenceExamplesState;
  onChange: (text: string) => void;
}) {
  const textId = useId();
  const helpId = useId();
  const trimmed = text.trim();
  const pinned = references.examples?.some((example) => example.text === trimmed) ?? false;

  return (
    <section className="inspect-text card" aria-label="Text">
      <label htmlFor={textId}>Text to inspect</label>
      <textarea
        id={textId}
        value={text}
        rows={3}
        maxLength={MAX_TEXT_LENGTH}
        onChange={(event) => onChange(event.target.value)}
        aria-describedby={helpId}
        data-testid="inspect-text"
      />
      <p id={helpId} className="hint">
        The model reads the last {contextLength} tokens of the text and predicts the next one.
      </p>
      <div className="button-row">
        <button type="button" disabled={trimmed === '' || pinned} onClick={() => void references.pin(trimmed)}>
          {pinned ? 'Pinned' : 'Pin this text'}
        </button>
      </div>
      {references.error && <ErrorMessage error={references.error} onDismiss={references.clearError} />}
      <h3>Reference examples</h3>
      <ReferenceExamples examples={references.examples} onUse={onChange} onUnpin={(id) => void references.unpin(id)} />
    </section>
  );
}
