import { useCallback, useEffect, useState } from 'react';
import type { ApiError, WorkbenchStatus } from '../../../common/api';
import { useApi } from '../api-context';
import { toApiError } from '../api-errors';

export interface WorkbenchStatusState {
  /** The last status read, or null before the first read finished. */
  status: WorkbenchStatus | null;
  /** Error of the last read, or null when it succeeded. */
  error: ApiError | null;
  /** Reads the status again, as after opening a project. */
  refresh: () => Promise<void>;
}

/**
 * Reads the workbench status and keeps its training state current from
 * `training` events, and reads it again on `project` events. A training job that ends can leave a new model
 * behind, so the whole status is read again when a job finishes, fails or
 * is cancelled.
 */
export function useWorkbenchStatus(): WorkbenchStatusState {
  const api = useApi();
  const [status, setStatus] = useState<WorkbenchStatus | null>(null);
  const [error, setError] = useState<ApiError | null>(null);

  const refresh = useCallback(async () => {
    try {
      const next = await api.status();
      setStatus(next);
      setError(null);
    } catch (reason) {
      setError(toApiError(reason));
    }
  }, [api]);

  useEffect(() => {
    void refresh();
    const stopTraining = api.subscribe('training', (training) => {
      setStatus((current) => (current ? { ...current, training } : current));
      if (training.state !== 'running') void refresh();
    });
    // A project opened by a menu command or another tab changes the model and the project in the status.
    const stopProject = api.subscribe('project', () => void refresh());
    return () => {
      stopTraining();
      stopProject();
    };
  }, [api, refresh]);

  return { status, error, refresh };
}
