/**
 * The seeded pseudo-random generator (mulberry32), so splits, training and search plans repeat exactly
 * for a seed. It lives in src/common, the code that workflows may import (eslint.config.mjs holds it to
 * the sandbox rule): tuning plans are drawn inside the workflow, and a replay must draw the same numbers.
 */

/** A generator of numbers in [0, 1), the same sequence for the same seed. */
export function createRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
