import { describe, expect, it } from 'vitest';
import {
  heatmapFigure,
  labelledIndices,
  labelMargin,
  MAX_TICK_LABELS,
  outlinePath,
  sharedMaximum,
  type HeatmapFigureInput,
} from './heatmap-figure';

function input(overrides: Partial<HeatmapFigureInput> = {}): HeatmapFigureInput {
  return {
    z: [
      [1, 0],
      [0.25, 0.75],
    ],
    rowLabels: ['the', 'court'],
    columnLabels: ['the', 'court'],
    rowTitle: 'query token',
    columnTitle: 'key token',
    valueName: 'attention',
    zMaximum: 0.9,
    outlinedCells: [],
    colours: { text: '#000000', grid: '#cccccc' },
    ...overrides,
  };
}

describe('sharedMaximum', () => {
  it('takes the maximum over all matrices', () => {
    expect(sharedMaximum([[[0.1, 0.4]], [[0.2], [0.7]]])).toBe(0.7);
  });

  it('ignores values that are not finite', () => {
    expect(sharedMaximum([[[Number.NaN, 0.3, Number.POSITIVE_INFINITY]]])).toBe(0.3);
  });

  it('is positive for all zeros', () => {
    expect(sharedMaximum([[[0, 0]]])).toBeGreaterThan(0);
  });
});

describe('outlinePath', () => {
  it('draws one closed square per cell', () => {
    expect(outlinePath([{ row: 1, column: 2 }])).toBe('M1.5,0.5H2.5V1.5H1.5Z');
  });

  it('is empty without cells', () => {
    expect(outlinePath([])).toBe('');
  });
});

describe('labelledIndices', () => {
  it('labels every index up to the limit', () => {
    expect(labelledIndices(MAX_TICK_LABELS)).toHaveLength(MAX_TICK_LABELS);
  });

  it('labels every second index of 64', () => {
    const indices = labelledIndices(64);
    expect(indices).toHaveLength(32);
    expect(indices.slice(0, 3)).toEqual([0, 2, 4]);
  });

  it('labels nothing for no tokens', () => {
    expect(labelledIndices(0)).toEqual([]);
  });
});

describe('labelMargin', () => {
  it('grows with the longest label', () => {
    expect(labelMargin(['background', 'Government and politics'])).toBeGreaterThan(labelMargin(['the', 'court']));
  });

  it('stays within its bounds', () => {
    expect(labelMargin(['a'])).toBe(50);
    expect(labelMargin(['x'.repeat(200)])).toBe(170);
  });
});

describe('heatmapFigure', () => {
  it('uses the shared range and Viridis', () => {
    const trace = heatmapFigure(input()).data[0] as { zmin: number; zmax: number; colorscale: string; showscale: boolean };
    expect(trace.zmin).toBe(0);
    expect(trace.zmax).toBe(0.9);
    expect(trace.colorscale).toBe('Viridis');
    expect(trace.showscale).toBe(false);
  });

  it('names row and column in hover text', () => {
    const trace = heatmapFigure(input()).data[0] as { text: string[][] };
    expect(trace.text[1][0]).toBe('query token 1 “court”<br>key token 0 “the”');
  });

  it('outlines cells with two path shapes', () => {
    const shapes = heatmapFigure(input({ outlinedCells: [{ row: 1, column: 0 }] })).layout.shapes!;
    expect(shapes).toHaveLength(2);
    expect(shapes.map((shape) => shape.path)).toEqual(['M-0.5,0.5H0.5V1.5H-0.5Z', 'M-0.5,0.5H0.5V1.5H-0.5Z']);
  });

  it('has no shapes without outlined cells', () => {
    expect(heatmapFigure(input()).layout.shapes).toEqual([]);
  });

  it('puts the first row on top', () => {
    expect(heatmapFigure(input()).layout.yaxis!.autorange).toBe('reversed');
  });
});
