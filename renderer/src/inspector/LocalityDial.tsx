import { useEffect, useId, useState, type KeyboardEvent } from 'react';
import { dialValueForKey, DIAL_STEP, formatLambda, roundDial } from './dial-keys';

export interface LocalityDialProps {
  value: number;
  /** Called with the new dial value and the `timeStamp` of the input event that set it. */
  onChange: (value: number, inputTime: number) => void;
}

/**
 * Shows the locality dial lambda as a slider with a numeric entry. The slider
 * handles its keys itself, so every browser steps the same way: arrows
 * 0.01, Page Up and Page Down 0.1, Home 0 and End 1.
 */
export function LocalityDial({ value, onChange }: LocalityDialProps) {
  const sliderId = useId();
  const numberId = useId();
  const helpId = useId();
  const errorId = useId();
  const [draft, setDraft] = useState(formatLambda(value));
  const [draftInvalid, setDraftInvalid] = useState(false);

  // Follows moves of the slider, unless the typed text already means this value.
  useEffect(() => {
    setDraft((current) => (Number(current) === value ? current : formatLambda(value)));
    setDraftInvalid(false);
  }, [value]);

  function handleKeyDown(event: KeyboardEvent<HTMLInputElement>) {
    const next = dialValueForKey(event.key, value);
    if (next === null) return;
    event.preventDefault();
    if (next !== value) onChange(next, event.timeStamp);
  }

  function handleDraft(text: string, inputTime: number) {
    setDraft(text);
    const parsed = Number(text);
    const valid = text.trim() !== '' && Number.isFinite(parsed) && parsed >= 0 && parsed <= 1;
    setDraftInvalid(!valid);
    if (valid && roundDial(parsed) !== value) onChange(roundDial(parsed), inputTime);
  }

  return (
    <div className="locality-dial" role="group" aria-labelledby={`${sliderId}-label`}>
      <label id={`${sliderId}-label`} htmlFor={sliderId}>
        Locality dial λ
      </label>
      <div className="dial-inputs">
        <input
          id={sliderId}
          type="range"
          min={0}
          max={1}
          step={DIAL_STEP}
          value={value}
          onChange={(event) => onChange(roundDial(Number(event.target.value)), event.timeStamp)}
          onKeyDown={handleKeyDown}
          aria-valuetext={`lambda ${formatLambda(value)}`}
          aria-describedby={helpId}
          data-testid="dial-slider"
        />
        <label htmlFor={numberId} className="visually-hidden">
          Locality dial lambda as a number from 0 to 1
        </label>
        <input
          id={numberId}
          type="number"
          min={0}
          max={1}
          step={DIAL_STEP}
          value={draft}
          onChange={(event) => handleDraft(event.target.value, event.timeStamp)}
          aria-invalid={draftInvalid}
          aria-describedby={draftInvalid ? errorId : helpId}
          data-testid="dial-number"
        />
      </div>
      {draftInvalid && (
        <p id={errorId} className="field-error" role="alert">
          Enter a number from 0 to 1, such as 0.8.
        </p>
      )}
      <p id={helpId} className="hint">
        0 is the ordinary transformer; 1 concentrates attention on blocks and rule targets. Arrow keys step by 0.01, Page
        Up and Page Down by 0.1, Home and End go to 0 and 1.
      </p>
    </div>
  );
}
