/**
 * Drift statistics against scipy and numpy (fixtures from scripts/reference/make_drift_fixtures.py, see
 * its header to regenerate them), then reference profiles and drift detection on seeded synthetic data.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { binCounts, binCountsSorted, binIndex, chiSquare, jensenShannon, ks2Samp, KsMethod, psi, quantileEdges, sortedValues, wasserstein } from '../src/ml/drift';
import { createRng } from '../src/ml/random';
import { buildReferenceProfile, detectDrift, intervalLabels, ProfileColumn, reservoirSample } from '../src/ml/reference-profile';
import { chi2Sf, kolmogorovSmirnovSf, smirnovSf } from '../src/ml/special-functions';

const fixtures = path.join(__dirname, 'fixtures', 'drift');
const ksFixture = JSON.parse(fs.readFileSync(path.join(fixtures, 'ks.json'), 'utf8'));
const scipy = JSON.parse(fs.readFileSync(path.join(fixtures, 'scipy.json'), 'utf8'));
/** JSON has no NaN: the fixtures write missing values as null. */
const withNaN = (values: (number | null)[]) => values.map((v) => (v === null ? NaN : v));

/**
 * |got - want| <= tol · |want|: relative, so tiny p-values are held to their digits too. Below 1e-300
 * (subnormal numbers, which carry fewer digits themselves) an absolute 1e-300 is allowed instead.
 */
function close(got: number, want: number, tol: number, what: string) {
  const ok = got === want || Math.abs(got - want) <= Math.max(tol * Math.abs(want), Math.abs(want) < 1e-300 ? 1e-300 : 0);
  assert.ok(ok, `${what}: got ${got}, want ${want} (relative difference ${(Math.abs(got - want) / Math.abs(want)).toExponential(2)})`);
}

describe('drift statistics against scipy', () => {
  it('ks2Samp matches scipy.stats.ks_2samp: exact and asymptotic, ties, unequal sizes, small and large samples, missing values', () => {
    let compared = 0;
    for (const c of ksFixture.cases) {
      const a = withNaN(c.a);
      const b = withNaN(c.b);
      for (const [method, want] of Object.entries<{ statistic: number; pvalue: number; method: string }>(c.results)) {
        const got = ks2Samp(a, b, method as KsMethod);
        const what = `${c.name}, method ${method}`;
        assert.equal(got.method, want.method, `${what}: method used`);
        close(got.statistic, want.statistic, 1e-12, `${what}: statistic`);
        close(got.pvalue, want.pvalue, 1e-9, `${what}: p-value`);
        compared++;
      }
    }
    assert.equal(compared, 47);
    // the fixtures reach both p-value methods, tiny p-values and p = 1
    const pvalues = ksFixture.cases.flatMap((c: any) => Object.values<any>(c.results).map((r) => r.pvalue));
    assert.ok(Math.min(...pvalues) < 1e-40 && Math.max(...pvalues) === 1);
  });

  it('the KS distributions match scipy.stats.kstwo.sf and scipy.special.smirnov across every method branch', () => {
    for (const [n, x, want] of scipy.kstwo) close(kolmogorovSmirnovSf(n, x), want, 1e-9, `kstwo.sf(${x}, ${n})`);
    for (const [n, x, want] of scipy.smirnov) close(smirnovSf(n, x), want, 1e-9, `smirnov(${n}, ${x})`);
    assert.ok(scipy.kstwo.length > 500 && scipy.smirnov.length > 500);
  });

  it('chi2Sf matches scipy.stats.chi2.sf', () => {
    for (const [dof, x, want] of scipy.chi2) close(chi2Sf(x, dof), want, 1e-9, `chi2.sf(${x}, ${dof})`);
  });

  it('chiSquare matches scipy.stats.chisquare, with and without expected counts', () => {
    for (const c of scipy.chisquare) {
      const got = c.expected === null ? chiSquare(c.observed) : chiSquare(c.observed, c.expected);
      close(got.statistic, c.statistic, 1e-9, `${c.name}: statistic`);
      close(got.pvalue, c.pvalue, 1e-9, `${c.name}: p-value`);
      assert.equal(got.dof, c.dof, `${c.name}: dof`);
    }
    // expected given as proportions is rescaled to the observed total: the same as passing the counts
    assert.deepEqual(chiSquare([43, 52, 54, 40], [1, 1, 1, 1]), chiSquare([43, 52, 54, 40], [47.25, 47.25, 47.25, 47.25]));
    assert.deepEqual(chiSquare([7]), { statistic: 0, pvalue: 1, dof: 0 });
  });

  it('jensenShannon matches scipy.spatial.distance.jensenshannon, zeros and disjoint supports included', () => {
    for (const c of scipy.jensenshannon) close(jensenShannon(c.p, c.q, c.base), c.distance, 1e-9, c.name);
    assert.equal(jensenShannon([1, 0], [0, 1]), 1); // base 2 by default: disjoint supports are 1 apart
    assert.equal(jensenShannon([2, 3, 5], [4, 6, 10]), 0); // normalised first
  });

  it('wasserstein matches scipy.stats.wasserstein_distance', () => {
    for (const c of scipy.wasserstein) close(wasserstein(withNaN(c.u), withNaN(c.v)), c.distance, 1e-9, c.name);
    assert.equal(wasserstein([0, 1, 3], [5, 6, 8]), 5);
  });

  it('quantileEdges, binCounts and psi match the numpy reference of the same rule', () => {
    for (const c of scipy.bins) {
      const values = withNaN(c.values);
      const edges = quantileEdges(values, c.bins);
      assert.deepEqual(edges, c.edges, `${c.name}: edges`);
      assert.deepEqual(binCounts(values, edges), c.counts, `${c.name}: counts`);
      assert.deepEqual(binCountsSorted(sortedValues(values), edges), c.counts, `${c.name}: counts from sorted values`);
      assert.deepEqual(binCounts(values.map((v) => v + 0.3), edges), c.shiftedCounts, `${c.name}: shifted counts`);
      close(psi(c.counts, c.shiftedCounts), c.psi, 1e-12, `${c.name}: psi`);
      close(psi(c.counts, c.shiftedCounts, 1e-3), c['psiFloor1e-3'], 1e-12, `${c.name}: psi with floor 1e-3`);
      // no bin of the reference itself is empty, and no edge repeats
      assert.ok(c.counts.every((n: number) => n > 0) && edges.every((e, i) => i === 0 || e > edges[i - 1]), c.name);
    }
    assert.deepEqual(quantileEdges([0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], 10), [0]);
  });
});

describe('drift statistics: behaviour and bad input', () => {
  it('keeps psi and binIndex as they were', () => {
    assert.equal(binIndex([1, 2, 3], 0.5), 0);
    assert.equal(binIndex([1, 2, 3], 2), 1);
    assert.equal(binIndex([1, 2, 3], 2.5), 2);
    assert.equal(binIndex([1, 2, 3], 9), 3);
    close(psi([50, 50], [25, 75]), 0.25 * Math.log(0.5) * -1 + 0.25 * Math.log(1.5), 1e-15, 'psi of two bins');
    close(psi([10, 0], [5, 5]), (0.5 - 1) * Math.log(0.5) + (0.5 - 1e-4) * Math.log(0.5 / 1e-4), 1e-15, 'psi with an empty bin');
    assert.ok(Number.isNaN(psi([0, 0], [1, 2])));
  });

  it('sortedValues drops NaN and orders negatives, zeros and infinities like a numeric sort, small and large', () => {
    const rng = createRng(7);
    for (const n of [10, 5000]) {
      const values = Array.from({ length: n }, (_, i) => (i % 97 === 0 ? NaN : i % 89 === 0 ? -0 : (rng() - 0.5) * 10 ** Math.floor(rng() * 8)));
      values.push(Infinity, -Infinity, 0);
      const want = values.filter((v) => !Number.isNaN(v)).sort((x, y) => x - y);
      assert.deepEqual(Array.from(sortedValues(values)), want.map((v) => (Object.is(v, -0) ? v : v)));
    }
  });

  it('an exact request on samples whose lattice is too large falls back to the asymptotic p-value, as scipy does', () => {
    const rng = createRng(11);
    const a = Float64Array.from({ length: 50000 }, () => rng());
    const b = Float64Array.from({ length: 49999 }, () => rng() * 1.02);
    const exact = ks2Samp(a, b, 'exact');
    const asymp = ks2Samp(a, b, 'asymp');
    assert.equal(exact.method, 'asymp');
    assert.deepEqual(exact, asymp);
    assert.ok(asymp.pvalue < 1e-6 && asymp.statistic > 0.005);
  });

  it('gives clear errors on bad input', () => {
    assert.throws(() => ks2Samp([], [1, 2]), /ks2Samp needs values in both samples, got 0 and 2/);
    assert.throws(() => ks2Samp([NaN, NaN], [1]), /after leaving out NaN/);
    assert.throws(() => ks2Samp([1], [2], 'fast' as KsMethod), /unknown method "fast"/);
    assert.throws(() => wasserstein([1], []), /wasserstein needs values in both samples/);
    assert.throws(() => psi([1, 2], [1, 2, 3]), /psi needs equal bins, got 2 and 3/);
    assert.throws(() => jensenShannon([1, 2], [1]), /equal lengths, got 2 and 1/);
    assert.throws(() => jensenShannon([], []), /at least one entry/);
    assert.throws(() => jensenShannon([0, 0], [1, 1]), /p sums to zero/);
    assert.throws(() => jensenShannon([1, -1], [1, 1]), /finite and >= 0/);
    assert.throws(() => chiSquare([1, 2, 3], [1, 2]), /as many expected as observed counts, got 2 and 3/);
    assert.throws(() => chiSquare([]), /at least one category/);
    assert.throws(() => chiSquare([1, 2], [1, 0]), /expected counts must be finite and > 0/);
    assert.throws(() => chiSquare([0, 0]), /sum to zero/);
    assert.throws(() => quantileEdges([], 10), /at least one value/);
    assert.throws(() => quantileEdges([NaN], 10), /at least one value/);
    assert.throws(() => quantileEdges([1, 2], 0), /bins must be a positive integer, got 0/);
  });
});

// ---------------------------------------------------------------------------------------------------
// Reference profiles and drift detection

function normals(n: number, mean: number, sd: number, seed: number, missingShare = 0): Float64Array {
  const rng = createRng(seed);
  return Float64Array.from({ length: n }, () => {
    const z = Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
    return rng() < missingShare ? NaN : mean + sd * z;
  });
}

function categories(n: number, shares: Record<string, number>, seed: number): (string | null)[] {
  const rng = createRng(seed);
  const entries = Object.entries(shares);
  return Array.from({ length: n }, () => {
    let u = rng();
    for (const [name, share] of entries) { if (u < share) return name === 'null' ? null : name; u -= share; }
    return entries[entries.length - 1][0];
  });
}

const ROWS = 20000;
const plan = { color: { red: 0.5, green: 0.3, blue: 0.2 } };
function dataset(seed: number, changes: { shiftAge?: number; scaleIncome?: number; color?: Record<string, number>; ageMissing?: number } = {}): ProfileColumn[] {
  return [
    { name: 'age', kind: 'numeric', values: normals(ROWS, 40 + (changes.shiftAge ?? 0), 10, seed, changes.ageMissing ?? 0.01) },
    { name: 'income', kind: 'numeric', values: normals(ROWS, 50, 15 * (changes.scaleIncome ?? 1), seed + 1) },
    { name: 'color', kind: 'categorical', values: categories(ROWS, changes.color ?? plan.color, seed + 2) },
    { name: 'score', kind: 'numeric', values: normals(ROWS, 0, 1, seed + 3) },
  ];
}
const training = dataset(100);
const profile = buildReferenceProfile(training);

describe('reference profile', () => {
  it('summarises each feature: bins that match quantileEdges, a sorted sample, moments, categories', () => {
    assert.equal(profile.format, 1);
    assert.deepEqual([profile.rows, profile.bins, profile.sampleSize], [ROWS, 10, 5000]);
    const age = profile.features[0];
    assert.ok(age.kind === 'numeric');
    const ageValues = training[0].values as Float64Array;
    assert.deepEqual(age.edges, quantileEdges(ageValues, 10));
    assert.deepEqual(age.counts, binCounts(ageValues, age.edges));
    assert.equal(age.missing, ageValues.filter(Number.isNaN).length);
    assert.ok(age.missing > 150 && age.missing < 250, `about 1% missing, got ${age.missing}`);
    assert.equal(age.counts.reduce((a, b) => a + b, 0) + age.missing, ROWS);
    assert.equal(age.sample.length, 5000);
    assert.ok(age.sample.every((v, i) => i === 0 || v >= age.sample[i - 1]));
    assert.ok(Math.abs(age.mean - 40) < 0.3 && Math.abs(age.std - 10) < 0.3, `mean ${age.mean}, std ${age.std}`);
    const present = ageValues.filter((v) => !Number.isNaN(v));
    assert.equal(age.min, Math.min(...present));
    assert.equal(age.max, Math.max(...present));
    const color = profile.features[2];
    assert.ok(color.kind === 'categorical');
    assert.deepEqual(color.categories, ['red', 'green', 'blue']);
    assert.equal(color.counts.reduce((a, b) => a + b, 0), ROWS);
  });

  it('pools categories beyond maxCategories as "(other)"', () => {
    const values = ['a', 'a', 'a', 'a', 'b', 'b', 'b', 'c', 'c', 'd', 'e', null];
    const p = buildReferenceProfile([{ name: 'letter', kind: 'categorical', values }], { maxCategories: 2 });
    assert.deepEqual(p.features[0], { name: 'letter', kind: 'categorical', rows: 12, missing: 1, categories: ['a', 'b', '(other)'], counts: [4, 3, 4] });
  });

  it('draws the reservoir sample deterministically for a seed, uniformly from the data', () => {
    const again = buildReferenceProfile(dataset(100));
    assert.deepEqual(again, profile);
    const otherSeed = buildReferenceProfile(training, { seed: 2 });
    assert.notDeepEqual((otherSeed.features[0] as { sample: number[] }).sample, (profile.features[0] as { sample: number[] }).sample);
    const values = Float64Array.from({ length: 100000 }, (_, i) => i);
    const sample = reservoirSample(values, 1000, 3);
    assert.deepEqual(reservoirSample(values, 1000, 3), sample);
    assert.equal(new Set(sample).size, 1000);
    const mean = sample.reduce((a, b) => a + b, 0) / sample.length;
    assert.ok(Math.abs(mean - 49999.5) < 3 * 913, `sample mean ${mean}`); // 3 standard errors
    const firstHalf = sample.filter((v) => v < 50000).length;
    assert.ok(firstHalf > 450 && firstHalf < 550, `${firstHalf} of 1000 from the first half`);
    assert.deepEqual(Array.from(reservoirSample([3, 1, 2], 5, 1)), [3, 1, 2]);
  });

  it('survives a JSON round trip unchanged, and so does the drift result', () => {
    const text = JSON.stringify(profile);
    const restored = JSON.parse(text);
    assert.deepEqual(restored, profile);
    const result = detectDrift(restored, dataset(200, { shiftAge: 5 }));
    assert.deepEqual(result, detectDrift(profile, dataset(200, { shiftAge: 5 })));
    // no NaN, Infinity or typed array anywhere: each would come back different
    assert.deepEqual(JSON.parse(JSON.stringify(result)), result);
  });

  it('gives clear errors on bad input', () => {
    assert.throws(() => buildReferenceProfile([]), /at least one column/);
    assert.throws(() => buildReferenceProfile([{ name: 'x', kind: 'numeric', values: [] }]), /no rows/);
    assert.throws(() => buildReferenceProfile([{ name: 'x', kind: 'numeric', values: [1, 2] }, { name: 'y', kind: 'numeric', values: [1] }]), /differ in length: "x" has 2 values, "y" 1/);
    assert.throws(() => buildReferenceProfile([{ name: 'x', kind: 'numeric', values: [NaN, NaN] }]), /numeric column "x" has no values \(all 2 missing\)/);
    assert.throws(() => buildReferenceProfile([{ name: 'c', kind: 'categorical', values: [null] }]), /categorical column "c" has no values/);
    assert.throws(() => buildReferenceProfile([{ name: 'x', kind: 'numeric', values: [1] }, { name: 'x', kind: 'numeric', values: [2] }]), /"x" twice/);
    assert.throws(() => buildReferenceProfile(training, { bins: 0 }), /bins must be a positive integer, got 0/);
    assert.throws(() => buildReferenceProfile(training, { sampleSize: 2.5 }), /sampleSize must be a positive integer/);
  });
});

describe('detectDrift', () => {
  it('does not flag data from the same distribution', () => {
    const result = detectDrift(profile, dataset(200));
    assert.equal(result.driftedFeatures, 0);
    assert.equal(result.datasetDrift, false);
    assert.deepEqual([result.referenceRows, result.currentRows], [ROWS, ROWS]);
    for (const f of result.features) {
      assert.ok(f.psi < 0.01 && f.jensenShannon < 0.05, `${f.name}: psi ${f.psi}, js ${f.jensenShannon}`);
      assert.ok(f.pvalue > 0.05 / 4, `${f.name}: p ${f.pvalue}`);
    }
    assert.deepEqual(result.features.map((f) => f.test), ['ks', 'ks', 'chi2', 'ks']);
  });

  it('flags a shifted normal, with the statistics computed as the functions compute them', () => {
    const current = dataset(200, { shiftAge: 5 });
    const result = detectDrift(profile, current);
    const age = result.features[0];
    // half a standard deviation: PSI between minPsi and psiThreshold, so the KS test decides
    assert.equal(age.drifted, true);
    assert.ok(age.psi > 0.1 && age.psi < 0.25, `psi ${age.psi}`);
    assert.ok(age.pvalue < 1e-100, `p ${age.pvalue}`);
    assert.ok(Math.abs(age.wasserstein! - 5) < 0.5, `wasserstein ${age.wasserstein}`); // half a standard deviation
    const sample = (profile.features[0] as { sample: number[] }).sample;
    const values = current[0].values as Float64Array;
    assert.deepEqual({ statistic: age.statistic, pvalue: age.pvalue }, (({ statistic, pvalue }) => ({ statistic, pvalue }))(ks2Samp(sample, values)));
    assert.equal(age.wasserstein, wasserstein(sample, values));
    // bins: the reference edges, plus the missing bin since both sides have missing values
    const edges = (profile.features[0] as { edges: number[] }).edges;
    assert.deepEqual(age.bins.labels, [...intervalLabels(edges), '(missing)']);
    const counts = [...binCounts(values, edges), values.filter(Number.isNaN).length];
    assert.deepEqual(age.bins.current, counts.map((c) => c / ROWS));
    close(age.psi, psi([...(profile.features[0] as { counts: number[] }).counts, profile.features[0].missing], counts), 1e-15, 'psi');
    assert.equal(result.driftedFeatures, 1);
    assert.equal(result.driftedShare, 0.25);
    assert.equal(result.datasetDrift, false);
  });

  it('catches a category the reference never saw, with a finite chi-square', () => {
    const result = detectDrift(profile, dataset(200, { color: { red: 0.45, green: 0.25, blue: 0.15, purple: 0.15 } }));
    const color = result.features[2];
    assert.equal(color.drifted, true);
    assert.deepEqual(color.bins.labels, ['red', 'green', 'blue', '(other)']);
    assert.equal(color.bins.reference[3], 0);
    assert.ok(Math.abs(color.bins.current[3] - 0.15) < 0.01, `(other) share ${color.bins.current[3]}`);
    assert.ok(Number.isFinite(color.statistic) && color.statistic > 1e5, `chi2 ${color.statistic}`);
    assert.ok(color.pvalue < 1e-100);
    assert.ok(color.psi > 0.25 && color.jensenShannon > 0.1);
  });

  it('reports dataset drift once the drifted share reaches driftShare', () => {
    const current = dataset(200, { shiftAge: 5, scaleIncome: 2 });
    const result = detectDrift(profile, current);
    assert.deepEqual(result.features.map((f) => f.drifted), [true, true, false, false]);
    assert.equal(result.driftedShare, 0.5);
    assert.equal(result.datasetDrift, true);
    assert.equal(detectDrift(profile, current, { driftShare: 0.6 }).datasetDrift, false);
    assert.equal(detectDrift(profile, current, { driftShare: 0.6 }).settings.driftShare, 0.6);
  });

  it('does not call a significant but tiny shift drift: minPsi gates the test', () => {
    const n = 200000;
    const reference = buildReferenceProfile([{ name: 'x', kind: 'numeric', values: normals(n, 0, 1, 1) }], { sampleSize: n });
    const result = detectDrift(reference, [{ name: 'x', kind: 'numeric', values: normals(n, 0.05, 1, 2) }]);
    const x = result.features[0];
    assert.ok(x.pvalue < 1e-10, `p ${x.pvalue}`);
    assert.ok(x.psi < 0.01, `psi ${x.psi}`);
    assert.equal(x.drifted, false);
    assert.equal(detectDrift(reference, [{ name: 'x', kind: 'numeric', values: normals(n, 0.05, 1, 2) }], { minPsi: 0 }).features[0].drifted, true);
  });

  it('treats a jump in missing values as drift, and a feature with no current values too', () => {
    const result = detectDrift(profile, dataset(200, { ageMissing: 0.4 }));
    const age = result.features[0];
    assert.equal(age.drifted, true);
    assert.equal(age.bins.labels.at(-1), '(missing)');
    assert.ok(Math.abs(age.missing.current - 0.4) < 0.02 && Math.abs(age.missing.reference - 0.01) < 0.003);
    assert.equal(age.bins.current.at(-1), age.missing.current);

    const empty = dataset(200, { ageMissing: 1 });
    const gone = detectDrift(profile, empty).features[0];
    assert.deepEqual([gone.statistic, gone.pvalue, gone.drifted, gone.missing.current], [0, 1, true, 1]);
    assert.equal('wasserstein' in gone, false);
  });

  it('applies alpha, divided by the number of features under bonferroni', () => {
    // x shifted so that PSI lies between minPsi and psiThreshold: its p-value decides
    const n = 5000;
    const reference = buildReferenceProfile([
      { name: 'x', kind: 'numeric', values: normals(n, 0, 1, 1) },
      { name: 'y', kind: 'numeric', values: normals(n, 0, 1, 3) },
    ], { sampleSize: n });
    const current: ProfileColumn[] = [
      { name: 'x', kind: 'numeric', values: normals(n, 0.4, 1, 2) },
      { name: 'y', kind: 'numeric', values: normals(n, 0, 1, 4) },
    ];
    const x = detectDrift(reference, current).features[0];
    assert.ok(x.psi >= 0.1 && x.psi <= 0.25 && x.pvalue < 1e-10, `psi ${x.psi}, p ${x.pvalue}`);
    assert.equal(x.drifted, true);
    assert.equal(detectDrift(reference, current, { alpha: x.pvalue / 2 }).features[0].drifted, false);
    // alpha = 1.5 p: p < alpha, but p > alpha / 2 (two features)
    assert.equal(detectDrift(reference, current, { alpha: 1.5 * x.pvalue, bonferroni: false }).features[0].drifted, true);
    assert.equal(detectDrift(reference, current, { alpha: 1.5 * x.pvalue, bonferroni: true }).features[0].drifted, false);
  });

  it('gives clear errors on bad input', () => {
    assert.throws(() => detectDrift(profile, dataset(200).filter((c) => c.name !== 'income')), /current data has no column "income"/);
    assert.throws(() => detectDrift(profile, dataset(200).map((c) => (c.name === 'color' ? { name: 'color', kind: 'numeric', values: [] } : c))), /"color" is numeric in the current data but categorical/);
    assert.throws(() => detectDrift(profile, dataset(200).map((c) => (c.name === 'score' ? ({ ...c, values: (c.values as Float64Array).subarray(1) } as ProfileColumn) : c))), /differ in length/);
    assert.throws(() => detectDrift(profile, training.map((c) => ({ ...c, values: [] }) as ProfileColumn)), /no rows/);
    assert.throws(() => detectDrift(profile, training, { alpha: 0 }), /alpha must lie in \(0, 1\)/);
    assert.throws(() => detectDrift({ format: 2 } as never, training), /not a reference profile/);
  });

  it('labels numeric bins with just enough digits', () => {
    assert.deepEqual(intervalLabels([3.2, 4.1, 9]), ['≤ 3.2', '3.2 – 4.1', '4.1 – 9', '> 9']);
    assert.deepEqual(intervalLabels([1.00012, 1.00019]), ['≤ 1.0001', '1.0001 – 1.0002', '> 1.0002']);
    assert.deepEqual(intervalLabels([1.00012, 1.00014]), ['≤ 1.00012', '1.00012 – 1.00014', '> 1.00014']);
    assert.deepEqual(intervalLabels([123456.78]), ['≤ 123457', '> 123457']);
    assert.deepEqual(intervalLabels([]), ['all values']);
  });
});
