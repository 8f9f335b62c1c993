import { ActivityDeps, createPipelineActivities } from './pipeline';
import { createRegistryActivities } from './registry';
import { createRolloutActivities } from './rollout';

export { createPipelineActivities, NON_RETRYABLE, DEFAULT_L2_GRID } from './pipeline';
export type { PipelineActivities, ActivityDeps, FeatureSpec } from './pipeline';
export { createRegistryActivities, REGISTRY_ERRORS } from './registry';
export type { RegistryActivities, TrainingOutputs } from './registry';
export { createRolloutActivities, DEFAULT_THRESHOLDS, ROLLOUT_REFUSED } from './rollout';
export type { RolloutActivities, CanaryThresholds, Comparison } from './rollout';

/** Every activity the worker runs. */
export function createActivities(deps: ActivityDeps) {
  return { ...createPipelineActivities(deps), ...createRegistryActivities(deps), ...createRolloutActivities(deps) };
}
