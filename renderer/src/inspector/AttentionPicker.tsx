import { useId } from 'react';
import type { AttentionSelection } from '../../../common/api';

function parseChoice(text: string): number | 'mean' {
  return text === 'mean' ? 'mean' : Number(text);
}

function Choices({ count, noun }: { count: number; noun: string }) {
  return (
    <>
      <option value="mean">mean of all {noun}s</option>
      {Array.from({ length: count }, (_, index) => (
        <option key={index} value={String(index)}>
          {noun} {index}
        </option>
      ))}
    </>
  );
}

/** Layer and head pickers of the token heatmap, each with "mean" and indices from 0. */
export function AttentionPicker({
  layers,
  heads,
  selection,
  onChange,
}: {
  layers: number;
  heads: number;
  selection: AttentionSelection;
  onChange: (selection: AttentionSelection) => void;
}) {
  const layerId = useId();
  const headId = useId();
  return (
    <div className="attention-picker" role="group" aria-label="Attention shown in the heatmaps">
      <label htmlFor={layerId}>Layer</label>
      <select
        id={layerId}
        value={String(selection.layer)}
        onChange={(event) => onChange({ ...selection, layer: parseChoice(event.target.value) })}
        data-testid="layer-picker"
      >
        <Choices count={layers} noun="layer" />
      </select>
      <label htmlFor={headId}>Head</label>
      <select
        id={headId}
        value={String(selection.head)}
        onChange={(event) => onChange({ ...selection, head: parseChoice(event.target.value) })}
        data-testid="head-picker"
      >
        <Choices count={heads} noun="head" />
      </select>
    </div>
  );
}
