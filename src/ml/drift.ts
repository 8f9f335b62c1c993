/**
 * Distribution comparisons for drift monitoring, each matching its scipy counterpart (scipy 1.17):
 * - the population stability index over binned counts (`psi`) and the bins themselves (`quantileEdges`,
 *   `binIndex`, `binCounts`);
 * - the two-sample Kolmogorov-Smirnov test (`ks2Samp`, as scipy.stats.ks_2samp, two-sided);
 * - Pearson's chi-square goodness-of-fit test (`chiSquare`, as scipy.stats.chisquare);
 * - the Jensen-Shannon distance (`jensenShannon`, as scipy.spatial.distance.jensenshannon);
 * - the 1-D Wasserstein distance (`wasserstein`, as scipy.stats.wasserstein_distance, unweighted).
 *
 * Samples are typed arrays or plain arrays; NaN marks a missing value and is left out (scipy would
 * propagate it). The sample statistics work on sorted copies: a radix sort of the float64 bit patterns
 * and merge walks over two sorted arrays, which is what keeps a million-row comparison cheap.
 * Functions named `...Sorted` take arrays already sorted ascending without NaN (from `sortedValues`),
 * so a caller comparing one sample several ways sorts it once.
 */
import { chi2Sf, kolmogorovSmirnovSf } from './special-functions';

/**
 * PSI = Σ (a_i - e_i) · ln(a_i / e_i) over bin shares, with empty bins given a small share (`floor`) so the
 * sum stays finite. Common reading: < 0.1 stable, 0.1–0.2 a moderate shift, > 0.2 a significant one.
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

// ---------------------------------------------------------------------------------------------------
// Sorting

/** Below this length the built-in sort wins over the radix sort's fixed cost. */
const RADIX_MIN_LENGTH = 512;

/**
 * The values without NaN, sorted ascending, as a new Float64Array. Large inputs use an LSD radix sort
 * on the IEEE-754 bit patterns (`radixSortWords`).
 */
export function sortedValues(values: ArrayLike<number>): Float64Array {
  const a = withoutNaN(values, Float64Array);
  if (a.length < RADIX_MIN_LENGTH) return a.sort();
  return new Float64Array(radixSortWords(new Uint32Array(a.buffer, a.byteOffset, 2 * a.length), 2).buffer);
}

/**
 * The values without NaN, rounded to float32 and sorted ascending: the same numbers as
 * `Float32Array.from(sortedValues(values))` (rounding keeps the order), sorted in half the passes.
 */
export function sortedFloat32s(values: ArrayLike<number>): Float32Array {
  const a = withoutNaN(values, Float32Array);
  if (a.length < RADIX_MIN_LENGTH) return a.sort();
  return new Float32Array(radixSortWords(new Uint32Array(a.buffer, a.byteOffset, a.length), 1).buffer);
}

function withoutNaN<T extends Float64Array | Float32Array>(values: ArrayLike<number>, Type: { new (n: number): T }): T {
  const n = values.length;
  const a = new Type(n);
  let count = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v === v) a[count++] = v; // v !== v only for NaN
  }
  return count < n ? a.slice(0, count) as T : a;
}

/**
 * LSD radix sort of floats given as their little-endian 32-bit words (`wordsPer` 2 for float64, 1 for
 * float32): 11-bit digits, three per word, a pass skipped when every value shares its digit (as the
 * low bits of integer-valued data do). Sorted as unsigned integers, the negative numbers end up after
 * the positive ones in order of growing magnitude, so a last pass reverses them to the front. Returns
 * new words.
 */
function radixSortWords(input: Uint32Array, wordsPer: 1 | 2): Uint32Array {
  const n = input.length / wordsPer;
  const passes = 3 * wordsPer;
  let a: Uint32Array = input;
  let b: Uint32Array = new Uint32Array(input.length);
  // one histogram per pass, all filled in a single read: digits are bits 0-10, 11-21, 22-31 of each word
  const histogram = new Int32Array(passes * 2048);
  for (let i = 0; i < input.length; i++) {
    const word = a[i];
    const offset = (i & (wordsPer - 1)) * 6144; // the word's place in its float
    histogram[offset + (word & 2047)]++;
    histogram[offset + 2048 + ((word >>> 11) & 2047)]++;
    histogram[offset + 4096 + (word >>> 22)]++;
  }
  for (let pass = 0; pass < passes; pass++) {
    const offset = pass * 2048;
    const word = pass < 3 ? 0 : 1;
    const shift = (pass % 3) * 11;
    let sum = 0;
    let trivial = false;
    for (let d = 0; d < 2048; d++) {
      const c = histogram[offset + d];
      if (c === n) { trivial = true; break; }
      histogram[offset + d] = sum;
      sum += c;
    }
    if (trivial) continue;
    if (wordsPer === 1) {
      for (let i = 0; i < n; i++) b[histogram[offset + ((a[i] >>> shift) & 2047)]++] = a[i];
    } else {
      // whole float64s move faster than their two words
      const from64 = new Float64Array(a.buffer, a.byteOffset, n), to64 = new Float64Array(b.buffer, b.byteOffset, n);
      for (let i = 0; i < n; i++) to64[histogram[offset + ((a[2 * i + word] >>> shift) & 2047)]++] = from64[i];
    }
    [a, b] = [b, a];
  }
  // a: non-negatives ascending, then negatives by growing magnitude (sign bit set)
  const sign = wordsPer - 1;
  let firstNegative = 0;
  let hi = n;
  while (firstNegative < hi) {
    const mid = (firstNegative + hi) >> 1;
    if (a[wordsPer * mid + sign] >>> 31) hi = mid; else firstNegative = mid + 1;
  }
  if (firstNegative === n) return a;
  let o = 0;
  for (let i = n - 1; i >= firstNegative; i--) for (let w = 0; w < wordsPer; w++) b[o++] = a[wordsPer * i + w];
  b.set(a.subarray(0, wordsPer * firstNegative), o);
  return b;
}

// ---------------------------------------------------------------------------------------------------
// Two-sample Kolmogorov-Smirnov

export type KsMethod = 'auto' | 'exact' | 'asymp';
export interface KsResult { statistic: number; pvalue: number; method: 'exact' | 'asymp' }

/** scipy's 'auto' computes exact p-values while both samples have at most this many values. */
const KS_EXACT_MAX_N = 10000;
const INT32_MAX = 2147483647;

/**
 * Two-sided two-sample Kolmogorov-Smirnov test, as scipy.stats.ks_2samp(a, b, method=...):
 * the statistic is the largest gap between the two empirical CDFs (ties handled by evaluating both CDFs
 * after every copy of a value). 'exact' counts lattice paths (Hodges; the 1 - p recursion of Viehmann
 * for unequal sizes), and reports the statistic rounded to the path lattice as scipy does; 'asymp' uses
 * the exact one-sample distribution of D at the effective size round(n1 n2 / (n1 + n2)); 'auto' is exact
 * when both samples have at most 10,000 values. An exact request falls back to 'asymp' when the lattice is
 * too large (lcm beyond int32) or the count fails, which `method` in the result then says.
 * NaN values are left out. Throws when a sample has no values.
 */
export function ks2Samp(a: ArrayLike<number>, b: ArrayLike<number>, method: KsMethod = 'auto'): KsResult {
  return ks2SampSorted(sortedValues(a), sortedValues(b), method);
}

/** ks2Samp on samples already sorted ascending without NaN (see `sortedValues`). */
export function ks2SampSorted(a: Float64Array, b: Float64Array, method: KsMethod = 'auto'): KsResult {
  if (method !== 'auto' && method !== 'exact' && method !== 'asymp') throw new Error(`ks2Samp: unknown method "${method}" (auto, exact or asymp)`);
  const n1 = a.length;
  const n2 = b.length;
  if (n1 === 0 || n2 === 0) throw new Error(`ks2Samp needs values in both samples, got ${n1} and ${n2} (after leaving out NaN)`);
  let d = ksStatisticSorted(a, b);
  const g = gcd(n1, n2);
  const n1g = n1 / g;
  const n2g = n2 / g;
  let mode: 'exact' | 'asymp';
  if (method === 'auto') mode = Math.max(n1, n2) <= KS_EXACT_MAX_N ? 'exact' : 'asymp';
  else if (method === 'exact') mode = n1g >= INT32_MAX / n2g ? 'asymp' : 'exact';
  else mode = 'asymp';

  if (mode === 'exact') {
    const lcm = n1g * n2;
    const h = Math.round(d * lcm); // d * lcm is within rounding of an integer, never near a half
    d = h / lcm;
    if (h === 0) return { statistic: d, pvalue: 1, method: 'exact' };
    const p = n1 === n2 ? equalSizesExceedance(n1, h) : bandExitProbability(n1, n2, g, h);
    if (p >= 0 && p <= 1) return { statistic: d, pvalue: p, method: 'exact' };
    // the count did not give a probability: fall back to the asymptotic one below, as scipy does
  }
  const [big, small] = n1 >= n2 ? [n1, n2] : [n2, n1];
  const effective = roundHalfEven((big * small) / (big + small));
  const pvalue = Math.min(1, Math.max(0, kolmogorovSmirnovSf(effective, d)));
  return { statistic: d, pvalue, method: 'asymp' };
}

/** max |F_a(x) - F_b(x)| over the pooled values, by one merge walk over the two sorted samples. */
export function ksStatisticSorted(a: Float64Array, b: Float64Array): number {
  const n1 = a.length;
  const n2 = b.length;
  let i = 0;
  let j = 0;
  let largest = 0;
  let smallest = 0;
  while (i < n1 && j < n2) {
    const v = a[i] <= b[j] ? a[i] : b[j];
    while (i < n1 && a[i] <= v) i++;
    while (j < n2 && b[j] <= v) j++;
    // the same expression scipy evaluates (i/n1 - j/n2), so the statistic agrees to the last bit
    const diff = i / n1 - j / n2;
    if (diff > largest) largest = diff;
    else if (diff < smallest) smallest = diff;
  }
  // once one sample is exhausted its CDF is 1 and the gap only closes: nothing more to look at
  return Math.max(largest, Math.min(1, -smallest));
}

function gcd(x: number, y: number): number {
  while (y !== 0) [x, y] = [y, x % y];
  return x;
}

/** Round to the nearest integer, halves to even (numpy's rounding, which picks the effective size). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * P(D >= h/n) for two samples of equal size n: 2 Σ_{k>=1} (-1)^(k-1) C(2n, n-kh) / C(2n, n).
 * Each binomial ratio is the previous one times h factors, and the alternating sum is nested
 * (A1 (1 - A2 (1 - A3 (...)))) from the innermost term out, so nothing large is subtracted.
 */
function equalSizesExceedance(n: number, h: number): number {
  let nested = 0;
  for (let k = Math.floor(n / h); k >= 0; k--) {
    // ratio C(2n, n - (k+1)h) / C(2n, n - kh)
    let ratio = 1;
    for (let j = 0; j < h; j++) ratio = ((n - k * h - j) * ratio) / (n + k * h + j + 1);
    nested = ratio * (1 - nested);
  }
  return 2 * nested;
}

/**
 * P(D >= h / lcm) for sizes m != n: one minus the share of monotone lattice paths from (0,0) to (m,n)
 * that stay strictly inside the band |x/m - y/n| < h/lcm. The share is built column by column with
 * Viehmann's normalised recursion, which works with 1 - share directly (entries stay in [0, 1], so no
 * huge path counts and no cancellation); only the window of rows inside the band is kept.
 */
function bandExitProbability(m0: number, n0: number, g: number, h: number): number {
  const [m, n] = m0 >= n0 ? [m0, n0] : [n0, m0];
  const mg = m / g;
  const ng = n / g;
  let lo = 0;
  let hi = Math.min(Math.ceil(h / mg), n + 1);
  let width = hi - lo;
  const column = new Float64Array(Math.min(2 * hi + 2, n + 1)).fill(1);
  column.fill(0, lo, hi);
  for (let i = 1; i <= m; i++) {
    const previousLo = lo;
    const previousWidth = width;
    lo = Math.min(Math.max(Math.floor((ng * i - h) / mg) + 1, 0), n);
    hi = Math.min(Math.ceil((ng * i + h) / mg), n + 1);
    if (hi <= lo) return 1; // the band closed: every path leaves it
    let value = lo === 0 ? 0 : 1;
    for (let r = 0; r < hi - lo; r++) {
      const y = r + lo;
      value = (column[r + lo - previousLo] * i + value * y) / (i + y);
      column[r] = value;
    }
    width = hi - lo;
    // rows that dropped out of the window read as "left the band" (1) when the window moves on
    if (previousWidth > width) column.fill(1, width, previousWidth);
  }
  return column[hi - lo - 1];
}

// ---------------------------------------------------------------------------------------------------
// Chi-square, Jensen-Shannon, Wasserstein

export interface ChiSquareResult { statistic: number; pvalue: number; dof: number }

/**
 * Pearson's chi-square goodness-of-fit test, as scipy.stats.chisquare(observed, expected): statistic
 * Σ (o - e)² / e, p-value from the chi-square distribution with k - 1 degrees of freedom. Without
 * `expected`, every category expects the mean count. When the two totals differ by more than scipy's
 * tolerance (√ε relative), scipy raises; we instead rescale `expected` to the observed total, i.e. read it
 * as proportions (reference shares against current counts, what drift monitoring means). One category
 * gives statistic 0, dof 0 and p-value 1 (scipy: NaN): nothing can differ. Throws on unequal lengths, no
 * categories, non-finite or negative observed counts, a zero observed total, or expected values <= 0.
 */
export function chiSquare(observed: ArrayLike<number>, expected?: ArrayLike<number>): ChiSquareResult {
  const k = observed.length;
  if (k === 0) throw new Error('chiSquare needs at least one category');
  let observedTotal = 0;
  for (let i = 0; i < k; i++) {
    const o = observed[i];
    if (!Number.isFinite(o) || o < 0) throw new Error(`chiSquare: observed counts must be finite and >= 0, got ${o} at ${i}`);
    observedTotal += o;
  }
  if (observedTotal === 0) throw new Error('chiSquare: the observed counts sum to zero');
  const e = new Float64Array(k);
  if (expected === undefined) {
    e.fill(observedTotal / k);
  } else {
    if (expected.length !== k) throw new Error(`chiSquare needs as many expected as observed counts, got ${expected.length} and ${k}`);
    let expectedTotal = 0;
    for (let i = 0; i < k; i++) {
      const x = expected[i];
      if (!(Number.isFinite(x) && x > 0)) throw new Error(`chiSquare: expected counts must be finite and > 0, got ${x} at ${i}`);
      expectedTotal += x;
      e[i] = x;
    }
    if (Math.abs(observedTotal - expectedTotal) / Math.min(observedTotal, expectedTotal) > Math.sqrt(Number.EPSILON)) {
      const scale = observedTotal / expectedTotal;
      for (let i = 0; i < k; i++) e[i] *= scale;
    }
  }
  let statistic = 0;
  for (let i = 0; i < k; i++) {
    const diff = observed[i] - e[i];
    statistic += (diff * diff) / e[i];
  }
  const dof = k - 1;
  return { statistic, pvalue: dof === 0 ? 1 : chi2Sf(statistic, dof), dof };
}

/**
 * Jensen-Shannon distance between two discrete distributions, as scipy.spatial.distance.jensenshannon:
 * both are normalised to sum 1, then √((KL(p‖m) + KL(q‖m)) / 2) with m = (p + q) / 2, logarithms in
 * `base` (default 2, so the distance lies in [0, 1]; scipy's default is e). Zero entries contribute
 * nothing. A divergence that rounds to a hair below zero gives 0, where scipy would return NaN.
 * Throws on unequal lengths, no entries, negative or non-finite entries, or a zero total.
 */
export function jensenShannon(p: ArrayLike<number>, q: ArrayLike<number>, base = 2): number {
  const k = p.length;
  if (q.length !== k) throw new Error(`jensenShannon needs equal lengths, got ${k} and ${q.length}`);
  if (k === 0) throw new Error('jensenShannon needs at least one entry');
  if (!(base > 0 && base !== 1 && Number.isFinite(base))) throw new Error(`jensenShannon: base must be positive and not 1, got ${base}`);
  const total = (v: ArrayLike<number>, name: string) => {
    let s = 0;
    for (let i = 0; i < k; i++) {
      if (!(Number.isFinite(v[i]) && v[i] >= 0)) throw new Error(`jensenShannon: ${name} must be finite and >= 0, got ${v[i]} at ${i}`);
      s += v[i];
    }
    if (s === 0) throw new Error(`jensenShannon: ${name} sums to zero`);
    return s;
  };
  const sp = total(p, 'p');
  const sq = total(q, 'q');
  let left = 0;
  let right = 0;
  for (let i = 0; i < k; i++) {
    const pi = p[i] / sp;
    const qi = q[i] / sq;
    const mi = (pi + qi) / 2;
    if (pi > 0) left += pi * Math.log(pi / mi);
    if (qi > 0) right += qi * Math.log(qi / mi);
  }
  const divergence = (left + right) / Math.log(base);
  return divergence > 0 ? Math.sqrt(divergence / 2) : 0;
}

/**
 * First Wasserstein (earth mover's) distance between two samples, as scipy.stats.wasserstein_distance
 * without weights: the area between the two empirical CDFs, ∫ |F_u - F_v| dx, by one merge walk over
 * the sorted samples. NaN values are left out. Throws when a sample has no values.
 */
export function wasserstein(u: ArrayLike<number>, v: ArrayLike<number>): number {
  return wassersteinSorted(sortedValues(u), sortedValues(v));
}

/** wasserstein on samples already sorted ascending without NaN. */
export function wassersteinSorted(u: Float64Array, v: Float64Array): number {
  const nu = u.length;
  const nv = v.length;
  if (nu === 0 || nv === 0) throw new Error(`wasserstein needs values in both samples, got ${nu} and ${nv} (after leaving out NaN)`);
  let i = 0;
  let j = 0;
  let area = 0;
  let x = u[0] <= v[0] ? u[0] : v[0];
  // between one pooled value x and the next, the CDFs are flat at i/nu and j/nv
  while (i < nu || j < nv) {
    while (i < nu && u[i] <= x) i++;
    while (j < nv && v[j] <= x) j++;
    if (i === nu && j === nv) break;
    const next = i < nu && (j === nv || u[i] <= v[j]) ? u[i] : v[j];
    area += Math.abs(i / nu - j / nv) * (next - x);
    x = next;
  }
  return area;
}

// ---------------------------------------------------------------------------------------------------
// Bins

/**
 * Interior bin edges at the reference quantiles k/bins (k = 1..bins-1), for use with `binIndex`
 * (value <= edge goes to the lower bin). The quantiles are order statistics (numpy's 'inverted_cdf':
 * the smallest value with at least k/bins of the data at or below it), so each edge is a value of the
 * data and every bin between two edges holds at least that value. Repeated edges are dropped, so a
 * value that fills several quantiles gets one bin rather than empty duplicates, and an edge at the
 * maximum is moved down to the largest value below it (or dropped), so the top bin is never empty.
 * NaN values are left out; throws when nothing is left or `bins` is not a positive integer.
 */
export function quantileEdges(values: ArrayLike<number>, bins: number): number[] {
  return quantileEdgesSorted(sortedValues(values), bins);
}

/** quantileEdges on values already sorted ascending without NaN. */
export function quantileEdgesSorted(sorted: ArrayLike<number>, bins: number): number[] {
  if (!(Number.isInteger(bins) && bins >= 1)) throw new Error(`quantileEdges: bins must be a positive integer, got ${bins}`);
  const n = sorted.length;
  if (n === 0) throw new Error('quantileEdges needs at least one value (after leaving out NaN)');
  const edges: number[] = [];
  for (let k = 1; k < bins; k++) {
    const index = Math.ceil((n * k) / bins) - 1;
    const edge = sorted[Math.max(0, index)];
    if (edges.length === 0 || edge > edges[edges.length - 1]) edges.push(edge);
  }
  const max = sorted[n - 1];
  if (edges.length > 0 && edges[edges.length - 1] >= max) {
    edges.pop();
    // the largest value below the maximum, when there is one and it is above the edge before
    const below = lowerBound(sorted, max) - 1;
    if (below >= 0 && (edges.length === 0 || sorted[below] > edges[edges.length - 1])) edges.push(sorted[below]);
  }
  return edges;
}

/** Counts per bin (edges.length + 1 bins, as `binIndex` assigns them) of unsorted values; NaN is left out. */
export function binCounts(values: ArrayLike<number>, edges: ArrayLike<number>): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === v) counts[binIndex(edges, v)]++;
  }
  return counts;
}

/** Counts per bin of values sorted ascending without NaN: one binary search per edge. */
export function binCountsSorted(sorted: ArrayLike<number>, edges: ArrayLike<number>): number[] {
  const counts = new Array<number>(edges.length + 1);
  let below = 0;
  for (let b = 0; b < edges.length; b++) {
    const upTo = upperBound(sorted, edges[b]);
    counts[b] = upTo - below;
    below = upTo;
  }
  counts[edges.length] = sorted.length - below;
  return counts;
}

/** Number of sorted values < x. */
function lowerBound(sorted: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < x) lo = mid + 1; else hi = mid;
  }
  return lo;
}

/** Number of sorted values <= x. */
function upperBound(sorted: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] <= x) lo = mid + 1; else hi = mid;
  }
  return lo;
}
