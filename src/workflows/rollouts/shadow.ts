/**
 * shadowDeployment: smoke test, then mirror a share of traffic to the version without answering with
 * it, and report how often it agrees with production. It never promotes.
 */
import { act, begin, DEFAULT_BAKE_SECONDS, RolloutInput, RolloutStatus } from './rollout';

/** The strategy's name: what requests say, and what its rollouts and routes record. */
export const SHADOW = 'shadow';

export interface ShadowInput extends RolloutInput {
  /** Share of requests mirrored, in percent (default 100). */
  percent?: number;
}

export async function shadowDeployment(input: ShadowInput): Promise<RolloutStatus> {
  const { status, record, bake, decidedMeanwhile, end, fromVersion } = await begin(SHADOW, input);
  const percent = input.percent ?? 100;
  const { since } = await act.routeTraffic({ model: input.model, version: input.version, mode: SHADOW, percent, step: 1 });
  status.step = 1;
  status.percent = percent;
  const baked = await bake(input.bakeSeconds ?? DEFAULT_BAKE_SECONDS);
  record(await act.analyzeRollout({ model: input.model, candidate: input.version, production: fromVersion!, since, thresholds: input.thresholds }));
  const decision = baked ?? decidedMeanwhile();
  end();
  const aborted = decision?.action === 'abort';
  await act.finishRollout({ model: input.model, state: aborted ? 'aborted' : 'completed', actor: decision?.by ?? input.actor, reason: aborted ? 'stopped early' : 'shadow period over' });
  status.state = aborted ? 'aborted' : 'completed';
  return status;
}
