/**
 * trainingPipeline: ingest -> validate -> train -> evaluate -> register -> approve -> deploy.
 * Orchestration only: every side effect is an activity, only references and small summaries cross
 * history, and a run can wait days for a person without holding anything but its state.
 */
import {
  condition,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { PipelineActivities } from '../activities/pipeline';
import {
  ApprovalDecision,
  ApprovalPolicy,
  approvalSignal,
  LOWER_IS_BETTER,
  MetricSummary,
  MODEL_NAME_KEY,
  PipelineInput,
  PipelineStatus,
  Stage,
  STAGE_KEY,
  statusQuery,
} from './definitions';
import type { Duration } from '@temporalio/common';

const NON_RETRYABLE_TYPES = ['DataSourceError', 'DataFormatError', 'DataValidationError', 'ModelError'];
const retry = { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE_TYPES };

const data = proxyActivities<PipelineActivities>({ startToCloseTimeout: '30 minutes', heartbeatTimeout: '1 minute', retry });
const compute = proxyActivities<PipelineActivities>({ startToCloseTimeout: '2 hours', heartbeatTimeout: '10 seconds', retry });
const quick = proxyActivities<PipelineActivities>({ startToCloseTimeout: '1 minute', retry });

export const DEFAULT_APPROVAL_TIMEOUT = '72 hours';
export const DEFAULT_SEED = 42;

/** Which thresholds the metrics miss, as readable lines (empty when all pass). */
export function thresholdFailures(metrics: MetricSummary, thresholds: Record<string, number> = {}): string[] {
  const failures: string[] = [];
  for (const [name, limit] of Object.entries(thresholds)) {
    const value = metrics[name];
    if (typeof value !== 'number' || Number.isNaN(value)) failures.push(`${name} is not a metric of this model`);
    else if (LOWER_IS_BETTER.has(name) ? value > limit : value < limit) {
      failures.push(`${name} ${value.toFixed(4)} ${LOWER_IS_BETTER.has(name) ? '>' : '<'} ${limit}`);
    }
  }
  return failures;
}

export async function trainingPipeline(input: PipelineInput): Promise<PipelineStatus> {
  const runId = workflowInfo().workflowId;
  const policy: ApprovalPolicy = { mode: input.approval?.mode ?? 'manual', thresholds: input.approval?.thresholds ?? {}, timeout: input.approval?.timeout ?? DEFAULT_APPROVAL_TIMEOUT };
  const status: PipelineStatus = { state: 'running', stage: 'ingest', model: input.model, warnings: [], approval: { policy, ignoredSignals: 0 } };
  let pending: ApprovalDecision | undefined;

  setHandler(statusQuery, () => status);
  setHandler(approvalSignal, (decision) => {
    // Decisions count only while the run waits for one; early, late or repeated ones are noted, not used.
    if (status.state === 'awaiting_approval' && pending === undefined) pending = decision;
    else status.approval.ignoredSignals++;
  });

  const enter = (stage: Stage) => {
    status.stage = stage;
    if (input.useSearchAttributes) upsertSearchAttributes([{ key: STAGE_KEY, value: stage }]);
  };
  if (input.useSearchAttributes) upsertSearchAttributes([{ key: MODEL_NAME_KEY, value: input.model }]);

  try {
    enter('ingest');
    const dataset = await data.ingestDataset({ uri: input.data.uri, query: input.data.query });
    status.datasetId = dataset.datasetId;

    enter('validate');
    const validation = await quick.validateDataset({
      datasetId: dataset.datasetId, target: input.target, features: input.features, kind: input.trainer?.kind, derive: input.preprocessing?.derive,
    });
    status.warnings = validation.warnings.map((w) => w.message);
    status.task = validation.task;
    status.kind = validation.kind;

    enter('train');
    const spec = {
      datasetId: dataset.datasetId, task: validation.task, kind: validation.kind, target: input.target,
      features: validation.features, numeric: validation.numeric, categorical: validation.categorical, recipe: input.preprocessing,
      positiveClass: input.positiveClass, seed: input.seed ?? DEFAULT_SEED,
    };
    const l2Grid = input.trainer?.search?.l2 ?? (input.trainer?.params?.l2 !== undefined ? [input.trainer.params.l2] : undefined);
    const trained = await compute.trainModel({ ...spec, l2Grid, runId, modelName: input.model });
    status.onnxDigest = trained.onnxDigest;
    status.params = trained.params;

    enter('evaluate');
    const evaluation = await compute.evaluateModel({ ...spec, modelName: input.model, onnxDigest: trained.onnxDigest, runId });
    status.metrics = evaluation.metrics;
    status.confusion = evaluation.confusion;
    status.champion = evaluation.champion;

    enter('register');
    const { version } = await quick.registerModelVersion({
      modelName: input.model, runId, onnxDigest: trained.onnxDigest, signature: trained.signature, metrics: evaluation.metrics,
      params: trained.params, datasetId: dataset.datasetId, requestedBy: input.requestedBy,
    });
    status.modelVersion = version;

    enter('approve');
    const failures = thresholdFailures(evaluation.metrics, policy.thresholds);
    status.approval.thresholdsPassed = failures.length === 0;
    status.approval.thresholdFailures = failures;
    if (policy.mode === 'auto') {
      status.approval.decision = failures.length === 0
        ? { decision: 'approve', by: 'policy:auto', comment: 'all thresholds passed', via: 'policy', at: new Date().toISOString() }
        : { decision: 'reject', by: 'policy:auto', comment: `thresholds missed: ${failures.join('; ')}`, via: 'policy', at: new Date().toISOString() };
    } else {
      status.state = 'awaiting_approval';
      const decided = await condition(() => pending !== undefined, policy.timeout as Duration);
      status.approval.decision = decided && pending
        ? { ...pending, via: 'signal', at: new Date().toISOString() }
        : { decision: 'reject', by: 'system:timeout', comment: `no decision within ${policy.timeout}`, via: 'timeout', at: new Date().toISOString() };
      status.state = 'running';
    }
    await quick.recordDecision({ modelName: input.model, version, runId, decision: status.approval.decision });

    if (status.approval.decision.decision === 'reject') {
      status.state = 'rejected';
      enter('done');
      return status;
    }

    enter('deploy');
    const deployment = await quick.deployModel({ modelName: input.model, version, runId });
    status.deploymentId = deployment.deploymentId;
    status.state = 'deployed';
    enter('done');
    return status;
  } catch (err) {
    status.state = 'failed';
    status.error = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
    throw err;
  }
}
