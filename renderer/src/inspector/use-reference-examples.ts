import { useCallback, useEffect, useState } from 'react';
import type { ApiError, ReferenceExample } from '../../../common/api';
import { useApi } from '../api-context';
import { toApiError } from '../api-errors';

export interface ReferenceExamplesState {
  /** The pinned examples, or null before the first read. */
  examples: ReferenceExample[] | null;
  error: ApiError | null;
  pin: (text: string) => Promise<void>;
  unpin: (id: string) => Promise<void>;
  clearError: () => void;
}

/** Reads the open project's pinned reference examples, and pins and unpins them. */
export function useReferenceExamples(): ReferenceExamplesState {
  const api = useApi();
  const [examples, setExamples] = useState<ReferenceExample[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);

  const reload = useCallback(async () => {
    try {
      setExamples(await api.referenceExamples());
    } catch (reason) {
      setError(toApiError(reason));
    }
  }, [api]);

  useEffect(() => {
    void reload();
  }, [reload]);

  const pin = useCallback(
    async (text: string) => {
      try {
        await api.pinReferenceExample({ text });
        setError(null);
      } catch (reason) {
        setError(toApiError(reason));
      }
      await reload();
    },
    [api, reload],
  );

  const unpin = useCallback(
    async (id: string) => {
      try {
        await api.unpinReferenceExample({ id });
        setError(null);
      } catch (reason) {
        setError(toApiError(reason));
      }
      await reload();
    },
    [api, reload],
  );

  const clearError = useCallback(() => setError(null), []);
  return { examples, error, pin, unpin, clearError };
}
