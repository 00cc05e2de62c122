import { useEffect, useRef } from 'react';
import { HEATMAP_CONFIG, type HeatmapFigure } from './heatmap-figure';
import { loadPlotly } from './load-plotly';
import './plotly-base.css';

export interface PlotlyHeatmapProps {
  figure: HeatmapFigure;
  /** Revision of the data behind `figure`; it is written to `data-drawn-revision` and passed to `onDrawn` once drawn. */
  revision: number;
  /** Accessible name of the chart, such as "Token-by-token attention, dialled pane". */
  label: string;
  testId: string;
  onDrawn?: (revision: number) => void;
}

/**
 * Draws `figure` with Plotly and redraws it with `Plotly.react` whenever it
 * changes, so moving the dial updates the existing plot instead of building
 * a new one.
 */
export function PlotlyHeatmap({ figure, revision, label, testId, onDrawn }: PlotlyHeatmapProps) {
  const container = useRef<HTMLDivElement>(null);
  // JSON of the figure on screen. The lambda = 0 pane often gets an equal
  // figure when only the dial moved, and skipping its redraw halves the
  // dial's latency.
  const drawnFigure = useRef<string | null>(null);

  useEffect(() => {
    let current = true;
    const element = container.current;
    if (!element) return;

    const finish = () => {
      element.dataset.drawnRevision = String(revision);
      onDrawn?.(revision);
    };
    const serialized = JSON.stringify(figure);
    if (serialized === drawnFigure.current) {
      finish();
      return;
    }

    loadPlotly()
      .then((Plotly) => {
        if (!current) return null;
        // Until this draw finishes, the plot on screen matches no known figure.
        drawnFigure.current = null;
        return Plotly.react(element, figure.data, figure.layout, HEATMAP_CONFIG).then(() => {
          drawnFigure.current = serialized;
        });
      })
      .then((drawn) => {
        if (current && drawn !== null) finish();
      })
      .catch((reason: unknown) => {
        drawnFigure.current = null;
        // A failed draw leaves the previous plot; the console keeps the cause for a bug report.
        console.error(`Plotly could not draw heatmap "${testId}"`, reason);
      });
    return () => {
      current = false;
    };
  }, [figure, revision, onDrawn, testId]);

  useEffect(() => {
    const element = container.current;
    return () => {
      if (element) void loadPlotly().then((Plotly) => Plotly.purge(element));
    };
  }, []);

  return <div ref={container} className="heatmap" role="img" aria-label={label} data-testid={testId} />;
}
