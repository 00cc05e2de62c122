/**
 * Seeded pseudo-random numbers, so that corpus splits, initializations and
 * sampling repeat exactly for a given seed. The generator is mulberry32: a
 * 32-bit state, period 2^32, fast and good enough for shuffling and sampling,
 * but not for cryptography.
 */

/** A function that returns uniform numbers in [0, 1). */
export type Random = () => number;

/** Creates a mulberry32 generator. Equal seeds give equal sequences. */
export function createRandom(seed: number): Random {
  if (!Number.isSafeInteger(seed)) {
    throw new Error(`random seed ${seed} is invalid; use an integer such as 1`);
  }
  // Only the low 32 bits of the seed set the state.
  let state = seed >>> 0;

  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
}

/** Shuffles an array or typed array in place (Fisher-Yates) and returns it. */
export function shuffleInPlace<T extends { length: number; [index: number]: unknown }>(array: T, random: Random): T {
  for (let i = array.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const item = array[i];
    array[i] = array[j];
    array[j] = item;
  }
  return array;
}
