/**
 * Simulated canary rollouts, to measure how often the rollout analysis rolls back a version that is as
 * good as production (false alarms) and how often it catches one that is worse (power). Every request
 * is drawn on its own: whether it fails, its latency (bucketed exactly as serving does), its output bin
 * and, when labelled, whether it was right. Each step then bakes as the workflow does: after every bake
 * the real `judge` reads everything since the step began; too few requests bake again (up to the
 * extension limit, then the rollout holds), a breach rolls back, a conclusive pass moves on.
 * Used by test/rollout-statistics.test.ts (asserts the bounds) and bench/rollout_analysis.ts (the table).
 */
import { createRng } from '../src/ml/random';
import { CanaryThresholds, Check, DEFAULT_THRESHOLDS, judge, Observed } from '../src/ml/rollout-judge';
import { LATENCY_BUCKETS_MS, latencyBucket } from '../src/serving/serving-stats';

/** How a version behaves, as distributions to draw requests from. */
export interface Behaviour {
  /** Share of requests that fail. */
  errorRate: number;
  /** Latency is log-normal: its median (ms) and the standard deviation of its log. */
  latencyMedianMs: number;
  latencySigma: number;
  /** A binary classifier's probability: sigmoid(mean + spread x standard normal). */
  scoreMean: number;
  scoreSpread: number;
  /** Share of labelled predictions that are right. */
  accuracy: number;
}

export const PRODUCTION: Behaviour = { errorRate: 0.01, latencyMedianMs: 2, latencySigma: 0.6, scoreMean: 0.5, scoreSpread: 2, accuracy: 0.9 };

export interface Scenario { name: string; candidate: Behaviour; production: Behaviour }

export const SCENARIOS: Record<'same' | 'errors' | 'accuracy' | 'slower' | 'shifted', Scenario> = {
  same: { name: 'drawn from production\'s distribution', candidate: PRODUCTION, production: PRODUCTION },
  errors: { name: '5 points more errors (1% -> 6%)', candidate: { ...PRODUCTION, errorRate: 0.06 }, production: PRODUCTION },
  accuracy: { name: '10 points less live accuracy (90% -> 80%)', candidate: { ...PRODUCTION, accuracy: 0.8 }, production: PRODUCTION },
  slower: { name: '10x slower (median 2 -> 20 ms)', candidate: { ...PRODUCTION, latencyMedianMs: 20 }, production: PRODUCTION },
  shifted: { name: 'outputs shifted (logit +1.5)', candidate: { ...PRODUCTION, scoreMean: 2 }, production: PRODUCTION },
};

/** The bins serving uses for a binary classifier's probability (src/serving/model-server.ts). */
const SCORE_EDGES = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];
const LOGIT_EDGES = SCORE_EDGES.map((p) => Math.log(p / (1 - p)));

export interface SimulationOptions {
  rollouts: number;
  /** Requests the new version answers per bake, on average (production gets the rest of the step's traffic). */
  requestsPerBake: number;
  /** Canary steps in percent; the last (100) is promotion and is not judged. */
  steps?: number[];
  /** Share of predictions labelled by the time a step is judged. */
  labelled?: number;
  thresholds?: CanaryThresholds;
  maxExtensions?: number;
  seed?: number;
  /** Another rule to judge a step with (the benchmark compares the one `judge` replaced); breaches name checks. */
  verdict?: (candidate: Observed, production: Observed) => { conclusive: boolean; breaches: string[] };
}

export interface SimulationResult {
  rollouts: number;
  rolledBack: number;
  held: number;
  promoted: number;
  /** Rollouts whose every judged step had reached the minimum sample (all but the held ones). */
  reachedMinimum: number;
  /** Rollbacks by the checks that breached (a rollback can name several). */
  byCheck: Record<string, number>;
  /** Mean bakes per judged step, and the mean requests the new version had when a step was judged. */
  bakesPerStep: number;
  candidateAtJudgement: number;
}

const emptyObserved = (): Observed & { latency: number[]; outputs: number[] } => ({
  requests: 0, errors: 0, latency: new Array(LATENCY_BUCKETS_MS.length + 1).fill(0), outputs: new Array(SCORE_EDGES.length + 1).fill(0), labelled: 0, correct: 0,
});

export function simulateRollouts(scenario: Scenario, o: SimulationOptions): SimulationResult {
  const rng = createRng(o.seed ?? 1);
  // Box-Muller gives normals in pairs: the second is kept for the next call
  let spare = NaN;
  const normal = () => {
    if (!Number.isNaN(spare)) { const z = spare; spare = NaN; return z; }
    const radius = Math.sqrt(-2 * Math.log(1 - rng())), angle = 2 * Math.PI * rng();
    spare = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  };
  const steps = (o.steps ?? [5, 25, 50, 100]).filter((p) => p < 100);
  const thresholds = { ...DEFAULT_THRESHOLDS, ...o.thresholds };
  const maxExtensions = o.maxExtensions ?? 100;
  const labelled = o.labelled ?? 1;

  /** One request served by a version with behaviour `b`, counted into `into`. */
  const serve = (b: Behaviour, into: ReturnType<typeof emptyObserved>) => {
    into.requests++;
    if (rng() < b.errorRate) { into.errors++; return; }
    into.latency[latencyBucket(b.latencyMedianMs * Math.exp(b.latencySigma * normal()))]++;
    // the probability is above an edge exactly when its logit is above the edge's logit
    const logit = b.scoreMean + b.scoreSpread * normal();
    let bin = 0;
    while (bin < LOGIT_EDGES.length && logit > LOGIT_EDGES[bin]) bin++;
    into.outputs[bin]++;
    if (rng() < labelled) { into.labelled++; if (rng() < b.accuracy) into.correct++; }
  };

  const result: SimulationResult = { rollouts: o.rollouts, rolledBack: 0, held: 0, promoted: 0, reachedMinimum: 0, byCheck: {}, bakesPerStep: 0, candidateAtJudgement: 0 };
  let judgedSteps = 0;
  for (let r = 0; r < o.rollouts; r++) {
    let outcome: 'promoted' | 'rolled_back' | 'held' = 'promoted';
    for (const percent of steps) {
      // the model's traffic in one bake, each request sent to the new version with the step's share
      const perBake = Math.round((o.requestsPerBake * 100) / percent);
      const candidate = emptyObserved();
      const production = emptyObserved();
      let verdict: { conclusive: boolean; breaches: string[]; checks?: Check[] };
      for (let extension = 0; ; extension++) {
        for (let i = 0; i < perBake; i++) {
          if (rng() * 100 < percent) serve(scenario.candidate, candidate);
          else serve(scenario.production, production);
        }
        verdict = o.verdict ? o.verdict(candidate, production) : judge(candidate, production, thresholds, { looks: steps.length, latencyBounds: LATENCY_BUCKETS_MS });
        if (verdict.breaches.length > 0 || verdict.conclusive) {
          judgedSteps++;
          result.bakesPerStep += extension + 1;
          result.candidateAtJudgement += candidate.requests;
          break;
        }
        if (extension >= maxExtensions) break;
      }
      if (verdict.breaches.length > 0) {
        outcome = 'rolled_back';
        const named = verdict.checks ? verdict.checks.filter((c) => c.breach).map((c) => c.check) : verdict.breaches;
        for (const check of named) result.byCheck[check] = (result.byCheck[check] ?? 0) + 1;
        break;
      }
      if (!verdict.conclusive) { outcome = 'held'; break; }
    }
    if (outcome === 'rolled_back') result.rolledBack++;
    else if (outcome === 'held') result.held++;
    else result.promoted++;
    if (outcome !== 'held') result.reachedMinimum++;
  }
  result.bakesPerStep = judgedSteps > 0 ? result.bakesPerStep / judgedSteps : 0;
  result.candidateAtJudgement = judgedSteps > 0 ? result.candidateAtJudgement / judgedSteps : 0;
  return result;
}
