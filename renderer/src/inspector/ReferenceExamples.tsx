import type { ReferenceExample } from '../../../common/api';

/** Lists the project's pinned reference texts, each with buttons to load it into the text box and to unpin it. */
export function ReferenceExamples({
  examples,
  onUse,
  onUnpin,
}: {
  examples: ReferenceExample[] | null;
  onUse: (text: string) => void;
  onUnpin: (id: string) => void;
}) {
  if (examples === null) return <p>Loading reference examples…</p>;
  if (examples.length === 0) {
    return <p className="hint">No pinned reference examples. Pin a text to keep it with the project.</p>;
  }
  return (
    <ul className="reference-examples" aria-label="Pinned reference examples" data-testid="reference-examples">
      {examples.map((example) => (
        <li key={example.id}>
          <span className="reference-text">{example.text}</span>
          <span className="button-row">
            <button type="button" onClick={() => onUse(example.text)} aria-label={`Inspect pinned text: ${example.text}`}>
              Inspect
            </button>
            <button type="button" onClick={() => onUnpin(example.id)} aria-label={`Unpin: ${example.text}`}>
              Unpin
            </button>
          </span>
        </li>
      ))}
    </ul>
  );
}
