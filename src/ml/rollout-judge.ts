/**
 * The verdict of one rollout step: is the new version worse than production on what both served?
 * Four checks, each a test that fits its data and controls false alarms at the step's sample size:
 *   errors    one-sided Fisher exact test on failed / answered requests
 *   latency   one-sided Mann-Whitney test on the two latency histograms (ties by bucket)
 *   outputs   chi-square homogeneity test on the output bins, merged until every expected count is >= 5
 *   accuracy  one-sided Fisher exact test on wrong / labelled predictions, once both have `minLabels`
 * Holm's procedure holds the step's false-alarm rate to `falseAlarmRate / looks` (the rollout's rate split
 * evenly over its judged steps, whose samples do not overlap), and a significant check breaches only if its
 * size also passes the practical threshold (so a real but harmless difference on heavy traffic passes).
 * Below `minRequests` on either side nothing is tested: the step is inconclusive and bakes longer.
 * Pure: the rollout activity, its simulation test and its benchmark run exactly this.
 */
import { psi } from './drift';
import { chiSquareHomogeneity, fisherGreater, holm, mannWhitneyGreater } from './two-sample-tests';

/** When a new version counts as worse than production. */
export interface CanaryThresholds {
  /** Smallest rise in the share of failed requests that counts (0.01 = one percentage point), once significant. */
  maxErrorRateIncrease?: number;
  /** p99 latency must exceed production's by this factor, and by `minLatencyIncreaseMs`, once significantly slower. */
  maxLatencyRatio?: number;
  minLatencyIncreaseMs?: number;
  /** Smallest PSI between the two versions' (merged) output bins that counts, once significant. */
  maxPsi?: number;
  /** Smallest drop in live accuracy that counts, once significant; tested when both have `minLabels` labels. */
  maxAccuracyDrop?: number;
  minLabels?: number;
  /** Fewest requests each version must have answered in the step before it is judged; fewer bakes longer. */
  minRequests?: number;
  /** Largest chance that a version no worse than production is rolled back, over the whole rollout. */
  falseAlarmRate?: number;
}

/**
 * Defaults. The minimum samples are sized by simulation (test/rollout-statistics.test.ts,
 * bench/rollout_analysis.ts): at a 0.5% false-alarm rate a canary through the default steps then catches
 * 5 points more errors (1% -> 6%) and 10 points less live accuracy (90% -> 80%) in at least 95% of
 * rollouts. Half of the 1% false-alarm budget is spent, so that the bound also shows in a simulation of
 * 1,000 rollouts despite its sampling error. minLabels is below minRequests so that when every answer is
 * labelled, a step with its minimum requests (a few of them failed, so unlabelled) also tests accuracy.
 */
export const DEFAULT_THRESHOLDS: Required<CanaryThresholds> = {
  maxErrorRateIncrease: 0.01, maxLatencyRatio: 2, minLatencyIncreaseMs: 50, maxPsi: 0.2, maxAccuracyDrop: 0.05,
  minLabels: 250, minRequests: 300, falseAlarmRate: 0.005,
};

/** What one version served in the step: counts only (the store keeps no raw samples). */
export interface Observed {
  requests: number;
  errors: number;
  /** Answered requests per latency bucket (the last bucket: above every bound). */
  latency: ArrayLike<number>;
  /** Output rows per bin, in production's bins. */
  outputs: ArrayLike<number>;
  labelled: number;
  correct: number;
}

export type CheckName = 'errors' | 'latency' | 'outputs' | 'accuracy';

export interface Check {
  check: CheckName;
  /** One-sided p-value (homogeneity for outputs); null when the check could not run. */
  p: number | null;
  /** The level its p-value was held to by Holm's procedure (when it ran). */
  level?: number;
  significant: boolean;
  /** The size of the difference passed its practical threshold. */
  material: boolean;
  breach: boolean;
  /** What was compared, in words, for the rollout's record and its breach message. */
  detail: string;
}

export interface Verdict {
  conclusive: boolean;
  /** PSI over the merged output bins (production expected, new actual), when both have outputs. */
  psi: number | null;
  breaches: string[];
  checks: Check[];
  /** The step's family-wise false-alarm level. */
  alpha: number;
}

/** The upper bound of the bucket holding quantile q of a histogram (Infinity: the open last bucket). */
export function histogramQuantile(counts: ArrayLike<number>, bounds: readonly number[], q: number): number | null {
  let n = 0;
  for (let i = 0; i < counts.length; i++) n += counts[i];
  if (n === 0) return null;
  let seen = 0;
  for (let b = 0; b < counts.length; b++) {
    seen += counts[b];
    if (seen >= q * n) return b < bounds.length ? bounds[b] : Infinity;
  }
  return Infinity;
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const sci = (x: number) => (x >= 0.001 ? x.toFixed(4) : x.toExponential(1));
const total = (v: ArrayLike<number>) => { let s = 0; for (let i = 0; i < v.length; i++) s += v[i]; return s; };

/**
 * Judges one step. `looks` is how many steps of the rollout are judged (its false-alarm rate is split
 * over them); `latencyBounds` are the upper bounds of the latency buckets in milliseconds.
 */
export function judge(candidate: Observed, production: Observed, t: Required<CanaryThresholds>, o: { looks?: number; latencyBounds: readonly number[] }): Verdict {
  const alpha = t.falseAlarmRate / Math.max(1, o.looks ?? 1);
  const conclusive = candidate.requests >= t.minRequests && production.requests >= t.minRequests;
  if (!conclusive) return { conclusive, psi: null, breaches: [], checks: [], alpha };

  type Pending = Omit<Check, 'significant' | 'breach' | 'level'> & { message: string };
  const pending: Pending[] = [];
  const skipped: Check[] = [];
  const skip = (check: CheckName, detail: string) => skipped.push({ check, p: null, significant: false, material: false, breach: false, detail });

  // errors: failed requests among all requests
  {
    const rc = candidate.errors / candidate.requests, rp = production.errors / production.requests;
    pending.push({
      check: 'errors', p: fisherGreater(candidate.errors, candidate.requests, production.errors, production.requests), material: rc - rp > t.maxErrorRateIncrease,
      detail: `${candidate.errors}/${candidate.requests} failed against ${production.errors}/${production.requests}`,
      message: `error rate ${pct(rc)} against production's ${pct(rp)}`,
    });
  }

  // latency: a rank test on the answered requests' buckets, p99 for the practical size
  if (total(candidate.latency) > 0 && total(production.latency) > 0) {
    const mw = mannWhitneyGreater(candidate.latency, production.latency);
    const c99 = histogramQuantile(candidate.latency, o.latencyBounds, 0.99)!;
    const p99 = histogramQuantile(production.latency, o.latencyBounds, 0.99)!;
    pending.push({
      check: 'latency', p: mw.p, material: c99 > Math.max(p99 * t.maxLatencyRatio, p99 + t.minLatencyIncreaseMs),
      detail: `p99 ${c99} ms against ${p99} ms; P(new slower) ${mw.effect.toFixed(3)}`,
      message: `p99 latency ${c99} ms against production's ${p99} ms`,
    });
  } else skip('latency', 'no answered requests on one side');

  // outputs: homogeneity of the binned outputs, bins merged to the sample size
  const bins = Math.max(candidate.outputs.length, production.outputs.length);
  let shift: number | null = null;
  if (bins > 1 && total(candidate.outputs) > 0 && total(production.outputs) > 0) {
    const pad = (v: ArrayLike<number>) => Array.from({ length: bins }, (_, i) => v[i] ?? 0);
    const test = chiSquareHomogeneity(pad(candidate.outputs), pad(production.outputs));
    shift = test.a.length > 1 ? psi(test.b, test.a) : 0;
    pending.push({
      check: 'outputs', p: test.p, material: shift > t.maxPsi,
      detail: `chi-square ${test.statistic.toFixed(2)} on ${test.dof} degrees of freedom (${test.a.length} of ${bins} bins); PSI ${shift.toFixed(3)}`,
      message: `output distribution shifted: PSI ${shift.toFixed(3)} > ${t.maxPsi}`,
    });
  } else skip('outputs', 'no binned outputs on one side');

  // live accuracy: wrong answers among labelled predictions
  if (candidate.labelled >= t.minLabels && production.labelled >= t.minLabels) {
    const ac = candidate.correct / candidate.labelled, ap = production.correct / production.labelled;
    pending.push({
      check: 'accuracy', p: fisherGreater(candidate.labelled - candidate.correct, candidate.labelled, production.labelled - production.correct, production.labelled),
      material: ap - ac > t.maxAccuracyDrop,
      detail: `${candidate.correct}/${candidate.labelled} right against ${production.correct}/${production.labelled}`,
      message: `live accuracy ${pct(ac)} against production's ${pct(ap)}`,
    });
  } else skip('accuracy', `${candidate.labelled} and ${production.labelled} labelled; ${t.minLabels} each needed`);

  const rejected = holm(pending.map((c) => c.p!), alpha);
  // the level each p-value met or missed: alpha / (checks left) at its place in Holm's order
  const level = new Array<number>(pending.length);
  pending.map((c, i) => [c.p!, i] as const).sort((x, y) => x[0] - y[0]).forEach(([, i], rank) => { level[i] = alpha / (pending.length - rank); });
  const breaches: string[] = [];
  const checks: Check[] = pending.map(({ message, ...c }, i) => {
    const breach = rejected[i] && c.material;
    if (breach) breaches.push(`${message} (p = ${sci(c.p!)} < ${sci(level[i])})`);
    return { ...c, level: level[i], significant: rejected[i], breach };
  });
  return { conclusive, psi: shift, breaches, checks: [...checks, ...skipped], alpha };
}
