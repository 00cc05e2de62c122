/** Settings of `localist demo`, kept apart so that they can be tuned without touching the command. */

/** Training steps of the full demo run on the Brown corpus. */
export const DEMO_STEPS = 900;

/** Training steps of `localist demo --quick`, a smoke test for CI. */
export const QUICK_DEMO_STEPS = 20;

/** Evaluation cap of `localist demo --quick`, in tokens per lambda. */
export const QUICK_DEMO_MAX_TOKENS = 4096;

/** Checkpoint the demo writes, relative to the working folder. */
export const DEMO_CHECKPOINT = 'runs/demo.localist';

/**
 * Wall-clock limit of the full demo's training in seconds, or null for none.
 * With a limit, a slower machine trains fewer steps instead of taking longer.
 */
export const DEMO_TIME_BUDGET_SECONDS: number | null = null;
