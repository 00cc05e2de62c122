import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import type { AttentionSelection, InspectRequest, ModelSummary } from '../../../common/api';
import { ErrorMessage } from '../ErrorMessage';
import { sharedMaximum, type ChartColours } from '../heatmap/heatmap-figure';
import type { Theme } from '../shell/theme';
import { AttentionPicker } from './AttentionPicker';
import { DialLatencyRecorder } from './dial-latency';
import { formatLambda } from './dial-keys';
import { InspectPaneView } from './InspectPaneView';
import { InspectText } from './InspectText';
import { LocalityDial } from './LocalityDial';
import { SeedField } from './SeedField';
import { useDebouncedValue } from './use-debounced-value';
import { useInspection } from './use-inspection';
import { useReferenceExamples } from './use-reference-examples';
import { useSettling } from './use-settling';

/**
 * Text shown until the user types. Two rules of the demo project are
 * active on it: "paid" after money words and "evidence" after law words.
 */
export const DEFAULT_TEXT = 'the court heard that the county owed money for taxes and paid the bill before the jury saw the evidence';
/** Dial setting when the inspector opens, as in `localist inspect`. */
export const DEFAULT_LAMBDA = 0.8;
/** Tokens generated in each continuation once the dial rests. */
export const CONTINUATION_TOKENS = 12;
/**
 * Tokens generated in each continuation while the dial moves. Each
 * continuation token costs four forward passes of the model (greedy and
 * sampled, in both panes), and together they take most of an inspect
 * request's time. So a moving dial gets the shortest continuation, and the
 * full one follows when the dial rests.
 */
const MOVING_DIAL_CONTINUATION_TOKENS = 1;
/** Time without dial input, in milliseconds, after which the dial counts as resting. */
const DIAL_REST_MS = 400;
/** Pause in typing, in milliseconds, after which the text is sent. */
const TEXT_DEBOUNCE_MS = 300;
/** Heatmaps drawn per response: token and block attention in each of the two panes. */
const HEATMAP_COUNT = 4;

const CHART_COLOURS: { [Name in Theme]: ChartColours } = {
  light: { text: '#1f2328', grid: '#d1d9e0' },
  dark: { text: '#e6edf3', grid: '#3d444d' },
};

/**
 * Shows the inspector: a text, the locality dial, the attention picker and
 * the seed, and the model's output side by side at the dial setting and at
 * lambda 0.
 */
export function Inspector({ model, theme, onFirstResult }: { model: ModelSummary; theme: Theme; onFirstResult?: () => void }) {
  const [text, setText] = useState(DEFAULT_TEXT);
  const [lambda, setLambda] = useState(DEFAULT_LAMBDA);
  const [selection, setSelection] = useState<AttentionSelection>({ layer: 'mean', head: 'mean' });
  const [seed, setSeed] = useState(1);
  const references = useReferenceExamples();
  const settledText = useDebouncedValue(text, TEXT_DEBOUNCE_MS);
  const dial = useSettling(DIAL_REST_MS);
  const pendingDialInput = useRef<number | null>(null);
  const latency = useMemo(() => new DialLatencyRecorder(HEATMAP_COUNT), []);

  const request = useMemo<InspectRequest | null>(
    () =>
      settledText.trim() === ''
        ? null
        : {
            text: settledText,
            lambda,
            selection,
            seed,
            continuationTokens: dial.settled ? CONTINUATION_TOKENS : MOVING_DIAL_CONTINUATION_TOKENS,
          },
    [settledText, lambda, selection, seed, dial.settled],
  );

  const takeDialInputTime = useCallback(() => {
    const inputTime = pendingDialInput.current;
    pendingDialInput.current = null;
    return inputTime;
  }, []);
  const { inspection, busy: running, error, settledRequest } = useInspection(request, takeDialInputTime);
  // The first response starts the engine, whose backend the status bar then shows.
  const hasResult = inspection !== null;
  useEffect(() => {
    if (hasResult) onFirstResult?.();
  }, [hasResult, onFirstResult]);
  // Busy until the current request has its response and no newer request is due from typing or a moving dial.
  const busy = running || text !== settledText || !dial.settled || (request !== null && settledRequest !== request);

  const { markChanged: markDialMoved } = dial;
  const changeLambda = useCallback(
    (value: number, inputTime: number) => {
      pendingDialInput.current = inputTime;
      markDialMoved();
      setLambda(value);
    },
    [markDialMoved],
  );

  const ranges = useMemo(() => {
    if (!inspection) return { token: 1, block: 1 };
    const { dialled, distributed } = inspection.response;
    return {
      // The first query row can attend only to itself, so its 1 is left out of the scale's top.
      // That cell is drawn at the top colour.
      token: sharedMaximum([withoutFirstRow(dialled.tokenAttention), withoutFirstRow(distributed.tokenAttention)]),
      block: sharedMaximum([dialled.blockAttention, distributed.blockAttention]),
    };
  }, [inspection]);

  // A layout effect runs before the heatmaps' asynchronous redraws can report back.
  useLayoutEffect(() => {
    if (inspection && inspection.dialInputTime !== null) latency.begin(inspection.revision, inspection.dialInputTime);
  }, [inspection, latency]);
  const heatmapDrawn = useCallback((revision: number, heatmapId: string) => latency.reportDrawn(revision, heatmapId), [latency]);

  const colours = CHART_COLOURS[theme];
  const responseLambda = inspection ? formatLambda(inspection.request.lambda) : undefined;

  return (
    <div
      className="inspector"
      data-testid="inspector"
      data-busy={busy}
      data-revision={inspection?.revision}
      data-response-lambda={responseLambda}
    >
      <InspectText text={text} contextLength={model.contextLength} references={references} onChange={setText} />

      <section className="inspect-controls card" aria-label="Model settings">
        <LocalityDial value={lambda} onChange={changeLambda} />
        <AttentionPicker layers={model.layers} heads={model.heads} selection={selection} onChange={setSelection} />
        <SeedField seed={seed} onChange={setSeed} />
        <p className="busy-indicator" role="status" aria-live="polite">
          {busy ? 'Running the model…' : ''}
        </p>
      </section>

      {error && <ErrorMessage error={error} />}
      {settledText.trim() === '' && <p role="status">Type a text to run the model on it.</p>}
      {/* The panes below belong to an earlier text when the latest one failed or is empty; say so rather than pass them off as current. */}
      {inspection && (error !== null || settledText.trim() === '') && (
        <p className="stale-note" role="status" data-testid="stale-note">
          The panes below show the last text the model ran on: “{inspection.request.text.slice(0, 80)}
          {inspection.request.text.length > 80 ? '…' : ''}”.
        </p>
      )}

      {inspection && (
        <div className={error !== null || settledText.trim() === '' ? 'panes stale' : 'panes'}>
          <InspectPaneView
            paneId="dialled"
            title={`Dialled, λ = ${formatLambda(inspection.request.lambda)}`}
            pane={inspection.response.dialled}
            response={inspection.response}
            ranges={ranges}
            colours={colours}
            seed={inspection.request.seed}
            continuationShortened={inspection.request.continuationTokens < CONTINUATION_TOKENS}
            revision={inspection.revision}
            onHeatmapDrawn={heatmapDrawn}
          />
          <InspectPaneView
            paneId="distributed"
            title="Distributed, λ = 0"
            pane={inspection.response.distributed}
            response={inspection.response}
            ranges={ranges}
            colours={colours}
            seed={inspection.request.seed}
            continuationShortened={inspection.request.continuationTokens < CONTINUATION_TOKENS}
            revision={inspection.revision}
            onHeatmapDrawn={heatmapDrawn}
          />
        </div>
      )}
    </div>
  );
}

function withoutFirstRow(matrix: number[][]): number[][] {
  return matrix.length > 1 ? matrix.slice(1) : matrix;
}
