import type { Theme } from './theme';

/** Switch between the light and the dark theme. */
export function ThemeToggle({ theme, onToggle }: { theme: Theme; onToggle: () => void }) {
  return (
    <button type="button" className="theme-toggle" aria-pressed={theme === 'dark'} onClick={onToggle} data-testid="theme-toggle">
      Dark theme
    </button>
  );
}
