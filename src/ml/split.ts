/** Seeded, stratified train / validation / test split over row indices. */
import { createRng, shuffleInPlace } from './random';

export interface Split {
  train: Int32Array;
  validation: Int32Array;
  test: Int32Array;
}

export interface SplitOptions {
  seed: number;
  validationFraction: number;
  testFraction: number;
}

/**
 * Splits rows with a known label (y not NaN) so each class keeps its share in every part.
 * The same labels, seed and fractions always give the same split.
 */
export function stratifiedSplit(y: Float64Array, options: SplitOptions): Split {
  const rng = createRng(options.seed);
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < y.length; i++) {
    if (Number.isNaN(y[i])) continue;
    const rows = byClass.get(y[i]) ?? [];
    rows.push(i);
    byClass.set(y[i], rows);
  }
  const train: number[] = [];
  const validation: number[] = [];
  const test: number[] = [];
  for (const label of [...byClass.keys()].sort((a, b) => a - b)) {
    const rows = byClass.get(label)!;
    shuffleInPlace(rows, rng);
    const nTest = Math.round(rows.length * options.testFraction);
    const nValidation = Math.round(rows.length * options.validationFraction);
    // a loop, not push(...rows): spreading millions of rows as arguments overflows the stack
    for (let k = 0; k < rows.length; k++) (k < nTest ? test : k < nTest + nValidation ? validation : train).push(rows[k]);
  }
  const sorted = (rows: number[]) => Int32Array.from(rows).sort();
  return { train: sorted(train), validation: sorted(validation), test: sorted(test) };
}
