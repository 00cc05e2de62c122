import { useCallback, useMemo } from 'react';
import type { InspectPane, InspectResponse } from '../../../common/api';
import { ColourLegend } from '../heatmap/ColourLegend';
import { heatmapFigure, type ChartColours } from '../heatmap/heatmap-figure';
import { PlotlyHeatmap } from '../heatmap/PlotlyHeatmap';
import { PaneSummary } from './PaneSummary';
import { blockTargetCells, tokenTargetCells } from './rule-target-cells';
import { TopPredictions } from './TopPredictions';

export type PaneId = 'dialled' | 'distributed';

/** Tops of the colour scales, shared by both panes so that equal colours mean equal values. */
export interface ColourRanges {
  token: number;
  block: number;
}

export interface InspectPaneViewProps {
  paneId: PaneId;
  title: string;
  pane: InspectPane;
  response: InspectResponse;
  ranges: ColourRanges;
  colours: ChartColours;
  seed: number;
  /** True when the response has the short continuations of a moving dial. */
  continuationShortened: boolean;
  revision: number;
  onHeatmapDrawn: (revision: number, heatmapId: string) => void;
}

/** Shows one model setting's output: predictions, continuations, metrics and the two attention heatmaps. */
export function InspectPaneView(props: InspectPaneViewProps) {
  const { paneId, title, pane, response, ranges, colours, seed, continuationShortened, revision, onHeatmapDrawn } = props;
  const tokenHeatmapId = `heatmap-token-${paneId}`;
  const blockHeatmapId = `heatmap-block-${paneId}`;

  const tokenFigure = useMemo(
    () =>
      heatmapFigure({
        z: pane.tokenAttention,
        rowLabels: response.tokens,
        columnLabels: response.tokens,
        rowTitle: 'query token',
        columnTitle: 'key token',
        valueName: 'attention',
        zMaximum: ranges.token,
        outlinedCells: tokenTargetCells(response.ruleTargets),
        colours,
      }),
    [pane.tokenAttention, response.tokens, response.ruleTargets, ranges.token, colours],
  );

  const blockFigure = useMemo(
    () =>
      heatmapFigure({
        z: pane.blockAttention,
        rowLabels: response.blocks,
        columnLabels: response.blocks,
        rowTitle: 'query block',
        columnTitle: 'key block',
        valueName: 'mass',
        zMaximum: ranges.block,
        outlinedCells: blockTargetCells(response.ruleTargets, response.tokenBlocks),
        colours,
      }),
    [pane.blockAttention, response.blocks, response.ruleTargets, response.tokenBlocks, ranges.block, colours],
  );

  const tokenDrawn = useCallback((drawn: number) => onHeatmapDrawn(drawn, tokenHeatmapId), [onHeatmapDrawn, tokenHeatmapId]);
  const blockDrawn = useCallback((drawn: number) => onHeatmapDrawn(drawn, blockHeatmapId), [onHeatmapDrawn, blockHeatmapId]);

  return (
    <section className="inspect-pane card" aria-label={title} data-testid={`pane-${paneId}`} data-lambda={pane.lambda}>
      <h3>{title}</h3>
      <TopPredictions predictions={pane.topPredictions} testId={`predictions-${paneId}`} />
      <PaneSummary pane={pane} seed={seed} shortened={continuationShortened} testId={`summary-${paneId}`} />
      <h4>Token-by-token attention</h4>
      <PlotlyHeatmap
        figure={tokenFigure}
        revision={revision}
        label={`Token-by-token attention, ${title}. Rows are query tokens, columns key tokens; outlined cells are rule targets.`}
        testId={tokenHeatmapId}
        onDrawn={tokenDrawn}
      />
      <ColourLegend maximum={ranges.token} valueName="attention" testId={`legend-token-${paneId}`} />
      <h4>Block-by-block attention mass</h4>
      <PlotlyHeatmap
        figure={blockFigure}
        revision={revision}
        label={`Block-by-block attention mass, ${title}. Rows are query blocks, columns key blocks.`}
        testId={blockHeatmapId}
        onDrawn={blockDrawn}
      />
      <ColourLegend maximum={ranges.block} valueName="attention mass" testId={`legend-block-${paneId}`} />
    </section>
  );
}
