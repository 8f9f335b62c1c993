/**
 * Hyperparameter search plans, computed inside the workflow (deterministic: a seeded generator, no
 * I/O). Random search scores every sampled point on all training rows; successive halving scores
 * them on a small share first and promotes the best third to each larger share (ASHA's rungs, run
 * rung by rung so the history stays small and the result repeats).
 */
import { createRng } from '../common/random';
import type { SearchSpec } from '../domain/pipeline-input';

export type { SearchSpec };

export const DEFAULT_TRIALS = 9;
export const DEFAULT_L2_RANGE: [number, number] = [1e-5, 10];
export const HALVING_RATE = 3;

/** Log-uniform samples from the range, reproducible from the seed. */
export function sampleL2(spec: SearchSpec, seed: number): number[] {
  const [lo, hi] = spec.l2Range ?? DEFAULT_L2_RANGE;
  const rng = createRng(seed ^ 0x7a11);
  return Array.from({ length: spec.trials ?? DEFAULT_TRIALS }, () => 10 ** (Math.log10(lo) + rng() * (Math.log10(hi) - Math.log10(lo))));
}

/** Shares of the training rows per rung: 1/η^R ... 1/η, 1, with R rungs before the last. */
export function rungFractions(strategy: 'random' | 'halving', trials: number): number[] {
  if (strategy === 'random' || trials < HALVING_RATE) return [1];
  const rungs = Math.floor(Math.log(trials) / Math.log(HALVING_RATE));
  return Array.from({ length: rungs + 1 }, (_, k) => HALVING_RATE ** (k - rungs));
}

/** Runs `fn` over `items` with at most `limit` running at once, keeping the order of results. */
export async function mapLimited<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  });
  await Promise.all(lanes);
  return results;
}
