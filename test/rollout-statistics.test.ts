/**
 * The rollout analysis's statistics: each two-sample test against an independent computation (brute
 * force where that is exact), `judge` on every breach kind, its minimum sample and its practical
 * thresholds, and the simulation the issue asks for: 1,000 canary rollouts per traffic level (10, 50,
 * 200, 1,000 requests per bake for the new version), where a version drawn from production's own
 * distribution is rolled back in at most 1% and one with 5 points more errors or 10 points less live
 * accuracy is caught in at least 95% once the minimum sample is reached. Figures: bench/RESULTS.md
 * (bench/rollout_analysis.ts prints the full table).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRng } from '../src/ml/random';
import { DEFAULT_THRESHOLDS, histogramQuantile, judge, Observed } from '../src/ml/rollout-judge';
import { chiSquareHomogeneity, fisherGreater, holm, mannWhitneyGreater, mergeBins, normalSf } from '../src/ml/two-sample-tests';
import { LATENCY_BUCKETS_MS } from '../src/serving/serving-stats';
import { SCENARIOS, simulateRollouts } from './rollout-simulation';

const choose = (n: number, k: number): bigint => {
  let r = 1n;
  for (let i = 0; i < k; i++) r = (r * BigInt(n - i)) / BigInt(i + 1);
  return r;
};

/** Every pair compared: U = #(a > b) + #(a = b) / 2, from the expanded samples. */
const bruteU = (a: number[], b: number[]) => {
  const xs = a.flatMap((c, i) => new Array(c).fill(i));
  const ys = b.flatMap((c, i) => new Array(c).fill(i));
  let u = 0;
  for (const x of xs) for (const y of ys) u += x > y ? 1 : x === y ? 0.5 : 0;
  return { u, xs, ys };
};

describe('two-sample tests', () => {
  it('normalSf matches the standard normal tail', () => {
    assert.ok(Math.abs(normalSf(1.959963984540054) - 0.025) < 1e-12);
    assert.ok(Math.abs(normalSf(0) - 0.5) < 1e-15);
    assert.ok(Math.abs(normalSf(-1) - 0.8413447460685429) < 1e-12);
    assert.ok(Math.abs(normalSf(5) - 2.866515718791939e-7) / 2.866515718791939e-7 < 1e-9);
  });

  it('fisherGreater is the hypergeometric upper tail, summed exactly', () => {
    const cases: [number, number, number, number][] = [[5, 20, 1, 30], [0, 10, 3, 10], [3, 7, 0, 12], [12, 40, 30, 200], [2, 2, 0, 5], [9, 300, 3, 900]];
    for (const [a, na, b, nb] of cases) {
      const k = a + b, n = na + nb;
      let tail = 0n;
      for (let x = a; x <= Math.min(k, na); x++) tail += choose(k, x) * choose(n - k, na - x);
      const exact = Number((tail * 10n ** 18n) / choose(n, na)) / 1e18;
      const p = fisherGreater(a, na, b, nb);
      assert.ok(Math.abs(p - exact) <= 1e-12 + 1e-9 * exact, `${[a, na, b, nb]}: ${p} against ${exact}`);
    }
    assert.equal(fisherGreater(0, 0, 3, 10), 1, 'no trials: nothing to test');
  });

  it('mannWhitneyGreater counts U over every pair and uses mid-ranks with the tie-corrected variance', () => {
    const rng = createRng(5);
    for (let trial = 0; trial < 20; trial++) {
      const a = Array.from({ length: 6 }, () => Math.floor(rng() * 8));
      const b = Array.from({ length: 6 }, () => Math.floor(rng() * 8));
      const { u, xs, ys } = bruteU(a, b);
      if (xs.length === 0 || ys.length === 0) continue;
      // the same test from the ranks of the pooled sample, written out independently
      const pooled = [...xs, ...ys].sort((p, q) => p - q);
      const rank = (v: number) => { const first = pooled.indexOf(v); const last = pooled.lastIndexOf(v); return (first + last) / 2 + 1; };
      const n1 = xs.length, n2 = ys.length, n = n1 + n2;
      const u1 = xs.reduce((s, x) => s + rank(x), 0) - (n1 * (n1 + 1)) / 2;
      const counts = new Map<number, number>();
      for (const v of pooled) counts.set(v, (counts.get(v) ?? 0) + 1);
      const tieSum = [...counts.values()].reduce((s, t) => s + t ** 3 - t, 0);
      const sd = Math.sqrt((n1 * n2 / 12) * ((n + 1) - tieSum / (n * (n - 1))));
      const result = mannWhitneyGreater(a, b);
      assert.ok(Math.abs(u1 - u) < 1e-9, 'U from ranks and from pairs agree');
      assert.ok(Math.abs(result.effect - u / (n1 * n2)) < 1e-12);
      if (sd > 0) assert.ok(Math.abs(result.p - normalSf((u - n1 * n2 / 2 - 0.5) / sd)) < 1e-12);
    }
    assert.equal(mannWhitneyGreater([0, 10], [0, 7]).p, 1, 'all ties: nothing to rank');
  });

  it('mergeBins keeps every expected count at 5 or more, more bins with more data, and the totals', () => {
    const rng = createRng(9);
    for (const scale of [1, 10, 100]) {
      const a = Array.from({ length: 10 }, () => Math.floor(rng() * 3 * scale));
      const b = Array.from({ length: 10 }, () => Math.floor(rng() * 20 * scale));
      const m = mergeBins(a, b);
      const na = a.reduce((s, x) => s + x, 0), nb = b.reduce((s, x) => s + x, 0);
      assert.equal(m.a.reduce((s, x) => s + x, 0), na);
      assert.equal(m.b.reduce((s, x) => s + x, 0), nb);
      if (m.a.length > 1) for (let i = 0; i < m.a.length; i++) assert.ok(((m.a[i] + m.b[i]) * Math.min(na, nb)) / (na + nb) >= 5 - 1e-9, `scale ${scale}, bin ${i}`);
    }
    assert.equal(mergeBins([1, 1, 1], [2, 0, 1]).a.length, 1, 'too little data: one bin');
    assert.equal(mergeBins(new Array(10).fill(100), new Array(10).fill(100)).a.length, 10, 'plenty: every bin');
  });

  it('chiSquareHomogeneity is Pearson\'s statistic on the merged 2 x k table', () => {
    const t = chiSquareHomogeneity([30, 20, 50], [10, 40, 50]);
    // expected: pooled 40/60/100 split evenly (both samples hold 100)
    const manual = [[30, 20], [20, 30], [50, 50], [10, 20], [40, 30], [50, 50]].reduce((s, [o, e]) => s + (o - e) ** 2 / e, 0);
    assert.ok(Math.abs(t.statistic - manual) < 1e-12);
    assert.equal(t.dof, 2);
    assert.ok(Math.abs(t.p - Math.exp(-manual / 2)) < 1e-12, 'two degrees of freedom: p = exp(-x/2)');
  });

  it('holm rejects step-down and stops at the first p-value above its level', () => {
    assert.deepEqual(holm([0.01, 0.04, 0.03, 0.005], 0.05), [true, false, false, true]);
    assert.deepEqual(holm([0.011, 0.02, 0.04], 0.05), [true, true, true]);
    assert.deepEqual(holm([0.2, 0.001], 0.001), [false, false]);
  });

  it('each test holds its false-alarm rate under the null (simulated)', () => {
    const rng = createRng(13);
    let fisher = 0, mw = 0, chi = 0;
    const runs = 4000, alpha = 0.05;
    for (let r = 0; r < runs; r++) {
      let a = 0, b = 0;
      const la = new Array(8).fill(0), lb = new Array(8).fill(0), oa = new Array(10).fill(0), ob = new Array(10).fill(0);
      for (let i = 0; i < 60; i++) { if (rng() < 0.05) a++; la[Math.min(7, Math.floor(-Math.log(1 - rng()) * 2))]++; oa[Math.floor(rng() ** 2 * 10)]++; }
      for (let i = 0; i < 240; i++) { if (rng() < 0.05) b++; lb[Math.min(7, Math.floor(-Math.log(1 - rng()) * 2))]++; ob[Math.floor(rng() ** 2 * 10)]++; }
      if (fisherGreater(a, 60, b, 240) <= alpha) fisher++;
      if (mannWhitneyGreater(la, lb).p <= alpha) mw++;
      if (chiSquareHomogeneity(oa, ob).p <= alpha) chi++;
    }
    console.log(`null rejection at alpha 0.05 over ${runs} runs: Fisher ${fisher / runs}, Mann-Whitney ${mw / runs}, chi-square ${chi / runs}`);
    // three standard errors of a 5% rate over 4,000 runs is about 1 point
    for (const [name, count] of [['Fisher', fisher], ['Mann-Whitney', mw], ['chi-square', chi]] as const) assert.ok(count / runs <= alpha + 0.01, `${name}: ${count / runs}`);
  });
});

/** A version's counts for `judge`: latency in one of two buckets, outputs over ten bins. */
const observed = (o: Partial<Observed> & { requests: number }): Observed & { latency: number[]; outputs: number[] } => {
  const answered = o.requests - (o.errors ?? 0);
  const latency = new Array(LATENCY_BUCKETS_MS.length + 1).fill(0);
  latency[3] = Math.round(answered * 0.6);
  latency[4] = answered - latency[3];
  const outputs = new Array(10).fill(0).map((_, i) => Math.floor(answered / 10) + (i < answered % 10 ? 1 : 0));
  return { errors: 0, labelled: 0, correct: 0, ...o, latency, outputs };
};
const bounds = { latencyBounds: LATENCY_BUCKETS_MS };

describe('judge', () => {
  const t = DEFAULT_THRESHOLDS;

  it('below the minimum sample on either side it tests nothing and is inconclusive', () => {
    const v = judge(observed({ requests: t.minRequests - 1, errors: 100 }), observed({ requests: 5000 }), t, bounds);
    assert.equal(v.conclusive, false);
    assert.deepEqual(v.breaches, []);
    assert.deepEqual(v.checks, []);
    assert.equal(judge(observed({ requests: 5000 }), observed({ requests: t.minRequests - 1 }), t, bounds).conclusive, false);
  });

  it('the same counts on both sides pass every check', () => {
    const v = judge(observed({ requests: 1000, errors: 10, labelled: 500, correct: 450 }), observed({ requests: 1000, errors: 10, labelled: 500, correct: 450 }), t, bounds);
    assert.equal(v.conclusive, true);
    assert.deepEqual(v.breaches, []);
    assert.deepEqual(v.checks.map((c) => c.check).sort(), ['accuracy', 'errors', 'latency', 'outputs']);
    assert.ok(v.checks.every((c) => c.p !== null && c.p > 0.4 && !c.significant), JSON.stringify(v.checks));
    assert.equal(v.psi, 0);
  });

  it('breaches on errors', () => {
    const v = judge(observed({ requests: 400, errors: 24 }), observed({ requests: 4000, errors: 40 }), t, bounds);
    assert.equal(v.breaches.length, 1, JSON.stringify(v));
    assert.match(v.breaches[0], /^error rate 6\.0% against production's 1\.0% \(p = /);
    assert.ok(v.checks.find((c) => c.check === 'errors')!.p! < 1e-5);
  });

  it('breaches on latency when slower by rank and the p99 passes its ratio and margin', () => {
    const slow = observed({ requests: 400 });
    slow.latency.fill(0);
    slow.latency[13] = 200; slow.latency[14] = 196; slow.latency[15] = 4; // 75-250 ms: p99 in the 100-150 ms bucket
    const v = judge(slow, observed({ requests: 4000 }), t, bounds);
    assert.deepEqual(v.breaches.length, 1, JSON.stringify(v));
    assert.match(v.breaches[0], /^p99 latency 150 ms against production's 5 ms/);
    // as slow by rank, but within the 50 ms margin: significant, not material, no breach
    const little = observed({ requests: 400 });
    little.latency.fill(0); little.latency[7] = 400; // 10-15 ms
    const w = judge(little, observed({ requests: 4000 }), t, bounds);
    const latency = w.checks.find((c) => c.check === 'latency')!;
    assert.ok(latency.significant && !latency.material && !latency.breach, JSON.stringify(latency));
    assert.deepEqual(w.breaches, []);
    assert.equal(judge(little, observed({ requests: 4000 }), { ...t, minLatencyIncreaseMs: 2 }, bounds).breaches.length, 1, 'a smaller margin makes it a breach');
  });

  it('breaches on the output distribution, with bins merged to the sample', () => {
    const shifted = observed({ requests: 400 });
    shifted.outputs = [0, 0, 0, 0, 0, 40, 60, 100, 100, 100];
    const v = judge(shifted, observed({ requests: 4000 }), t, bounds);
    assert.equal(v.breaches.length, 1, JSON.stringify(v));
    assert.match(v.breaches[0], /^output distribution shifted: PSI \d\.\d{3} > 0\.2 \(p = /);
    assert.ok(v.psi! > 0.2);
    // a small shift on heavy traffic is significant but under the PSI threshold: not a breach
    const slight = observed({ requests: 100_000 });
    slight.outputs = [9000, 9000, 9000, 9000, 9000, 11000, 11000, 11000, 11000, 11000];
    const w = judge(slight, observed({ requests: 100_000 }), t, bounds);
    const outputs = w.checks.find((c) => c.check === 'outputs')!;
    assert.ok(outputs.significant && !outputs.breach && w.psi! < 0.1, JSON.stringify(outputs));
  });

  it('breaches on live accuracy only once both sides have the minimum labels', () => {
    const v = judge(observed({ requests: 1000, labelled: 300, correct: 240 }), observed({ requests: 4000, labelled: 1200, correct: 1080 }), t, bounds);
    assert.equal(v.breaches.length, 1, JSON.stringify(v));
    assert.match(v.breaches[0], /^live accuracy 80\.0% against production's 90\.0%/);
    const few = judge(observed({ requests: 1000, labelled: t.minLabels - 1, correct: 0 }), observed({ requests: 4000, labelled: 1200, correct: 1080 }), t, bounds);
    assert.deepEqual(few.breaches, []);
    assert.match(few.checks.find((c) => c.check === 'accuracy')!.detail, /needed/);
  });

  it('splits the false-alarm rate over the judged steps and holds each p-value to its Holm level', () => {
    // three checks run (no labels): the errors check's p of about 0.001 is the smallest, held to alpha / 3
    // when the rollout is judged once, and to alpha / 3 / 3 when it is one of three judged steps
    const c = observed({ requests: 400, errors: 16 }), p = observed({ requests: 4000, errors: 60 });
    const once = judge(c, p, t, bounds);
    const ofThree = judge(c, p, t, { ...bounds, looks: 3 });
    const errors = once.checks.find((x) => x.check === 'errors')!;
    assert.ok(errors.p! > t.falseAlarmRate / 3 / 3 && errors.p! < t.falseAlarmRate / 3, `p ${errors.p}`);
    assert.equal(once.breaches.length, 1);
    assert.deepEqual(ofThree.breaches, []);
    assert.equal(ofThree.alpha, t.falseAlarmRate / 3);
    assert.equal(ofThree.checks.find((x) => x.check === 'errors')!.level, t.falseAlarmRate / 3 / 3, 'the smallest of three p-values is held to alpha / 3');
    assert.equal(once.checks.find((x) => x.check === 'errors')!.level, t.falseAlarmRate / 3);
  });

  it('histogramQuantile reads the bucket bound, the open last bucket as Infinity', () => {
    assert.equal(histogramQuantile([0, 99, 1], [1, 2], 0.99), 2);
    assert.equal(histogramQuantile([0, 98, 2], [1, 2], 0.99), Infinity);
    assert.equal(histogramQuantile([0, 0, 0], [1, 2], 0.99), null);
  });
});

describe('simulated canary rollouts (1,000 per traffic level)', () => {
  const LEVELS = [10, 50, 200, 1000];
  const ROLLOUTS = 1000;

  it('rolls back a version drawn from production\'s distribution in at most 1%, and catches 5 points more errors or 10 points less accuracy in at least 95%', () => {
    const rows: string[] = [];
    for (const [k, level] of LEVELS.entries()) {
      const same = simulateRollouts(SCENARIOS.same, { rollouts: ROLLOUTS, requestsPerBake: level, seed: 100 + k });
      const errors = simulateRollouts(SCENARIOS.errors, { rollouts: ROLLOUTS, requestsPerBake: level, seed: 200 + k });
      const accuracy = simulateRollouts(SCENARIOS.accuracy, { rollouts: ROLLOUTS, requestsPerBake: level, seed: 300 + k });
      rows.push(`${String(level).padStart(5)} | ${(same.rolledBack / ROLLOUTS * 100).toFixed(1).padStart(5)}% | ${(errors.rolledBack / errors.reachedMinimum * 100).toFixed(1).padStart(5)}% | ${(accuracy.rolledBack / accuracy.reachedMinimum * 100).toFixed(1).padStart(5)}% | ${same.bakesPerStep.toFixed(1).padStart(5)} | ${same.candidateAtJudgement.toFixed(0).padStart(5)}`);
      // every rollout reached the minimum sample within the extension limit, at every level
      for (const r of [same, errors, accuracy]) assert.equal(r.held, 0, JSON.stringify(r));
      assert.ok(same.rolledBack <= ROLLOUTS * 0.01, `${level}/bake: ${same.rolledBack} of ${ROLLOUTS} healthy versions rolled back`);
      assert.ok(errors.rolledBack >= errors.reachedMinimum * 0.95, `${level}/bake: ${errors.rolledBack} of ${errors.reachedMinimum} erring versions caught`);
      assert.ok(accuracy.rolledBack >= accuracy.reachedMinimum * 0.95, `${level}/bake: ${accuracy.rolledBack} of ${accuracy.reachedMinimum} less accurate versions caught`);
      assert.ok((errors.byCheck.errors ?? 0) >= errors.rolledBack * 0.95, 'errors are caught by the errors check');
      assert.ok((accuracy.byCheck.accuracy ?? 0) >= accuracy.rolledBack * 0.95, 'lost accuracy is caught by the accuracy check');
      // the step waits for its minimum sample: never judged on less
      assert.ok(same.candidateAtJudgement >= DEFAULT_THRESHOLDS.minRequests);
    }
    console.log(['per bake | same: rolled back | +5 pts errors: caught | -10 pts accuracy: caught | bakes per step | new version\'s requests when judged', ...rows].join('\n'));
  });
});
