/** Seeded randomness for the ML core: the generator (in src/common, since workflows draw from it too) and a shuffle. */
export { createRng } from '../common/random';

/** Fisher-Yates shuffle in place. */
export function shuffleInPlace(items: Int32Array | number[], rng: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const tmp = items[i];
    items[i] = items[j];
    items[j] = tmp;
  }
}
