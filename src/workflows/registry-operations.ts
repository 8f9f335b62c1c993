/**
 * Registry operations as workflows, so each one shows in the Temporal Web UI with who asked and what
 * came of it: `rollback` moves production back, `reproduce` retrains a version from its lineage
 * record and compares the bytes.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { RegistryActivities } from '../activities/registry';
import { ACTIVITY_PRESETS, FAILURE_TYPES, retryExcept } from './activity-options';

const retry = retryExcept(FAILURE_TYPES.registryNotFound, FAILURE_TYPES.registryConflict);
const quick = proxyActivities<RegistryActivities>(ACTIVITY_PRESETS.quick(retry));
// Training again: heartbeats from the training thread, as in the pipeline.
const compute = proxyActivities<RegistryActivities>(ACTIVITY_PRESETS.compute(retry));

export interface RollbackInput {
  model: string;
  /** Defaults to the version production held before the current one. */
  toVersion?: number;
  actor: string;
  reason?: string;
}

export async function rollback(input: RollbackInput): Promise<Awaited<ReturnType<RegistryActivities['rollbackModel']>>> {
  return quick.rollbackModel(input);
}

export interface ReproduceInput {
  model: string;
  version: number;
  actor: string;
}

export async function reproduce(input: ReproduceInput): Promise<Awaited<ReturnType<RegistryActivities['reproduceVersion']>>> {
  return compute.reproduceVersion(input);
}
