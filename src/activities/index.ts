export { createPipelineActivities, NON_RETRYABLE, DEFAULT_L2_GRID } from './pipeline';
export type { PipelineActivities, ActivityDeps, FeatureSpec } from './pipeline';
