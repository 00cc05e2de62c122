import { useCallback, useEffect, useRef, useState } from 'react';
import type { ApiError } from '../../common/api';
import { toApiError } from './api-errors';

export interface Action<Args extends unknown[], Result> {
  /** Runs the action; resolves to its result, or to undefined when it failed and `error` is set. */
  run: (...args: Args) => Promise<Result | undefined>;
  pending: boolean;
  error: ApiError | null;
  clearError: () => void;
}

/**
 * Wraps an API call that a button or form starts, tracking whether it is
 * running and the error it failed with. State changes after the view has
 * unmounted are skipped.
 */
export function useAction<Args extends unknown[], Result>(perform: (...args: Args) => Promise<Result>): Action<Args, Result> {
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const mounted = useRef(true);

  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);

  const run = useCallback(
    async (...args: Args): Promise<Result | undefined> => {
      setPending(true);
      setError(null);
      try {
        return await perform(...args);
      } catch (reason) {
        if (mounted.current) setError(toApiError(reason));
        return undefined;
      } finally {
        if (mounted.current) setPending(false);
      }
    },
    [perform],
  );

  const clearError = useCallback(() => setError(null), []);
  return { run, pending, error, clearError };
}
