/**
 * Activities that act on the registry rather than on data: rollback, reproduction of a version from its
 * lineage record, and the step cache that lets a pipeline reuse a training whose inputs it repeats.
 */
import { Context, ApplicationFailure } from '@temporalio/activity';
import { createHash } from 'node:crypto';
import { canonicalJson } from '../canonical-json';
import * as registry from '../store/registry';
import type { FeatureSpec } from '../domain/training-recipe';
import { ActivityDeps, beating, loadDataset, trainingColumns, trainingJob } from './pipeline';
import { trainInThread } from './training-thread';
import { FAILURE_TYPES } from '../workflows/activity-options';
import type { Deployment, ModelSignature } from '../domain/model-version';

export const REGISTRY_ERRORS = { not_found: FAILURE_TYPES.registryNotFound, conflict: FAILURE_TYPES.registryConflict } as const;

/** What a training stage produced: all a later stage reads from it. */
export interface TrainingOutputs {
  onnxDigest: string;
  signature: ModelSignature;
  params: Record<string, unknown>;
}

/**
 * Code versions the cache trusts: a commit of a clean tree. A dirty tree's code may differ from its
 * commit, so caching is off there rather than wrong.
 */
const cacheable = (codeVersion?: string): codeVersion is string => !!codeVersion && !codeVersion.endsWith('+dirty');

/** The workflow an activity runs for: its natural idempotency key. */
const workflowIdOf = (ctx: Context) => ctx.info.workflowExecution?.workflowId ?? ctx.info.activityId;

function asFailure(err: unknown): unknown {
  if (err instanceof registry.RegistryError) return ApplicationFailure.nonRetryable(err.message, REGISTRY_ERRORS[err.code]);
  return err;
}

export function createRegistryActivities({ repos, artifacts, codeVersion }: ActivityDeps) {
  return {
    /** Moves production back (see registry.rollbackProduction), keyed by the workflow so a retry repeats nothing. */
    async rollbackModel(input: { model: string; toVersion?: number; actor: string; reason?: string }): Promise<Deployment> {
      const key = `${workflowIdOf(Context.current())}:rollback`;
      try {
        const d = await repos.registry.rollbackProduction(input.model, key, input);
        await repos.registry.recordAudit({ key, actor: input.actor, action: 'model.rolled_back', subject: `${input.model}@${d.version}`, details: { from: d.previousVersion, reason: d.reason, deploymentId: d.id } });
        return d;
      } catch (err) {
        throw asFailure(err);
      }
    },

    /**
     * Trains a registered version again from its lineage record (dataset version, feature spec, family
     * settings, seed, chosen strength) and says whether the ONNX file is byte-identical.
     */
    async reproduceVersion(input: { model: string; version: number; actor: string }): Promise<{ identical: boolean; registeredDigest: string; reproducedDigest: string; datasetId: string; l2: number; trainMs: number }> {
      const ctx = Context.current();
      const version = await repos.registry.getVersion(input.model, input.version);
      if (!version) throw ApplicationFailure.nonRetryable(`model "${input.model}" has no version ${input.version}`, REGISTRY_ERRORS.not_found);
      const recipe = version.recipe;
      if (!recipe) throw ApplicationFailure.nonRetryable(`version ${input.version} of "${input.model}" was registered before training recipes were recorded; it cannot be reproduced`, REGISTRY_ERRORS.conflict);
      const started = Date.now();
      const table = await loadDataset({ repos, artifacts }, recipe.datasetId, { columns: trainingColumns(recipe) });
      ctx.heartbeat();
      const outcome = await beating({ phase: 'training' }, trainInThread(trainingJob(table, recipe, [recipe.l2]), () => ctx.heartbeat(), ctx.cancellationSignal));
      const reproducedDigest = await artifacts.put(outcome.onnx);
      const result = { identical: reproducedDigest === version.onnxDigest, registeredDigest: version.onnxDigest, reproducedDigest, datasetId: recipe.datasetId, l2: recipe.l2, trainMs: Date.now() - started };
      await repos.registry.recordAudit({ key: `${workflowIdOf(ctx)}:reproduce`, actor: input.actor, action: 'model.reproduced', subject: `${input.model}@${input.version}`, details: result });
      return result;
    },

    /**
     * Looks up a training with the same inputs (dataset version, feature spec, family settings, search,
     * seed) by the same code. On a hit, records the run as a copy of the earlier one and returns its
     * outputs; either way returns the key to store this run's outputs under.
     */
    async findCachedTraining(input: { spec: FeatureSpec; search: unknown; runId: string; modelName: string }): Promise<{ key?: string; hit?: { fromRun: string; outputs: TrainingOutputs } }> {
      if (!cacheable(codeVersion)) return {};
      const { datasetId, task, kind, target, features, numeric, categorical, recipe, modelParams, positiveClass, seed } = input.spec;
      const key = createHash('sha256')
        .update(canonicalJson({ stage: 'train', codeVersion, inputs: { datasetId, task, kind, target, features, numeric, categorical, recipe, modelParams, positiveClass, seed, search: input.search } }))
        .digest('hex');
      const found = await repos.stepCache.cachedStep(key) as { runId: string; outputs: TrainingOutputs } | undefined;
      if (!found || found.runId === input.runId || !(await artifacts.has(found.outputs.onnxDigest))) return { key };
      await repos.stepCache.recordCacheHit({ key, runId: input.runId, modelName: input.modelName, fromRun: found.runId });
      return { key, hit: { fromRun: found.runId, outputs: { ...found.outputs, params: { ...found.outputs.params, cachedFrom: found.runId } } } };
    },

    /** Remembers a successful training's outputs under its key; the first run to finish keeps it. */
    async cacheTraining(input: { key: string; runId: string; outputs: TrainingOutputs }): Promise<void> {
      await repos.stepCache.cacheStep({ key: input.key, stage: 'train', runId: input.runId, outputs: input.outputs });
    },
  };
}

export type RegistryActivities = ReturnType<typeof createRegistryActivities>;
