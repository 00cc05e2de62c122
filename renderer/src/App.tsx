import { useEffect, useState } from 'react';

/** Placeholder page shown until the workbench views exist. */
export function App() {
  const [version, setVersion] = useState<string | null>(null);

  useEffect(() => {
    const api = window.api;
    if (!api) return;
    let active = true;
    api.appVersion().then(
      (value) => {
        if (active) setVersion(value);
      },
      (error: unknown) => {
        console.error('window.api.appVersion failed', error);
      },
    );
    return () => {
      active = false;
    };
  }, []);

  return (
    <main className="placeholder">
      <h1>Localist Workbench</h1>
      <p>
        The workbench UI is under construction. The command-line tool <code>localist</code> is available.
      </p>
      {version !== null && <p className="version">Version {version}</p>}
    </main>
  );
}
