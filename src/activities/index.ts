import { ActivityDeps, createPipelineActivities } from './pipeline';
import { createRegistryActivities } from './registry';
import { createRolloutActivities } from './rollout';
import { createMonitoringActivities } from './monitoring';
import { createApprovalActivities } from './approvals';
import { createImportActivities } from './import';
import { createBatchActivities } from './batch';
import { givingUpOnFaults } from './outages';

export { createPipelineActivities, NON_RETRYABLE, DEFAULT_L2_GRID } from './pipeline';
export type { PipelineActivities } from './pipeline';
export type { ActivityDeps };
export { createRegistryActivities, REGISTRY_ERRORS } from './registry';
export type { RegistryActivities, TrainingOutputs } from './registry';
export { createRolloutActivities, DEFAULT_THRESHOLDS, ROLLOUT_REFUSED } from './rollout';
export type { RolloutActivities, CanaryThresholds, Comparison } from './rollout';
export { createMonitoringActivities } from './monitoring';
export type { MonitoringActivities, CheckSummary } from './monitoring';
export { createApprovalActivities } from './approvals';
export type { ApprovalActivities } from './approvals';
export { createImportActivities } from './import';
export type { ImportActivities } from './import';
export { createBatchActivities } from './batch';
export type { BatchActivities } from './batch';

/** Every activity the worker runs; a fault is final on its fifth attempt, an outage is waited out (./outages.ts). */
export function createActivities(deps: ActivityDeps) {
  return givingUpOnFaults({ ...createPipelineActivities(deps), ...createRegistryActivities(deps), ...createRolloutActivities(deps), ...createMonitoringActivities(deps), ...createApprovalActivities(deps), ...createImportActivities(deps), ...createBatchActivities(deps) });
}
