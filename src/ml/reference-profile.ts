/**
 * Reference profiles and drift detection. A profile summarises the training data per feature at
 * training time (bin edges and counts, a seeded sample for the KS test, summary numbers, category
 * counts) and is stored as JSON with the model version, so monitoring compares live data against it
 * without reading the training set again.
 *
 * Per feature, `detectDrift` reports:
 * - numeric: the two-sample Kolmogorov-Smirnov test between the reference sample and every current
 *   value, the Wasserstein distance against the same sample, and PSI / Jensen-Shannon over the reference
 *   quantile bins;
 * - categorical: Pearson's chi-square of the current counts against the reference shares, and PSI /
 *   Jensen-Shannon over the categories. Categories the reference pooled or never saw fall in "(other)".
 *   Reference shares are smoothed (0.5 added to every bin's count before taking shares) so a category
 *   the reference never saw has a small expected count instead of zero and the statistic stays finite;
 *   with a reference of thousands of rows the smoothing moves the other shares by a negligible amount.
 * Missing values (NaN or ±Infinity for numeric features, null for categorical ones) are left out of the
 * KS test and the Wasserstein distance but get a "(missing)" bin of their own, in the bins, PSI,
 * Jensen-Shannon and chi-square alike, whenever either side has any: a feed that starts sending
 * empties is drift. A numeric feature with no current values at all cannot be KS-tested (statistic 0,
 * p-value 1 are reported); its missing bin carries the drift.
 *
 * Decision rule, per feature: drifted when PSI > psiThreshold (0.25), or when the test's p-value is
 * below alpha (0.05; divided by the number of features when bonferroni is on) and PSI >= minPsi (0.1).
 * The PSI floor on the second branch keeps a big sample from flagging a shift too small to act on,
 * which a significance test alone would always do. The dataset has drifted when the share of drifted
 * features is at least driftShare (0.5, Evidently's default).
 */
import { setImmediate } from 'node:timers/promises';
import { binCountsSorted, chiSquare, jensenShannon, ks2SampSorted, psi, quantileEdgesSorted, sortedValues, wassersteinSorted } from './drift';
import { createRng } from './random';

export type ProfileColumn =
  | { name: string; kind: 'numeric'; values: ArrayLike<number> /* NaN = missing */ }
  | { name: string; kind: 'categorical'; values: ArrayLike<string | null> };

export type FeatureReference =
  | { name: string; kind: 'numeric'; rows: number; missing: number; edges: number[]; counts: number[]; sample: number[]; mean: number; std: number; min: number; max: number }
  | { name: string; kind: 'categorical'; rows: number; missing: number; categories: string[]; counts: number[] };

export interface ReferenceProfile { format: 1; rows: number; bins: number; sampleSize: number; features: FeatureReference[] }

export interface ProfileOptions {
  /** Quantile bins per numeric feature (default 10). */
  bins?: number;
  /** Size of the seeded reservoir sample kept for the KS test (default 5000). */
  sampleSize?: number;
  /** Seed of the reservoir sample (default 1): the same data and seed give the same profile. */
  seed?: number;
  /** Categories kept per categorical feature, the most frequent first (default 50); the rest are pooled as "(other)". */
  maxCategories?: number;
}

export interface FeatureDrift {
  name: string;
  kind: 'numeric' | 'categorical';
  test: 'ks' | 'chi2';
  statistic: number;
  pvalue: number;
  psi: number;
  jensenShannon: number;
  /** Numeric features only, against the reference sample, in the feature's units. */
  wasserstein?: number;
  drifted: boolean;
  /** Shares of missing values. */
  missing: { reference: number; current: number };
  /** Shares per bin, the same bins for both sides. */
  bins: { labels: string[]; reference: number[]; current: number[] };
}

export interface DriftSettings {
  alpha: number;
  bonferroni: boolean;
  psiThreshold: number;
  minPsi: number;
  driftShare: number;
  /** Share given to empty bins in PSI so it stays finite (default 1e-4, `psi`'s own). */
  psiFloor: number;
}

export interface DriftResult {
  referenceRows: number;
  currentRows: number;
  features: FeatureDrift[];
  driftedFeatures: number;
  driftedShare: number;
  datasetDrift: boolean;
  settings: DriftSettings;
}

export const DEFAULT_DRIFT_SETTINGS: Readonly<DriftSettings> = Object.freeze({ alpha: 0.05, bonferroni: true, psiThreshold: 0.25, minPsi: 0.1, driftShare: 0.5, psiFloor: 1e-4 });

/** The bin that pools categories beyond maxCategories and, when monitoring, categories never seen. */
export const OTHER = '(other)';
/** The bin of missing values. */
export const MISSING = '(missing)';
/** Added to every reference bin count before the chi-square takes shares from them (see the module comment). */
const CHI2_SMOOTHING = 0.5;

/**
 * Profile of the training data, one entry per column in the given order. Throws on no columns,
 * duplicate names, columns of different lengths, no rows, a column without a single value, or
 * options that are not positive integers.
 */
export function buildReferenceProfile(columns: ProfileColumn[], options: ProfileOptions = {}): ReferenceProfile {
  const { rows, settings, reference } = profileSettings(columns, options);
  return { format: 1, rows, bins: settings.bins, sampleSize: settings.sampleSize, features: columns.map(reference) };
}

/**
 * `buildReferenceProfile`, giving the event loop a turn after each feature: a profile of millions of
 * rows takes seconds, and heartbeats (and, in `mlops up`, API requests) share the thread.
 */
export async function buildReferenceProfileYielding(columns: ProfileColumn[], options: ProfileOptions = {}): Promise<ReferenceProfile> {
  const { rows, settings, reference } = profileSettings(columns, options);
  const features: FeatureReference[] = [];
  for (const column of columns) {
    features.push(reference(column));
    await setImmediate();
  }
  return { format: 1, rows, bins: settings.bins, sampleSize: settings.sampleSize, features };
}

/** The options checked and filled in, the row count, and how one column becomes its reference. */
function profileSettings(columns: ProfileColumn[], options: ProfileOptions) {
  const bins = options.bins ?? 10;
  const sampleSize = options.sampleSize ?? 5000;
  const seed = options.seed ?? 1;
  const maxCategories = options.maxCategories ?? 50;
  for (const [name, value] of [['bins', bins], ['sampleSize', sampleSize], ['maxCategories', maxCategories]] as const) {
    if (!(Number.isInteger(value) && value >= 1)) throw new Error(`buildReferenceProfile: ${name} must be a positive integer, got ${value}`);
  }
  if (!Number.isFinite(seed)) throw new Error(`buildReferenceProfile: seed must be a finite number, got ${seed}`);
  if (columns.length === 0) throw new Error('buildReferenceProfile needs at least one column');
  const rows = checkColumns(columns, 'reference');
  if (rows === 0) throw new Error('buildReferenceProfile: the reference data has no rows');
  const reference = (column: ProfileColumn): FeatureReference => {
    if (column.kind === 'numeric') return numericReference(column.name, column.values, bins, sampleSize, mixSeed(seed, column.name));
    if (column.kind === 'categorical') return categoricalReference(column.name, column.values, maxCategories);
    throw new Error(`buildReferenceProfile: column "${(column as ProfileColumn).name}" has unknown kind "${(column as { kind: string }).kind}"`);
  };
  return { rows, settings: { bins, sampleSize }, reference };
}

/** Equal lengths and unique names; returns the common length. */
function checkColumns(columns: ProfileColumn[], side: string): number {
  const seen = new Set<string>();
  for (const column of columns) {
    if (seen.has(column.name)) throw new Error(`${side} data has the column "${column.name}" twice`);
    seen.add(column.name);
  }
  const rows = columns.length > 0 ? columns[0].values.length : 0;
  for (const column of columns) {
    if (column.values.length !== rows) throw new Error(`${side} columns differ in length: "${columns[0].name}" has ${rows} values, "${column.name}" ${column.values.length}`);
  }
  return rows;
}

/** Values that count as present in a numeric column: finite numbers (NaN is missing; ±Infinity cannot be binned or stored in JSON). */
function presentValues(values: ArrayLike<number>): Float64Array {
  const out = new Float64Array(values.length);
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isFinite(v)) out[count++] = v;
  }
  return count === values.length ? out : out.slice(0, count);
}

function numericReference(name: string, values: ArrayLike<number>, bins: number, sampleSize: number, seed: number): FeatureReference {
  const present = presentValues(values);
  if (present.length === 0) throw new Error(`buildReferenceProfile: numeric column "${name}" has no values (all ${values.length} missing)`);
  const sorted = sortedValues(present);
  const edges = quantileEdgesSorted(sorted, bins);
  let sum = 0;
  for (let i = 0; i < sorted.length; i++) sum += sorted[i];
  const mean = sum / sorted.length;
  let squares = 0;
  for (let i = 0; i < sorted.length; i++) squares += (sorted[i] - mean) ** 2;
  return {
    name, kind: 'numeric', rows: values.length, missing: values.length - present.length,
    edges, counts: binCountsSorted(sorted, edges),
    // stored sorted: the KS test and Wasserstein distance need it so, and the order carries no information
    sample: Array.from(sortedValues(reservoirSample(present, sampleSize, seed))),
    mean, std: Math.sqrt(squares / sorted.length), min: sorted[0], max: sorted[sorted.length - 1],
  };
}

/**
 * A uniform random sample of k values (all of them when there are fewer), deterministic for the seed.
 * Li's "Algorithm L": after filling the reservoir it jumps ahead by geometrically distributed gaps, so
 * it draws O(k log(n/k)) random numbers instead of one per value.
 */
export function reservoirSample(values: ArrayLike<number>, k: number, seed: number): Float64Array {
  const n = values.length;
  if (n <= k) return Float64Array.from(values);
  const rng = createRng(seed);
  const unit = () => 1 - rng(); // in (0, 1], so its log is finite
  const reservoir = Float64Array.from({ length: k }, (_, i) => values[i]);
  let w = Math.exp(Math.log(unit()) / k);
  let i = k - 1;
  for (;;) {
    i += Math.floor(Math.log(unit()) / Math.log1p(-w)) + 1;
    if (!(i < n)) break;
    reservoir[Math.floor(rng() * k)] = values[i];
    w *= Math.exp(Math.log(unit()) / k);
  }
  return reservoir;
}

/** A per-column seed from the profile seed and the column name, so adding a column leaves the others' samples alone. */
function mixSeed(seed: number, name: string): number {
  let h = 2166136261 ^ (seed >>> 0);
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
  return h >>> 0;
}

function categoricalReference(name: string, values: ArrayLike<string | null>, maxCategories: number): FeatureReference {
  const counts = new Map<string, number>();
  let missing = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) { missing++; continue; }
    const key = String(v);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  if (counts.size === 0) throw new Error(`buildReferenceProfile: categorical column "${name}" has no values (all ${values.length} missing)`);
  // most frequent first, ties by name so the profile does not depend on row order
  const ranked = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const kept = ranked.slice(0, maxCategories);
  const pooled = ranked.slice(maxCategories).reduce((s, [, c]) => s + c, 0);
  const categories = kept.map(([c]) => c);
  const keptCounts = kept.map(([, c]) => c);
  if (pooled > 0) {
    // a real category called "(other)" and the pooled rest are one bin, here and when monitoring
    const at = categories.indexOf(OTHER);
    if (at >= 0) keptCounts[at] += pooled; else { categories.push(OTHER); keptCounts.push(pooled); }
  }
  return { name, kind: 'categorical', rows: values.length, missing, categories, counts: keptCounts };
}

/**
 * Compares current data with a reference profile, feature by feature (see the module comment for the
 * tests and the decision rule). Columns of `current` that the profile does not know are ignored.
 * Throws when a profiled feature is absent from `current` or has another kind, when current columns
 * differ in length or have no rows, or on settings out of range.
 */
export function detectDrift(reference: ReferenceProfile, current: ProfileColumn[], settings: Partial<DriftSettings> = {}): DriftResult {
  if (!reference || reference.format !== 1 || !Array.isArray(reference.features)) throw new Error('detectDrift: not a reference profile of format 1');
  const s: DriftSettings = { ...DEFAULT_DRIFT_SETTINGS, ...settings };
  if (!(s.alpha > 0 && s.alpha < 1)) throw new Error(`detectDrift: alpha must lie in (0, 1), got ${s.alpha}`);
  for (const key of ['psiThreshold', 'minPsi', 'driftShare', 'psiFloor'] as const) {
    if (!(Number.isFinite(s[key]) && s[key] >= 0)) throw new Error(`detectDrift: ${key} must be a finite number >= 0, got ${s[key]}`);
  }
  if (!(s.psiFloor > 0)) throw new Error(`detectDrift: psiFloor must be > 0, got ${s.psiFloor}`);

  const byName = new Map<string, ProfileColumn>();
  for (const column of current) {
    if (byName.has(column.name)) throw new Error(`current data has the column "${column.name}" twice`);
    byName.set(column.name, column);
  }
  const used = reference.features.map((feature) => {
    const column = byName.get(feature.name);
    if (!column) throw new Error(`current data has no column "${feature.name}", which the reference profile has`);
    if (column.kind !== feature.kind) throw new Error(`column "${feature.name}" is ${column.kind} in the current data but ${feature.kind} in the reference profile`);
    return column;
  });
  const currentRows = used.length > 0 ? checkColumns(used, 'current') : 0;
  if (used.length > 0 && currentRows === 0) throw new Error('detectDrift: the current data has no rows');

  const alpha = s.bonferroni && reference.features.length > 0 ? s.alpha / reference.features.length : s.alpha;
  const features = reference.features.map((feature, i): FeatureDrift => {
    const column = used[i];
    const drift = feature.kind === 'numeric'
      ? numericDrift(feature, column.values as ArrayLike<number>, s.psiFloor)
      : categoricalDrift(feature, column.values as ArrayLike<string | null>, s.psiFloor);
    const drifted = drift.psi > s.psiThreshold || (drift.pvalue < alpha && drift.psi >= s.minPsi);
    const { bins, missing, wasserstein, ...rest } = drift;
    return { ...rest, ...(wasserstein === undefined ? {} : { wasserstein }), drifted, missing, bins };
  });
  const driftedFeatures = features.filter((f) => f.drifted).length;
  const driftedShare = features.length > 0 ? driftedFeatures / features.length : 0;
  return {
    referenceRows: reference.rows, currentRows, features, driftedFeatures, driftedShare,
    datasetDrift: features.length > 0 && driftedShare >= s.driftShare, settings: s,
  };
}

type Measured = Omit<FeatureDrift, 'drifted'>;

/**
 * The bins both sides are compared over: the reference bins, then the missing bin when either side has
 * missing values; shares are of all rows on each side.
 */
function compareBins(name: string, kind: 'numeric' | 'categorical', labels: string[], referenceCounts: number[], currentCounts: number[], referenceMissing: number, currentMissing: number, floor: number) {
  const withMissing = referenceMissing > 0 || currentMissing > 0;
  const ref = withMissing ? [...referenceCounts, referenceMissing] : referenceCounts;
  const cur = withMissing ? [...currentCounts, currentMissing] : currentCounts;
  const refRows = ref.reduce((a, b) => a + b, 0);
  const curRows = cur.reduce((a, b) => a + b, 0);
  if (refRows === 0) throw new Error(`reference profile: feature "${name}" (${kind}) has no rows`);
  return {
    ref, cur,
    psi: psi(ref, cur, floor),
    jensenShannon: jensenShannon(ref, cur, 2),
    missing: { reference: referenceMissing / refRows, current: currentMissing / curRows },
    bins: { labels: withMissing ? [...labels, MISSING] : labels, reference: ref.map((c) => c / refRows), current: cur.map((c) => c / curRows) },
  };
}

function numericDrift(feature: Extract<FeatureReference, { kind: 'numeric' }>, values: ArrayLike<number>, floor: number): Measured {
  if (feature.counts.length !== feature.edges.length + 1) throw new Error(`reference profile: feature "${feature.name}" has ${feature.edges.length} edges but ${feature.counts.length} counts`);
  if (feature.sample.length === 0) throw new Error(`reference profile: feature "${feature.name}" has an empty sample`);
  const present = sortedValues(presentValues(values));
  const compared = compareBins(feature.name, 'numeric', intervalLabels(feature.edges), feature.counts, binCountsSorted(present, feature.edges), feature.missing, values.length - present.length, floor);
  const sample = sortedValues(feature.sample);
  const tested = present.length > 0;
  const ks = tested ? ks2SampSorted(sample, present, 'auto') : { statistic: 0, pvalue: 1 };
  return {
    name: feature.name, kind: 'numeric', test: 'ks', statistic: ks.statistic, pvalue: ks.pvalue,
    psi: compared.psi, jensenShannon: compared.jensenShannon,
    ...(tested ? { wasserstein: wassersteinSorted(sample, present) } : {}),
    missing: compared.missing, bins: compared.bins,
  };
}

function categoricalDrift(feature: Extract<FeatureReference, { kind: 'categorical' }>, values: ArrayLike<string | null>, floor: number): Measured {
  if (feature.counts.length !== feature.categories.length) throw new Error(`reference profile: feature "${feature.name}" has ${feature.categories.length} categories but ${feature.counts.length} counts`);
  const labels = [...feature.categories];
  const referenceCounts = [...feature.counts];
  let other = labels.indexOf(OTHER);
  if (other < 0) { other = labels.length; labels.push(OTHER); referenceCounts.push(0); }
  const index = new Map(labels.map((label, i) => [label, i]));
  const currentCounts = new Array<number>(labels.length).fill(0);
  let missing = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) { missing++; continue; }
    currentCounts[index.get(String(v)) ?? other]++;
  }
  // an "(other)" bin neither side uses is left out rather than shown empty
  if (referenceCounts[other] === 0 && currentCounts[other] === 0) { labels.splice(other, 1); referenceCounts.splice(other, 1); currentCounts.splice(other, 1); }
  const compared = compareBins(feature.name, 'categorical', labels, referenceCounts, currentCounts, feature.missing, missing, floor);
  const chi2 = smoothedChiSquare(compared.ref, compared.cur);
  return {
    name: feature.name, kind: 'categorical', test: 'chi2', statistic: chi2.statistic, pvalue: chi2.pvalue,
    psi: compared.psi, jensenShannon: compared.jensenShannon, missing: compared.missing, bins: compared.bins,
  };
}

/** Chi-square of current counts against smoothed reference shares, over the bins either side uses. */
function smoothedChiSquare(reference: number[], current: number[]): { statistic: number; pvalue: number } {
  const used = reference.map((r, i) => r > 0 || current[i] > 0);
  const ref = reference.filter((_, i) => used[i]);
  const cur = current.filter((_, i) => used[i]);
  if (ref.length < 2) return { statistic: 0, pvalue: 1 };
  const refTotal = ref.reduce((a, b) => a + b, 0) + CHI2_SMOOTHING * ref.length;
  const curTotal = cur.reduce((a, b) => a + b, 0);
  const expected = ref.map((r) => ((r + CHI2_SMOOTHING) / refTotal) * curTotal);
  const { statistic, pvalue } = chiSquare(cur, expected);
  return { statistic, pvalue };
}

/**
 * Labels of the bins cut at `edges`: "≤ a", "a – b", …, "> z", each edge written with the fewest
 * significant digits (at least 3) that keep neighbouring edges apart.
 */
export function intervalLabels(edges: number[]): string[] {
  if (edges.length === 0) return ['all values'];
  let text: string[] = [];
  for (let digits = 3; digits <= 17; digits++) {
    text = edges.map((e) => formatEdge(e, digits));
    if (text.every((t, i) => i === 0 || t !== text[i - 1])) break;
  }
  const labels = [`≤ ${text[0]}`];
  for (let i = 1; i < text.length; i++) labels.push(`${text[i - 1]} – ${text[i]}`);
  labels.push(`> ${text[text.length - 1]}`);
  return labels;
}

function formatEdge(x: number, digits: number): string {
  if (Number.isInteger(x) && Math.abs(x) < 1e21) return String(x);
  // never round away integer digits: 123456.7 at 3 digits reads 123457, not 123000
  const integerDigits = x === 0 ? 1 : Math.floor(Math.log10(Math.abs(x))) + 1;
  return String(Number(x.toPrecision(Math.min(21, Math.max(digits, integerDigits)))));
}
