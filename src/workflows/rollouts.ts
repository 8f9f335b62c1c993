/**
 * Rollout workflows: how a new version reaches production.
 *   blueGreenDeployment  smoke test, one atomic switch, bake; a breach switches straight back
 *                        (replicas keep the previous version loaded).
 *   canaryRollout        smoke test, then traffic steps (5 -> 25 -> 50 -> 100 %) with a bake per step and a
 *                        comparison with production after each; a breach rolls back and alerts.
 *   shadowDeployment     smoke test, then mirror a share of traffic to the version without answering
 *                        with it, and report how often it agrees with production.
 * `promote` and `abort` signals let a person decide early; the `status` query shows the step and the
 * latest comparisons. Only references and small summaries cross history.
 */
import { condition, defineQuery, defineSignal, proxyActivities, setHandler } from '@temporalio/workflow';
import type { CanaryThresholds, Comparison, RolloutActivities } from '../activities/rollout';

const retry = { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 5, nonRetryableErrorTypes: ['RolloutRefused'] };
const act = proxyActivities<RolloutActivities>({ startToCloseTimeout: '1 minute', retry });

export const DEFAULT_STEPS = [5, 25, 50, 100];
export const DEFAULT_BAKE_SECONDS = 60;
/** Bakes a step may be extended while the new version has too little traffic to judge. */
export const MAX_EXTENSIONS = 100;

export interface Decision { by: string; reason?: string }
export const promoteSignal = defineSignal<[Decision]>('promote');
export const abortSignal = defineSignal<[Decision]>('abort');

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
  const record = (c: Comparison) => { status.comparisons = [...status.comparisons.slice(-9), c]; };
  /** Waits the bake time, or less if someone decides; returns the decision, if any. */
  const bake = async (seconds: number) => { await condition(() => status.decision !== undefined, seconds * 1000); return status.decision; };
  const { fromVersion } = await act.prepareRollout({ model: input.model, version: input.version, strategy, actor: input.actor });
  status.fromVersion = fromVersion;
  status.state = 'running';
  return { status, record, bake, fromVersion };
}

export async function canaryRollout(input: RolloutInput): Promise<RolloutStatus> {
  const { status, record, bake, fromVersion } = await begin('canary', input);
  const steps = input.steps ?? DEFAULT_STEPS;
  for (const [i, percent] of steps.entries()) {
    if (percent >= 100) break;
    const { since } = await act.routeTraffic({ model: input.model, version: input.version, mode: 'canary', percent, step: i + 1 });
    status.step = i + 1;
    status.percent = percent;
    // a step is judged only on enough traffic: too little extends the bake rather than passing it
    for (let extension = 0; ; extension++) {
      const decision = await bake(input.bakeSeconds ?? DEFAULT_BAKE_SECONDS);
      if (decision?.action === 'abort') {
        await act.finishRollout({ model: input.model, state: 'aborted', actor: decision.by, reason: decision.reason ?? 'aborted by a person' });
        status.state = 'aborted';
        return status;
      }
      if (decision?.action === 'promote') break;
      const comparison = await act.analyzeRollout({ model: input.model, candidate: input.version, production: fromVersion!, since, thresholds: input.thresholds });
      record(comparison);
      if (comparison.breaches.length > 0 || (!comparison.conclusive && extension >= MAX_EXTENSIONS)) {
        status.reason = comparison.breaches.length > 0 ? `at ${percent}%: ${comparison.breaches.join('; ')}` : `at ${percent}%: too little traffic to judge after ${extension + 1} bakes`;
        await act.finishRollout({ model: input.model, state: 'rolled_back', actor: 'canary-analysis', reason: status.reason });
        status.state = 'rolled_back';
        return status;
      }
      if (comparison.conclusive) break;
      status.reason = `waiting for traffic at ${percent}% (${comparison.candidate.requests} requests so far)`;
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
  const { status, record, bake, fromVersion } = await begin('blue-green', input);
  const bakeSeconds = input.bakeSeconds ?? DEFAULT_BAKE_SECONDS;
  const switched = await act.promoteRollout({ model: input.model, version: input.version, strategy: 'blue-green', actor: input.actor, reason: 'blue-green switch' });
  // the previous version over the bake time before the switch is the baseline
  const baselineSince = new Date(Date.parse(switched.createdAt) - bakeSeconds * 1000).toISOString();
  status.step = 1;
  status.percent = 100;
  if (fromVersion === null || bakeSeconds <= 0) {
    await act.finishRollout({ model: input.model, state: 'completed', actor: input.actor, reason: 'switched' });
    status.state = 'completed';
    return status;
  }
  const decision = await bake(bakeSeconds);
  let reason: string | undefined;
  if (decision?.action === 'abort') reason = `switched back by ${decision.by}${decision.reason ? `: ${decision.reason}` : ''}`;
  else if (decision?.action !== 'promote') {
    const comparison = await act.analyzeRollout({ model: input.model, candidate: input.version, production: fromVersion, since: baselineSince, thresholds: input.thresholds });
    record(comparison);
    if (comparison.breaches.length > 0) reason = comparison.breaches.join('; ');
  }
  if (reason) {
    await act.finishRollout({ model: input.model, state: decision?.action === 'abort' ? 'aborted' : 'rolled_back', restoreVersion: fromVersion, actor: decision?.by ?? 'blue-green-analysis', reason });
    status.state = decision?.action === 'abort' ? 'aborted' : 'rolled_back';
    status.reason = reason;
    return status;
  }
  await act.finishRollout({ model: input.model, state: 'completed', actor: input.actor, reason: 'the new version held through its bake time' });
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
