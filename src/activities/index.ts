import { ActivityDeps, createPipelineActivities } from './pipeline';
import { createRegistryActivities } from './registry';

export { createPipelineActivities, NON_RETRYABLE, DEFAULT_L2_GRID } from './pipeline';
export type { PipelineActivities, ActivityDeps, FeatureSpec } from './pipeline';
export { createRegistryActivities, REGISTRY_ERRORS } from './registry';
export type { RegistryActivities, TrainingOutputs } from './registry';

/** Every activity the worker runs. */
export function createActivities(deps: ActivityDeps) {
  return { ...createPipelineActivities(deps), ...createRegistryActivities(deps) };
}
