import { useCallback, useEffect, useRef, useState } from 'react';

/**
 * Returns whether a value has rested: `markChanged` clears `settled`, which
 * becomes true again `delayMs` milliseconds after the last call.
 */
export function useSettling(delayMs: number): { settled: boolean; markChanged: () => void } {
  const [settled, setSettled] = useState(true);
  const timer = useRef<number | undefined>(undefined);

  const markChanged = useCallback(() => {
    setSettled(false);
    window.clearTimeout(timer.current);
    timer.current = window.setTimeout(() => setSettled(true), delayMs);
  }, [delayMs]);

  useEffect(() => () => window.clearTimeout(timer.current), []);
  return { settled, markChanged };
}
