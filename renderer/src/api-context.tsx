import { createContext, useContext, type ReactNode } from 'react';
import type { WorkbenchApi } from '../../common/api';

const ApiContext = createContext<WorkbenchApi | null>(null);

/** Makes `api` available to every view below it through `useApi`. */
export function ApiProvider({ api, children }: { api: WorkbenchApi; children: ReactNode }) {
  return <ApiContext.Provider value={api}>{children}</ApiContext.Provider>;
}

/** Returns the workbench API that the nearest `ApiProvider` supplies. */
export function useApi(): WorkbenchApi {
  const api = useContext(ApiContext);
  if (api === null) throw new Error('useApi was called outside <ApiProvider>; wrap the view in <ApiProvider api={getApi()}>');
  return api;
}
