import type { Config, Data, Layout, Shape } from 'plotly.js-dist-min';

/** Colours of the page theme that a figure's text and outlines need. */
export interface ChartColours {
  text: string;
  grid: string;
}

/** A cell of a heatmap, by row and column index. */
export interface HeatmapCell {
  row: number;
  column: number;
}

export interface HeatmapFigureInput {
  /** Values, [row][column]. */
  z: number[][];
  rowLabels: string[];
  columnLabels: string[];
  /** Axis titles, such as "query token" and "key token". */
  rowTitle: string;
  columnTitle: string;
  /** Name of the value in the hover label and on the colour bar, such as "attention". */
  valueName: string;
  /** Top of the colour scale; the bottom is 0. Both panes pass the same value, so their colours compare. */
  zMaximum: number;
  /** Cells drawn with an outline, such as rule targets. */
  outlinedCells: HeatmapCell[];
  colours: ChartColours;
}

export interface HeatmapFigure {
  data: Data[];
  layout: Partial<Layout>;
}

/**
 * Plotly's "Viridis" scale: sequential, even in lightness, and readable with
 * the common colour-vision deficiencies. The gradient of `.colour-legend-bar`
 * in styles.css has the same colours.
 */
export const COLOUR_SCALE = 'Viridis';

/** Plotly options shared by every heatmap: no mode bar, no logo, resized with the page. */
export const HEATMAP_CONFIG: Partial<Config> = {
  displayModeBar: false,
  displaylogo: false,
  responsive: true,
};

/**
 * Returns the largest value in `matrices`, or a small positive number when
 * all are 0, so that the colour scale never has an empty range.
 */
export function sharedMaximum(matrices: readonly (readonly (readonly number[])[])[]): number {
  let maximum = 0;
  for (const matrix of matrices) {
    for (const row of matrix) {
      for (const value of row) {
        if (Number.isFinite(value) && value > maximum) maximum = value;
      }
    }
  }
  return maximum > 0 ? maximum : 1e-6;
}

/**
 * Returns one SVG path in data coordinates that outlines each cell. A single
 * path keeps Plotly's redraw cost flat when a text has many rule targets.
 */
export function outlinePath(cells: readonly HeatmapCell[]): string {
  return cells
    .map(({ row, column }) => `M${column - 0.5},${row - 0.5}H${column + 0.5}V${row + 0.5}H${column - 0.5}Z`)
    .join('');
}

function outlineShapes(cells: readonly HeatmapCell[]): Partial<Shape>[] {
  if (cells.length === 0) return [];
  const path = outlinePath(cells);
  // A dark line under a light one stays visible on both ends of the colour scale.
  return [
    { type: 'path', xref: 'x', yref: 'y', path, layer: 'above', line: { color: '#000000', width: 3 } },
    { type: 'path', xref: 'x', yref: 'y', path, layer: 'above', line: { color: '#ffffff', width: 1.5 } },
  ];
}

function hoverTexts(input: HeatmapFigureInput): string[][] {
  return input.rowLabels.map((rowLabel, row) =>
    input.columnLabels.map(
      (columnLabel, column) => `${input.rowTitle} ${row} “${rowLabel}”<br>${input.columnTitle} ${column} “${columnLabel}”`,
    ),
  );
}

/**
 * Most tick labels on one axis. A token heatmap is about 400 px high, so 32
 * labels keep them 12 px apart and legible; more would overlap. Plotly also
 * lays out every label on each redraw, at about a millisecond per label
 * (measured in Chromium 150), which would slow the dial down.
 */
export const MAX_TICK_LABELS = 32;

/** Returns the indices that get a tick label: all of them up to MAX_TICK_LABELS, else every k-th from 0. */
export function labelledIndices(count: number): number[] {
  const step = Math.ceil(count / MAX_TICK_LABELS);
  const indices: number[] = [];
  for (let index = 0; index < count; index += Math.max(1, step)) indices.push(index);
  return indices;
}

function tickFontSize(labels: readonly string[]): number {
  return labels.length > 16 ? 9 : 11;
}

/**
 * Returns the margin in pixels that fits an axis's longest tick label and
 * its title. The width of a character is estimated at 0.6 times the font
 * size, which fits the common system sans-serif fonts. Measuring the labels
 * would cost a layout pass on every redraw. The margin stays between 50 and
 * 170 pixels, so a very long token is cut off instead of squeezing the plot.
 */
export function labelMargin(labels: readonly string[]): number {
  const longest = labels.reduce((maximum, label) => Math.max(maximum, label.length), 0);
  const labelWidth = Math.ceil(longest * tickFontSize(labels) * 0.6);
  const titleRoom = 36;
  return Math.min(170, Math.max(50, labelWidth + titleRoom));
}

function axis(title: string, labels: readonly string[], colours: ChartColours, reversed: boolean): Partial<Layout['xaxis']> {
  const labelled = labelledIndices(labels.length);
  return {
    title: { text: title },
    tickmode: 'array',
    tickvals: labelled,
    ticktext: labelled.map((index) => labels[index]),
    tickfont: { size: tickFontSize(labels) },
    autorange: reversed ? 'reversed' : true,
    showgrid: false,
    zeroline: false,
    color: colours.text,
    fixedrange: true,
  };
}

/**
 * Builds a heatmap with rows top to bottom, hover labels naming the row and
 * column, colours from 0 to `zMaximum`, and outlined cells.
 */
export function heatmapFigure(input: HeatmapFigureInput): HeatmapFigure {
  const trace: Data = {
    type: 'heatmap',
    z: input.z,
    text: hoverTexts(input) as unknown as string[],
    hovertemplate: `%{text}<br>${input.valueName} %{z:.3f}<extra></extra>`,
    colorscale: COLOUR_SCALE,
    // "fast" paints one image pixel per cell, which plotly-base.css scales
    // without blurring. Only this setting keeps plotly.js from adding that
    // rule as a style attribute, which the Content-Security-Policy blocks.
    zsmooth: 'fast',
    zmin: 0,
    zmax: input.zMaximum,
    // ColourLegend draws the scale instead: Plotly's colour bar sets style
    // attributes, which the page's Content-Security-Policy blocks.
    showscale: false,
  };
  // More than 8 column labels are turned upright, so that they never overlap.
  const uprightColumns = input.columnLabels.length > 8;
  const layout: Partial<Layout> = {
    autosize: true,
    margin: { l: labelMargin(input.rowLabels), r: 10, t: 10, b: uprightColumns ? labelMargin(input.columnLabels) : 60 },
    paper_bgcolor: 'rgba(0,0,0,0)',
    plot_bgcolor: 'rgba(0,0,0,0)',
    font: { color: input.colours.text, size: 11 },
    xaxis: { ...axis(input.columnTitle, input.columnLabels, input.colours, false), tickangle: uprightColumns ? -90 : 'auto' },
    yaxis: axis(input.rowTitle, input.rowLabels, input.colours, true),
    shapes: outlineShapes(input.outlinedCells),
  };
  return { data: [trace], layout };
}
