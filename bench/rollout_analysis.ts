/**
 * Rollout analysis in simulation (test/rollout-simulation.ts): canary rollouts through the default steps
 * (5, 25, 50 %, then 100), each request drawn on its own, each step judged by the real `judge` after
 * every bake. For each traffic level (requests the new version answers per bake), the share of rollouts
 * rolled back, for a version drawn from production's own distribution (false alarms) and for versions
 * that are worse in one way (power), beside the rule it replaced (fixed thresholds on whatever sample
 * a step had, at least 10 requests: PSI over 10 bins > 0.2, error rate +1 point, p99 2x and +50 ms,
 * accuracy -5 points on 20 labels). Figures: bench/RESULTS.md.
 *
 *   node --import tsx bench/rollout_analysis.ts [rollouts per cell = 1000]
 */
import { psi } from '../src/ml/drift';
import { histogramQuantile, Observed } from '../src/ml/rollout-judge';
import { LATENCY_BUCKETS_MS } from '../src/serving/serving-stats';
import { SCENARIOS, simulateRollouts } from '../test/rollout-simulation';

const rollouts = Number(process.argv[2] ?? 1000);
const LEVELS = [10, 50, 200, 1000];

/** The replaced rule, for comparison: fixed thresholds and a 10-request minimum. */
function fixedThresholds(c: Observed, p: Observed) {
  const conclusive = c.requests >= 10;
  if (!conclusive) return { conclusive, breaches: [] as string[] };
  const breaches: string[] = [];
  if (c.errors / c.requests - p.errors / p.requests > 0.01) breaches.push('errors');
  const c99 = histogramQuantile(c.latency, LATENCY_BUCKETS_MS, 0.99), p99 = histogramQuantile(p.latency, LATENCY_BUCKETS_MS, 0.99);
  if (c99 !== null && p99 !== null && c99 > Math.max(2 * p99, p99 + 50)) breaches.push('latency');
  const shift = psi(Array.from(p.outputs), Array.from(c.outputs));
  if (shift > 0.2) breaches.push('outputs');
  if (c.labelled >= 20 && p.labelled >= 20 && p.correct / p.labelled - c.correct / c.labelled > 0.05) breaches.push('accuracy');
  return { conclusive, breaches };
}

const pct = (n: number, of: number) => (of > 0 ? `${((100 * n) / of).toFixed(1)}%` : '-');
console.log(`${rollouts} canary rollouts per cell; steps 5, 25, 50, 100 %; every answer labelled; production: 1% errors, latency log-normal (median 2 ms), accuracy 90%\n`);
console.log('| new version | requests per bake | rolled back | held | bakes per judged step | its requests when judged | replaced rule: rolled back |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
const started = Date.now();
for (const key of ['same', 'errors', 'accuracy', 'slower', 'shifted'] as const) {
  for (const [k, level] of LEVELS.entries()) {
    const r = simulateRollouts(SCENARIOS[key], { rollouts, requestsPerBake: level, seed: 1000 * k + key.length });
    const old = simulateRollouts(SCENARIOS[key], { rollouts, requestsPerBake: level, seed: 1000 * k + key.length, verdict: fixedThresholds });
    console.log(`| ${SCENARIOS[key].name} | ${level} | ${pct(r.rolledBack, r.rollouts)} | ${r.held} | ${r.bakesPerStep.toFixed(1)} | ${r.candidateAtJudgement.toFixed(0)} | ${pct(old.rolledBack, old.rollouts)} |`);
  }
}
// labels arriving for only part of the answers: accuracy is tested on fewer labels
for (const labelled of [0.9]) {
  for (const [k, level] of LEVELS.entries()) {
    const r = simulateRollouts(SCENARIOS.accuracy, { rollouts, requestsPerBake: level, labelled, seed: 7000 + k });
    console.log(`| ${SCENARIOS.accuracy.name}, ${labelled * 100}% labelled | ${level} | ${pct(r.rolledBack, r.rollouts)} | ${r.held} | ${r.bakesPerStep.toFixed(1)} | ${r.candidateAtJudgement.toFixed(0)} | |`);
  }
}
console.log(`\n(${((Date.now() - started) / 1000).toFixed(0)} s)`);
