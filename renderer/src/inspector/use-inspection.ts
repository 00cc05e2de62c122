import { useEffect, useRef, useState } from 'react';
import type { ApiError, InspectRequest, InspectResponse } from '../../../common/api';
import { useApi } from '../api-context';
import { toApiError } from '../api-errors';
import { LatestOnlyRunner, type LatestOnlyListener } from './latest-only-runner';

/** A response of the inspector with the request behind it, ready to draw. */
export interface Inspection {
  request: InspectRequest;
  response: InspectResponse;
  /** Ticket of the request, which grows with every request; heatmaps report it back when drawn. */
  revision: number;
  /** `timeStamp` of the dial input event that caused the request, or null when something else did. */
  dialInputTime: number | null;
}

/**
 * Maximum time in milliseconds that the panes go without a redraw while
 * the dial keeps moving. After it, a stale response is drawn after all, so
 * the panes follow a long drag instead of waiting for the dial to stop.
 */
const MAX_SILENCE_MS = 250;

interface Submission {
  request: InspectRequest;
  dialInputTime: number | null;
}

export interface InspectionState {
  inspection: Inspection | null;
  /** True while a request runs or waits. */
  busy: boolean;
  error: ApiError | null;
  /** The newest request that has a response or failed. It equals the current request once that request's response is in. */
  settledRequest: InspectRequest | null;
}

/**
 * Runs `inspect` for every new `request` and returns the newest response.
 * Requests are coalesced and stale responses dropped, except one after
 * MAX_SILENCE_MS (see `LatestOnlyRunner`).
 * `takeDialInputTime` is called once per request and returns the time of the
 * dial input behind it, if any.
 */
export function useInspection(request: InspectRequest | null, takeDialInputTime: () => number | null): InspectionState {
  const api = useApi();
  const [state, setState] = useState<InspectionState>({ inspection: null, busy: false, error: null, settledRequest: null });
  const runner = useRef<LatestOnlyRunner<Submission, InspectResponse> | null>(null);

  useEffect(() => {
    const listener: LatestOnlyListener<Submission, InspectResponse> = {
      onResult: (response, submission, ticket) =>
        setState((current) => ({
          ...current,
          error: null,
          settledRequest: submission.request,
          inspection: { request: submission.request, response, revision: ticket, dialInputTime: submission.dialInputTime },
        })),
      onError: (reason, submission) =>
        setState((current) => ({ ...current, error: toApiError(reason), settledRequest: submission.request })),
      onBusyChange: (busy) => setState((current) => ({ ...current, busy })),
    };
    const created = new LatestOnlyRunner((submission: Submission) => api.inspect(submission.request), listener, {
      maxSilenceMs: MAX_SILENCE_MS,
    });
    runner.current = created;
    return () => {
      created.dispose();
      runner.current = null;
    };
  }, [api]);

  useEffect(() => {
    const dialInputTime = takeDialInputTime();
    if (request === null || runner.current === null) return;
    runner.current.submit({ request, dialInputTime });
  }, [request, takeDialInputTime]);

  return state;
}
