import { useId, useState } from 'react';

/** Largest seed offered. The engine's generator (mulberry32) keeps only the low 32 bits of a seed, so larger seeds repeat smaller ones. */
export const MAX_SEED = 2 ** 32 - 1;

/** Whole-number field for the seed of the sampled continuation. */
export function SeedField({ seed, onChange }: { seed: number; onChange: (seed: number) => void }) {
  const inputId = useId();
  const errorId = useId();
  const [draft, setDraft] = useState(String(seed));
  const parsed = Number(draft);
  const valid = /^\d+$/.test(draft.trim()) && parsed <= MAX_SEED;

  function update(text: string) {
    setDraft(text);
    const value = Number(text);
    if (/^\d+$/.test(text.trim()) && value <= MAX_SEED && value !== seed) onChange(value);
  }

  return (
    <div className="seed-field">
      <label htmlFor={inputId}>Sampling seed</label>
      <input
        id={inputId}
        type="number"
        min={0}
        max={MAX_SEED}
        step={1}
        value={draft}
        onChange={(event) => update(event.target.value)}
        aria-invalid={!valid}
        aria-describedby={valid ? undefined : errorId}
        data-testid="seed-field"
      />
      {!valid && (
        <p id={errorId} className="field-error" role="alert">
          Enter a whole number from 0 to {MAX_SEED}.
        </p>
      )}
    </div>
  );
}
