/**
 * blueGreenDeployment: smoke test, one atomic switch, bake; a breach switches straight back (replicas
 * keep the previous version loaded). The baseline is the previous version before the switch.
 */
import { patched } from '@temporalio/workflow';
import { act, begin, Decision, DEFAULT_BAKE_SECONDS, MAX_EXTENSIONS, RolloutInput, RolloutStatus } from './rollout';

/** The strategy's name: what requests say, and what its rollouts record. */
export const BLUE_GREEN = 'blue-green';
/** Patch (recorded histories took the older branch): too little traffic bakes longer instead of passing. */
const BLUE_GREEN_BAKES_LONGER = 'blue-green-bakes-longer';

export async function blueGreenDeployment(input: RolloutInput): Promise<RolloutStatus> {
  const { status, record, bake, hold, decidedMeanwhile, end, fromVersion } = await begin(BLUE_GREEN, input);
  const bakeSeconds = input.bakeSeconds ?? DEFAULT_BAKE_SECONDS;
  const switched = await act.promoteRollout({ model: input.model, version: input.version, strategy: BLUE_GREEN, actor: input.actor, reason: 'blue-green switch' });
  status.step = 1;
  status.percent = 100;
  if (fromVersion === null || bakeSeconds <= 0) {
    end();
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
    // a person who decided while the analysis ran is heard before the bake passes or goes on
    decision = decidedMeanwhile();
    if (decision) break;
    if (comparison.conclusive || !patched(BLUE_GREEN_BAKES_LONGER)) break;
    const waiting = `too little traffic to judge after ${extension + 1} bakes (${comparison.candidate.requests} and ${comparison.production.requests} requests)`;
    if (extension >= (input.maxExtensions ?? MAX_EXTENSIONS)) { decision = await hold(1, waiting); break; }
    status.reason = `waiting for traffic: ${waiting}`;
  }
  if (decision?.action === 'abort') reason = `switched back by ${decision.by}${decision.reason ? `: ${decision.reason}` : ''}`;
  end();
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
