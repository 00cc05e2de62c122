import type * as PlotlyModule from 'plotly.js-dist-min';

type Plotly = typeof PlotlyModule;

/**
 * Ids of the <style> elements that plotly.js-dist-min 3.7 inserts: its base
 * rules, added on the first plot unless the element carries the class
 * "no-inline-styles", and MapLibre's CSS, added when the bundle loads unless
 * an element with that id exists. The page's Content-Security-Policy
 * (style-src 'self') would block both, so `claimStyleElements` creates empty
 * placeholders under these ids first. plotly-base.css has the base rules
 * that the heatmaps need; the workbench draws no maps.
 * NOTE: the MapLibre id is a hash of its CSS and changes with plotly.js
 * releases; the end-to-end test that collects CSP violations catches that.
 */
const PLOTLY_STYLE_ID = 'plotly.js-style-global';
const MAPLIBRE_STYLE_ID = 'ce8d464691048653ffe3a57c6c18ab566e8366f186677868cf724621a857b4fe';

function claimStyleElements(): void {
  for (const id of [PLOTLY_STYLE_ID, MAPLIBRE_STYLE_ID]) {
    if (document.getElementById(id)) continue;
    const placeholder = document.createElement('meta');
    placeholder.id = id;
    placeholder.className = 'no-inline-styles';
    document.head.append(placeholder);
  }
}

let loading: Promise<Plotly> | null = null;

/**
 * Loads plotly.js on first use. The bundle is about 4.6 MB, so it is split
 * from the start view's code and fetched only when a heatmap is shown.
 */
export function loadPlotly(): Promise<Plotly> {
  if (loading === null) {
    claimStyleElements();
    loading = import('plotly.js-dist-min').then((module) => (module as unknown as { default?: Plotly }).default ?? module);
  }
  return loading;
}
