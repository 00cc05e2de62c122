/** Formats a colour-scale end with three significant digits, as "0.412". */
function formatScaleValue(value: number): string {
  return value.toPrecision(3);
}

/** Colour scale of a heatmap, from 0 to `maximum`, in the colours of `COLOUR_SCALE`. */
export function ColourLegend({ maximum, valueName, testId }: { maximum: number; valueName: string; testId: string }) {
  const top = formatScaleValue(maximum);
  return (
    <div
      className="colour-legend"
      role="img"
      aria-label={`Colour scale of ${valueName}: 0 is dark purple, ${top} is yellow`}
      data-testid={testId}
      data-maximum={maximum}
    >
      <span>0</span>
      <span className="colour-legend-bar" />
      <span>{top}</span>
      <span className="colour-legend-name">{valueName}</span>
    </div>
  );
}
