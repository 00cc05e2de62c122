/** Step of the locality dial for the arrow keys and the slider's own step. */
export const DIAL_STEP = 0.01;
/** Step of the locality dial for Page Up and Page Down. */
export const DIAL_PAGE_STEP = 0.1;

/** Clamps a dial value to [0, 1] and rounds it to the dial's step of 0.01. */
export function roundDial(value: number): number {
  const clamped = Math.min(1, Math.max(0, value));
  return Math.round(clamped * 100) / 100;
}

/**
 * Returns the dial value that a key moves `value` to, or null for a key the
 * dial does not handle. The arrow keys step by 0.01, Page Up and Page Down
 * by 0.1, Home goes to 0 and End to 1.
 */
export function dialValueForKey(key: string, value: number): number | null {
  switch (key) {
    case 'ArrowRight':
    case 'ArrowUp':
      return roundDial(value + DIAL_STEP);
    case 'ArrowLeft':
    case 'ArrowDown':
      return roundDial(value - DIAL_STEP);
    case 'PageUp':
      return roundDial(value + DIAL_PAGE_STEP);
    case 'PageDown':
      return roundDial(value - DIAL_PAGE_STEP);
    case 'Home':
      return 0;
    case 'End':
      return 1;
    default:
      return null;
  }
}

/** Formats a dial value with the two decimals of its step, as "0.80". */
export function formatLambda(value: number): string {
  return value.toFixed(2);
}
