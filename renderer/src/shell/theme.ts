import { useCallback, useState } from 'react';

export type Theme = 'light' | 'dark';

/** localStorage key of the theme the user chose with the toggle. */
export const THEME_STORAGE_KEY = 'localist.theme';

function readStoredTheme(): Theme | null {
  try {
    const stored = window.localStorage.getItem(THEME_STORAGE_KEY);
    return stored === 'light' || stored === 'dark' ? stored : null;
  } catch {
    // Storage can be disabled by the browser's privacy settings; then the theme is not remembered.
    return null;
  }
}

/**
 * Returns the theme the user chose last, or, until they choose one, the
 * operating system's preference (`prefers-color-scheme`).
 */
export function initialTheme(): Theme {
  const stored = readStoredTheme();
  if (stored) return stored;
  return window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

/** Sets the theme on the document element, where styles.css reads it. */
export function applyTheme(theme: Theme): void {
  document.documentElement.dataset.theme = theme;
}

/** Returns the current theme and a function that switches it and remembers the choice. */
export function useTheme(): { theme: Theme; toggleTheme: () => void } {
  const [theme, setTheme] = useState<Theme>(() => (document.documentElement.dataset.theme === 'dark' ? 'dark' : 'light'));

  const toggleTheme = useCallback(() => {
    const next: Theme = theme === 'dark' ? 'light' : 'dark';
    applyTheme(next);
    try {
      window.localStorage.setItem(THEME_STORAGE_KEY, next);
    } catch {
      // As in readStoredTheme: without storage the choice lasts until the page reloads.
    }
    setTheme(next);
  }, [theme]);

  return { theme, toggleTheme };
}
