/**
 * Rollout workflows: how a new version reaches production.
 *   blueGreenDeployment  smoke test, one atomic switch, bake; a breach switches straight back
 *                        (replicas keep the previous version loaded).
 *   canaryRollout        smoke test, then traffic steps (5 -> 25 -> 50 -> 100 %) with a bake per step and a
 *                        comparison with production after each; a breach rolls back and alerts.
 * A step is judged only once both versions have the minimum sample (src/ml/rollout-judge.ts): until then
 * it bakes again, up to `maxExtensions` times; then the rollout holds where it is and alerts, for a
 * person to promote or abort, rather than rolling back (or passing) on no evidence.
 *   shadowDeployment     smoke test, then mirror a share of traffic to the version without answering
 *                        with it, and report how often it agrees with production.
 * `promote` and `abort` signals let a person decide early; the `status` query shows the step and the
 * latest comparisons. Only references and small summaries cross history.
 */
import { ApplicationFailure, condition, defineQuery, defineSignal, defineUpdate, patched, proxyActivities, setHandler } from '@temporalio/workflow';
import type { CanaryThresholds, Comparison, RolloutActivities } from '../activities/rollout';
import { ACTIVITY_PRESETS, FAILURE_TYPES, retryExcept } from './activity-options';

const retry = retryExcept(FAILURE_TYPES.rolloutRefused);
const act = proxyActivities<RolloutActivities>(ACTIVITY_PRESETS.quick(retry));

export const DEFAULT_STEPS = [5, 25, 50, 100];
export const DEFAULT_BAKE_SECONDS = 60;
/** Bakes a step may be extended while the new version has too little traffic to judge (default). */
export const MAX_EXTENSIONS = 100;
/** Patches (recorded histories took the older branch): hold instead of rolling back; blue-green bakes longer. */
const HOLD_WHEN_INCONCLUSIVE = 'rollout-hold-when-inconclusive';
const BLUE_GREEN_BAKES_LONGER = 'blue-green-bakes-longer';

export interface Decision { by: string; reason?: string }
/** Signals kept for older clients; they get no answer, and a decision after the first is ignored. */
export const promoteSignal = defineSignal<[Decision]>('promote');
export const abortSignal = defineSignal<[Decision]>('abort');

/** A person's promote or abort, as an Update: the rollout validates it and answers. */
export interface RolloutDecision extends Decision { action: 'promote' | 'abort' }
export interface RolloutDecisionAnswer { action: RolloutDecision['action']; step: number; percent: number }
/** The failure type of a refused decision: the rollout is not running, or someone already decided. */
export const ROLLOUT_DECISION_REFUSED = 'RolloutDecisionRefused';
export const rolloutDecisionUpdate = defineUpdate<RolloutDecisionAnswer, [RolloutDecision]>('decide');

export interface RolloutInput {
  model: string;
  version: number;
  /** Canary traffic steps in percent, ending at 100 (default 5, 25, 50, 100). */
  steps?: number[];
  /** Seconds each step (or the whole blue-green or shadow phase) runs before it is judged. */
  bakeSeconds?: number;
  /** Shadow: share of requests mirrored (default 100). */
  percent?: number;
  thresholds?: CanaryThresholds;
  /** Extra bakes a step may take to reach the minimum sample before the rollout holds (default 100). */
  maxExtensions?: number;
  actor: string;
}

export interface RolloutStatus {
  strategy: 'blue-green' | 'canary' | 'shadow';
  model: string;
  version: number;
  fromVersion: number | null;
  state: 'preparing' | 'running' | 'promoted' | 'completed' | 'rolled_back' | 'aborted';
  step: number;
  percent: number;
  /** The latest comparisons with production (at most ten). */
  comparisons: Comparison[];
  decision?: Decision & { action: 'promote' | 'abort' };
  reason?: string;
}

export const rolloutStatusQuery = defineQuery<RolloutStatus>('status');

/**
 * What every rollout starts with: its status, query and signal handlers, then the checks and smoke test
 * of `prepareRollout`. Times come from activities (when a route or switch took effect), never from the
 * workflow's own clock.
 */
async function begin(strategy: RolloutStatus['strategy'], input: RolloutInput) {
  const status: RolloutStatus = { strategy, model: input.model, version: input.version, fromVersion: null, state: 'preparing', step: 0, percent: 0, comparisons: [] };
  setHandler(rolloutStatusQuery, () => status);
  setHandler(promoteSignal, (d) => { status.decision ??= { ...d, action: 'promote' }; });
  setHandler(abortSignal, (d) => { status.decision ??= { ...d, action: 'abort' }; });
  setHandler(rolloutDecisionUpdate, (d): RolloutDecisionAnswer => {
    status.decision = { by: d.by, action: d.action, ...(d.reason ? { reason: d.reason } : {}) };
    return { action: d.action, step: status.step, percent: status.percent };
  }, {
    validator: (d) => {
      const refuse = (message: string) => { throw ApplicationFailure.create({ type: ROLLOUT_DECISION_REFUSED, message, nonRetryable: true }); };
      if (status.state !== 'running') refuse(`the rollout is not running (state: ${status.state})`);
      if (status.decision) refuse(`${status.decision.by} already decided to ${status.decision.action} it`);
      if (d.action !== 'promote' && d.action !== 'abort') refuse(`the action must be promote or abort, not ${String(d.action)}`);
    },
  });
  const record = (c: Comparison) => { status.comparisons = [...status.comparisons.slice(-9), c]; };
  /** Waits the bake time, or less if someone decides; returns the decision, if any. */
  const bake = async (seconds: number) => { await condition(() => status.decision !== undefined, seconds * 1000); return status.decision; };
  /** Holds after too many inconclusive bakes: alerts once, then waits for a person's decision. */
  const hold = async (step: number, reason: string) => {
    status.reason = `held: ${reason}; promote or abort it`;
    await act.holdRollout({ model: input.model, step, reason });
    await condition(() => status.decision !== undefined);
    return status.decision!;
  };
  const { fromVersion } = await act.prepareRollout({ model: input.model, version: input.version, strategy, actor: input.actor });
  status.fromVersion = fromVersion;
  status.state = 'running';
  return { status, record, bake, hold, fromVersion };
}

export async function canaryRollout(input: RolloutInput): Promise<RolloutStatus> {
  const { status, record, bake, hold, fromVersion } = await begin('canary', input);
  const steps = input.steps ?? DEFAULT_STEPS;
  const maxExtensions = input.maxExtensions ?? MAX_EXTENSIONS;
  // the rollout's false-alarm rate is split over the steps that are judged (all but the last, 100%)
  const looks = Math.max(1, steps.filter((p) => p < 100).length);
  for (const [i, percent] of steps.entries()) {
    if (percent >= 100) break;
    const { since } = await act.routeTraffic({ model: input.model, version: input.version, mode: 'canary', percent, step: i + 1 });
    status.step = i + 1;
    status.percent = percent;
    // a step is judged only on enough traffic: too little extends the bake rather than passing it
    for (let extension = 0; ; extension++) {
      let decision = await bake(input.bakeSeconds ?? DEFAULT_BAKE_SECONDS);
      if (decision === undefined) {
        const comparison = await act.analyzeRollout({ model: input.model, candidate: input.version, production: fromVersion!, since, thresholds: input.thresholds, looks });
        record(comparison);
        if (comparison.breaches.length > 0) {
          status.reason = `at ${percent}%: ${comparison.breaches.join('; ')}`;
          await act.finishRollout({ model: input.model, state: 'rolled_back', actor: 'canary-analysis', reason: status.reason });
          status.state = 'rolled_back';
          return status;
        }
        if (comparison.conclusive) break;
        const waiting = `at ${percent}%: too little traffic to judge after ${extension + 1} bakes (${comparison.candidate.requests} and ${comparison.production.requests} requests)`;
        if (extension >= maxExtensions) {
          if (!patched(HOLD_WHEN_INCONCLUSIVE)) {
            status.reason = waiting;
            await act.finishRollout({ model: input.model, state: 'rolled_back', actor: 'canary-analysis', reason: status.reason });
            status.state = 'rolled_back';
            return status;
          }
          decision = await hold(i + 1, waiting);
        } else {
          status.reason = `waiting for traffic ${waiting}`;
          continue;
        }
      }
      if (decision.action === 'abort') {
        await act.finishRollout({ model: input.model, state: 'aborted', actor: decision.by, reason: decision.reason ?? 'aborted by a person' });
        status.state = 'aborted';
        return status;
      }
      break; // promoted by a person
    }
    if (status.decision?.action === 'promote') break;
    status.reason = undefined;
  }
  const by = status.decision?.by ?? input.actor;
  await act.promoteRollout({ model: input.model, version: input.version, strategy: 'canary', actor: by, reason: status.decision ? `promoted early by ${by}` : 'every canary step passed' });
  status.step = steps.length;
  status.percent = 100;
  status.state = 'promoted';
  return status;
}

export async function blueGreenDeployment(input: RolloutInput): Promise<RolloutStatus> {
  const { status, record, bake, hold, fromVersion } = await begin('blue-green', input);
  const bakeSeconds = input.bakeSeconds ?? DEFAULT_BAKE_SECONDS;
  const switched = await act.promoteRollout({ model: input.model, version: input.version, strategy: 'blue-green', actor: input.actor, reason: 'blue-green switch' });
  status.step = 1;
  status.percent = 100;
  if (fromVersion === null || bakeSeconds <= 0) {
    await act.finishRollout({ model: input.model, state: 'completed', actor: input.actor, reason: 'switched' });
    status.state = 'completed';
    return status;
  }
  let reason: string | undefined;
  let decision: (Decision & { action: 'promote' | 'abort' }) | undefined;
  for (let extension = 0; ; extension++) {
    decision = await bake(bakeSeconds);
    if (decision) break;
    // the previous version over as long before the switch as the new one has served since is the baseline
    const since = new Date(Date.parse(switched.createdAt) - (extension + 1) * bakeSeconds * 1000).toISOString();
    const comparison = await act.analyzeRollout({ model: input.model, candidate: input.version, production: fromVersion, since, thresholds: input.thresholds, looks: 1 });
    record(comparison);
    if (comparison.breaches.length > 0) { reason = comparison.breaches.join('; '); break; }
    if (comparison.conclusive || !patched(BLUE_GREEN_BAKES_LONGER)) break;
    const waiting = `too little traffic to judge after ${extension + 1} bakes (${comparison.candidate.requests} and ${comparison.production.requests} requests)`;
    if (extension >= (input.maxExtensions ?? MAX_EXTENSIONS)) { decision = await hold(1, waiting); break; }
    status.reason = `waiting for traffic: ${waiting}`;
  }
  if (decision?.action === 'abort') reason = `switched back by ${decision.by}${decision.reason ? `: ${decision.reason}` : ''}`;
  if (reason) {
    await act.finishRollout({ model: input.model, state: decision?.action === 'abort' ? 'aborted' : 'rolled_back', restoreVersion: fromVersion, actor: decision?.by ?? 'blue-green-analysis', reason });
    status.state = decision?.action === 'abort' ? 'aborted' : 'rolled_back';
    status.reason = reason;
    return status;
  }
  status.reason = undefined;
  await act.finishRollout({ model: input.model, state: 'completed', actor: input.actor, reason: decision ? `kept by ${decision.by}` : 'the new version held through its bake time' });
  status.state = 'completed';
  return status;
}

export async function shadowDeployment(input: RolloutInput): Promise<RolloutStatus> {
  const { status, record, bake, fromVersion } = await begin('shadow', input);
  const percent = input.percent ?? 100;
  const { since } = await act.routeTraffic({ model: input.model, version: input.version, mode: 'shadow', percent, step: 1 });
  status.step = 1;
  status.percent = percent;
  const decision = await bake(input.bakeSeconds ?? DEFAULT_BAKE_SECONDS);
  record(await act.analyzeRollout({ model: input.model, candidate: input.version, production: fromVersion!, since, thresholds: input.thresholds }));
  const aborted = decision?.action === 'abort';
  await act.finishRollout({ model: input.model, state: aborted ? 'aborted' : 'completed', actor: decision?.by ?? input.actor, reason: aborted ? 'stopped early' : 'shadow period over' });
  status.state = aborted ? 'aborted' : 'completed';
  return status;
}
