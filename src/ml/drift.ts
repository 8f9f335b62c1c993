/**
 * Distribution comparisons: the population stability index over binned counts, and the two-sample
 * Kolmogorov-Smirnov statistic with its asymptotic p-value.
 */

/**
 * PSI = Σ (a_i - e_i) · ln(a_i / e_i) over bin shares, with empty bins given a small share so the sum
 * stays finite. Common reading: < 0.1 stable, 0.1–0.2 a moderate shift, > 0.2 a significant one.
 */
export function psi(expected: ArrayLike<number>, actual: ArrayLike<number>, floor = 1e-4): number {
  if (expected.length !== actual.length) throw new Error(`psi needs equal bins, got ${expected.length} and ${actual.length}`);
  const total = (v: ArrayLike<number>) => { let s = 0; for (let i = 0; i < v.length; i++) s += v[i]; return s; };
  const [te, ta] = [total(expected), total(actual)];
  if (te === 0 || ta === 0) return NaN;
  let sum = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.max(expected[i] / te, floor);
    const a = Math.max(actual[i] / ta, floor);
    sum += (a - e) * Math.log(a / e);
  }
  return sum;
}

/** Index of the bin of `value` among ascending `edges` (value <= edges[b] goes to bin b; above all: last). */
export function binIndex(edges: ArrayLike<number>, value: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (value <= edges[mid]) hi = mid; else lo = mid + 1;
  }
  return lo;
}
