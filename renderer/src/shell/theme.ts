import { useCallback, useEffect, useState } from 'react';
import type { WorkbenchApi } from '../../../common/api';

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

/** Sets the theme and remembers the choice. */
function chooseTheme(next: Theme): void {
  applyTheme(next);
  try {
    window.localStorage.setItem(THEME_STORAGE_KEY, next);
  } catch {
    // As in readStoredTheme: without storage the choice lasts until the page reloads.
  }
}

/**
 * Returns the current theme and a function that switches it and remembers
 * the choice. A `theme` event, sent by the desktop app's View menu, sets it too.
 */
export function useTheme(subscribe?: WorkbenchApi['subscribe']): { theme: Theme; toggleTheme: () => void } {
  const [theme, setTheme] = useState<Theme>(() => (document.documentElement.dataset.theme === 'dark' ? 'dark' : 'light'));

  const toggleTheme = useCallback(() => {
    const next: Theme = theme === 'dark' ? 'light' : 'dark';
    chooseTheme(next);
    setTheme(next);
  }, [theme]);

  useEffect(() => {
    if (!subscribe) return undefined;
    return subscribe('theme', ({ theme: next }) => {
      chooseTheme(next);
      setTheme(next);
    });
  }, [subscribe]);

  return { theme, toggleTheme };
}
