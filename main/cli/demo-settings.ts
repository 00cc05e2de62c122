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
 * On a 2-core machine with two replicas, 420 s trained 540 steps (1.1 million
 * tokens) and reached a test perplexity of 156 against the bigram's 177
 * (`npm run bench:demo` prints these figures).
 */
export const DEMO_TIME_BUDGET_SECONDS: number | null = 420;

/**
 * Evaluation cap of the full demo's lambda sweep, in tokens per lambda. The
 * comparison with the bigram baseline uses the whole test split.
 */
export const DEMO_SWEEP_MAX_TOKENS = 16_384;
