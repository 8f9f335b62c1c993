/**
 * canaryRollout: smoke test, then traffic steps (5 -> 25 -> 50 -> 100 %) with a bake per step and a
 * comparison with production after each; a breach rolls back and alerts. A step short of the minimum
 * sample bakes again, and holds for a person after `maxExtensions` extra bakes.
 */
import { patched } from '@temporalio/workflow';
import { act, begin, DEFAULT_BAKE_SECONDS, MAX_EXTENSIONS, RolloutInput, RolloutStatus } from './rollout';

/** The strategy's name: what requests say, and what its rollouts and routes record. */
export const CANARY = 'canary';
export const DEFAULT_STEPS = [5, 25, 50, 100];
/** Patch (recorded histories took the older branch): hold instead of rolling back. */
const HOLD_WHEN_INCONCLUSIVE = 'rollout-hold-when-inconclusive';

export interface CanaryInput extends RolloutInput {
  /** Traffic steps in percent, ending at 100 (default 5, 25, 50, 100). */
  steps?: number[];
}

export async function canaryRollout(input: CanaryInput): Promise<RolloutStatus> {
  const { status, record, bake, hold, decidedMeanwhile, end, fromVersion } = await begin(CANARY, input);
  const steps = input.steps ?? DEFAULT_STEPS;
  const maxExtensions = input.maxExtensions ?? MAX_EXTENSIONS;
  // the rollout's false-alarm rate is split over the steps that are judged (all but the last, 100%)
  const looks = Math.max(1, steps.filter((p) => p < 100).length);
  for (const [i, percent] of steps.entries()) {
    if (percent >= 100) break;
    const { since } = await act.routeTraffic({ model: input.model, version: input.version, mode: CANARY, percent, step: i + 1 });
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
          end();
          await act.finishRollout({ model: input.model, state: 'rolled_back', actor: 'canary-analysis', reason: status.reason });
          status.state = 'rolled_back';
          return status;
        }
        // a person who decided while the analysis ran is heard before the step passes or bakes again
        decision = decidedMeanwhile();
        if (decision === undefined) {
          if (comparison.conclusive) break;
          const waiting = `at ${percent}%: too little traffic to judge after ${extension + 1} bakes (${comparison.candidate.requests} and ${comparison.production.requests} requests)`;
          if (extension < maxExtensions) {
            status.reason = `waiting for traffic ${waiting}`;
            continue;
          }
          if (!patched(HOLD_WHEN_INCONCLUSIVE)) {
            status.reason = waiting;
            end();
            await act.finishRollout({ model: input.model, state: 'rolled_back', actor: 'canary-analysis', reason: status.reason });
            status.state = 'rolled_back';
            return status;
          }
          decision = await hold(i + 1, waiting);
        }
      }
      if (decision.action === 'abort') {
        end();
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
  end();
  await act.promoteRollout({ model: input.model, version: input.version, strategy: CANARY, actor: by, reason: status.decision ? `promoted early by ${by}` : 'every canary step passed' });
  status.step = steps.length;
  status.percent = 100;
  status.state = 'promoted';
  return status;
}
