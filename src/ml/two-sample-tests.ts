/**
 * Two-sample tests on the counts a rollout has (no raw samples): proportions (errors, wrong answers),
 * latency histograms and binned outputs. Each answers one one-sided or homogeneity question with a
 * p-value that is valid, or conservative, at the sample sizes a canary step sees; Holm's procedure
 * combines several into one decision at a family-wise level. Plain functions on numbers, so the
 * rollout analysis, its simulation and its benchmark all run the same code.
 */
import { chi2Sf, gammaQ, logGamma } from './special-functions';

/** P(Z > z) for a standard normal Z: erfc through the incomplete gamma, Q(1/2, z²/2) = erfc(z/√2). */
export function normalSf(z: number): number {
  if (Number.isNaN(z)) return NaN;
  const half = 0.5 * gammaQ(0.5, (z * z) / 2);
  return z >= 0 ? half : 1 - half;
}

const logChoose = (n: number, k: number) => logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1);

/**
 * One-sided Fisher exact test that group A's rate is higher than group B's: `a` events in `na` trials
 * against `b` in `nb`. Conditional on the total events, A's count is hypergeometric under the null of
 * equal rates, so the p-value P(X >= a) is exact (and conservative, being discrete) at any sample size,
 * the small error counts of a canary step included. No trials on either side gives 1.
 */
export function fisherGreater(a: number, na: number, b: number, nb: number): number {
  if (na <= 0 || nb <= 0) return 1;
  const n = na + nb;
  const k = a + b;
  const hi = Math.min(k, na);
  if (a > hi) return 0;
  // the first term in logs, the rest by the ratio of successive hypergeometric probabilities
  let term = Math.exp(logChoose(k, a) + logChoose(n - k, na - a) - logChoose(n, na));
  let sum = term;
  for (let x = a; x < hi; x++) {
    term *= ((k - x) * (na - x)) / ((x + 1) * (n - k - na + x + 1));
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return Math.min(1, sum);
}

/**
 * One-sided Mann-Whitney U test that A's values tend to be larger than B's, from two histograms over the
 * same ordered buckets (latency buckets: values in one bucket are ties). Mid-ranks for ties, the
 * tie-corrected variance and a continuity correction of 1/2, normal approximation (sound from a few tens
 * per side, which the rollout's minimum sample is far above). Returns the p-value and the common-language
 * effect P(A > B) + P(A = B)/2.
 */
export function mannWhitneyGreater(a: ArrayLike<number>, b: ArrayLike<number>): { p: number; z: number; effect: number } {
  const buckets = Math.max(a.length, b.length);
  let na = 0, nb = 0;
  for (let i = 0; i < buckets; i++) { na += a[i] ?? 0; nb += b[i] ?? 0; }
  if (na === 0 || nb === 0) return { p: 1, z: 0, effect: 0.5 };
  const n = na + nb;
  let u = 0;          // Σ over A's values of (B's values below) + half of B's ties
  let below = 0;      // B's values in lower buckets
  let ties = 0;       // Σ (t³ - t) over buckets
  for (let i = 0; i < buckets; i++) {
    const ai = a[i] ?? 0, bi = b[i] ?? 0;
    u += ai * (below + bi / 2);
    below += bi;
    const t = ai + bi;
    ties += t * t * t - t;
  }
  const mean = (na * nb) / 2;
  const variance = ((na * nb) / 12) * (n + 1 - ties / (n * (n - 1)));
  const effect = u / (na * nb);
  if (!(variance > 0)) return { p: 1, z: 0, effect };
  const z = (u - mean - 0.5) / Math.sqrt(variance);
  return { p: normalSf(z), z, effect };
}

/**
 * Merges adjacent bins so that, for two samples compared on them, every expected cell count under
 * homogeneity is at least `minExpected`: a bin's pooled count times the smaller sample's share of the
 * total. Merging looks at pooled counts only (never at how they split between the samples), so it does
 * not bias the test; more data keeps more bins. Returns the merged counts of both samples.
 */
export function mergeBins(a: ArrayLike<number>, b: ArrayLike<number>, minExpected = 5): { a: number[]; b: number[] } {
  const bins = Math.max(a.length, b.length);
  let na = 0, nb = 0;
  for (let i = 0; i < bins; i++) { na += a[i] ?? 0; nb += b[i] ?? 0; }
  const n = na + nb;
  if (na === 0 || nb === 0) return { a: [na], b: [nb] };
  const needed = (minExpected * n) / Math.min(na, nb); // pooled count a merged bin needs
  const ma: number[] = [], mb: number[] = [];
  let ca = 0, cb = 0;
  for (let i = 0; i < bins; i++) {
    ca += a[i] ?? 0; cb += b[i] ?? 0;
    if (ca + cb >= needed) { ma.push(ca); mb.push(cb); ca = 0; cb = 0; }
  }
  // what is left over is too little on its own: it joins the last bin (or is the only one)
  if (ca + cb > 0 || ma.length === 0) {
    if (ma.length === 0) { ma.push(ca); mb.push(cb); } else { ma[ma.length - 1] += ca; mb[mb.length - 1] += cb; }
  }
  return { a: ma, b: mb };
}

/**
 * Pearson's chi-square test that two samples of binned counts come from one distribution (2 x k
 * homogeneity), after `mergeBins`: p-value from the chi-square distribution with k - 1 degrees of
 * freedom. Fewer than two bins after merging leaves nothing to compare (p = 1).
 */
export function chiSquareHomogeneity(a: ArrayLike<number>, b: ArrayLike<number>, minExpected = 5): { p: number; statistic: number; dof: number; a: number[]; b: number[] } {
  const merged = mergeBins(a, b, minExpected);
  const k = merged.a.length;
  if (k < 2) return { p: 1, statistic: 0, dof: 0, ...merged };
  let na = 0, nb = 0;
  for (let i = 0; i < k; i++) { na += merged.a[i]; nb += merged.b[i]; }
  const n = na + nb;
  let statistic = 0;
  for (let i = 0; i < k; i++) {
    const pooled = merged.a[i] + merged.b[i];
    const ea = (pooled * na) / n, eb = (pooled * nb) / n;
    statistic += (merged.a[i] - ea) ** 2 / ea + (merged.b[i] - eb) ** 2 / eb;
  }
  return { p: chi2Sf(statistic, k - 1), statistic, dof: k - 1, ...merged };
}

/**
 * Holm's step-down procedure: which of the p-values are rejected with the family-wise error rate at
 * most `alpha`. The smallest is held to alpha / m, the next to alpha / (m - 1), and so on, stopping at the
 * first that passes. Never worse than Bonferroni, and valid under any dependence between the tests.
 */
export function holm(pvalues: readonly number[], alpha: number): boolean[] {
  const m = pvalues.length;
  const order = pvalues.map((p, i) => [p, i] as const).sort((x, y) => x[0] - y[0]);
  const rejected = new Array<boolean>(m).fill(false);
  for (let r = 0; r < m; r++) {
    const [p, i] = order[r];
    if (!(p <= alpha / (m - r))) break;
    rejected[i] = true;
  }
  return rejected;
}
