/**
 * What every rollout workflow shares, whatever its strategy: its input and status, the `status` query,
 * the promote/abort decision (the `decide` Update with its validator, and the older signals), and
 * `begin()`, which every strategy starts with: handlers, then `prepareRollout` (checks and smoke test).
 * Each strategy's workflow is a file next to this one (the worker's list is ./index.ts); the API's
 * strategy registry (src/rollouts) adds the request schema and the traffic policy.
 *
 * A step is judged only once both versions have the minimum sample (src/ml/rollout-judge.ts): until then
 * it bakes again, up to `maxExtensions` times; then the rollout holds where it is and alerts, for a
 * person to promote or abort, rather than rolling back (or passing) on no evidence. Only references and
 * small summaries cross history.
 */
import { ApplicationFailure, condition, defineQuery, defineSignal, defineUpdate, patched, proxyActivities, setHandler } from '@temporalio/workflow';
import type { CanaryThresholds, Comparison, RolloutActivities } from '../../activities/rollout';
import { ACTIVITY_PRESETS, FAILURE_TYPES, retryExcept } from '../activity-options';

const retry = retryExcept(FAILURE_TYPES.rolloutRefused);
export const act = proxyActivities<RolloutActivities>(ACTIVITY_PRESETS.quick(retry));

export const DEFAULT_BAKE_SECONDS = 60;
/** Bakes a step may be extended while the new version has too little traffic to judge (default). */
export const MAX_EXTENSIONS = 100;

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

/** What every strategy's workflow takes; a strategy's own settings extend it (CanaryInput, ShadowInput). */
export interface RolloutInput {
  model: string;
  version: number;
  /** Seconds each step (or a strategy's one phase) runs before it is judged. */
  bakeSeconds?: number;
  thresholds?: CanaryThresholds;
  /** Extra bakes a step may take to reach the minimum sample before the rollout holds (default 100). */
  maxExtensions?: number;
  actor: string;
}

export interface RolloutStatus {
  /** The strategy's name (src/rollouts), as its workflow declares it. */
  strategy: string;
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

/** Patch: a decision accepted while an analysis ran is acted on when it returns (it was dropped, or an abort even promoted). */
const DECISION_DURING_ANALYSIS = 'rollout-decision-during-analysis';

/**
 * What every rollout starts with: its status, query and signal handlers, then the checks and smoke test
 * of `prepareRollout`. Times come from activities (when a route or switch took effect), never from the
 * workflow's own clock.
 */
export async function begin(strategy: string, input: RolloutInput) {
  const status: RolloutStatus = { strategy, model: input.model, version: input.version, fromVersion: null, state: 'preparing', step: 0, percent: 0, comparisons: [] };
  /** Set once the rollout is ending (its last activities run): a decision then would be accepted and never acted on. */
  let ending = false;
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
      if (ending) refuse('the rollout is ending: its outcome is being recorded');
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
  /**
   * A decision that came while an analysis ran, to act on before going on. Histories recorded before
   * the patch went on to the next step (or ended) without it: they replay that way.
   */
  const decidedMeanwhile = () => (status.decision !== undefined && patched(DECISION_DURING_ANALYSIS) ? status.decision : undefined);
  /** The rollout's last activities start: decisions from now on are refused, not accepted and dropped. */
  const end = () => { ending = true; };
  const { fromVersion } = await act.prepareRollout({ model: input.model, version: input.version, strategy, actor: input.actor });
  status.fromVersion = fromVersion;
  status.state = 'running';
  return { status, record, bake, hold, decidedMeanwhile, end, fromVersion };
}
