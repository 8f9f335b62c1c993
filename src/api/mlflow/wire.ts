/**
 * The store's records in the JSON the MLflow client parses (its protobuf messages with their field names:
 * Experiment, Run, Metric, LoggedModel, RegisteredModel, ModelVersion). Absent optional fields are left
 * out, as protobuf's JSON printer does.
 */
import type {
  LoggedModel, MlflowExperiment, MlflowMetric, MlflowRun, MlflowRunInfo, ModelVersionRecord, RegisteredModel, Tags,
} from '../../store/mlflow';
import { artifactUri, experimentArtifactUri, modelArtifactRoot, runArtifactRoot } from './artifact-paths';

const tagList = (tags: Tags) => Object.entries(tags).map(([key, value]) => ({ key, value }));

/** NaN and the infinities as protobuf's JSON writes doubles that JSON numbers cannot hold. */
const jsonDouble = (value: number): number | string =>
  (Number.isNaN(value) ? 'NaN' : value === Infinity ? 'Infinity' : value === -Infinity ? '-Infinity' : value);

export function experimentJson(e: MlflowExperiment) {
  return {
    experiment_id: e.experimentId,
    name: e.name,
    artifact_location: experimentArtifactUri(e.experimentId),
    lifecycle_stage: e.lifecycleStage,
    creation_time: e.createdAt,
    last_update_time: e.updatedAt,
    tags: tagList(e.tags),
  };
}

export function runInfoJson(info: MlflowRunInfo) {
  return {
    run_id: info.runId,
    run_uuid: info.runId,
    run_name: info.runName,
    experiment_id: info.experimentId,
    user_id: info.userId,
    status: info.status,
    start_time: info.startTime,
    ...(info.endTime === null ? {} : { end_time: info.endTime }),
    artifact_uri: artifactUri(runArtifactRoot(info.experimentId, info.runId)),
    lifecycle_stage: info.lifecycleStage,
  };
}

export function metricJson(m: MlflowMetric & { runId?: string }) {
  return {
    key: m.key,
    value: jsonDouble(m.value),
    timestamp: m.timestamp,
    step: m.step,
    ...(m.modelId ? { model_id: m.modelId } : {}),
    ...(m.datasetName ? { dataset_name: m.datasetName } : {}),
    ...(m.datasetDigest ? { dataset_digest: m.datasetDigest } : {}),
    ...(m.runId ? { run_id: m.runId } : {}),
  };
}

export function runJson(run: MlflowRun) {
  return {
    info: runInfoJson(run.info),
    data: {
      metrics: run.metrics.map(metricJson),
      params: tagList(run.params),
      tags: tagList(run.tags),
    },
    inputs: {},
    outputs: { model_outputs: run.outputs.map((o) => ({ model_id: o.modelId, step: o.step })) },
  };
}

export function loggedModelJson(m: LoggedModel) {
  return {
    info: {
      model_id: m.modelId,
      experiment_id: m.experimentId,
      name: m.name,
      creation_timestamp_ms: m.createdAt,
      last_updated_timestamp_ms: m.updatedAt,
      artifact_uri: artifactUri(modelArtifactRoot(m.experimentId, m.modelId)),
      status: m.status,
      ...(m.modelType ? { model_type: m.modelType } : {}),
      ...(m.sourceRunId ? { source_run_id: m.sourceRunId } : {}),
      tags: tagList(m.tags),
    },
    data: {
      params: tagList(m.params),
      metrics: m.metrics.map(metricJson),
    },
  };
}

/**
 * Tags the platform adds to a version's answer (read-only: clients may not set `mlops.` tags): whether
 * the platform can deploy it, why not, the import workflow, and the platform's version and status.
 */
export function platformTags(v: ModelVersionRecord): Tags {
  const p = v.platform;
  const deployable = p.state !== 'import_requested' ? 'false'
    : p.version?.status === 'approved' ? 'true'
      : p.version && p.version.status !== 'pending_approval' ? 'false' : 'pending_approval';
  return {
    'mlops.deployable': deployable,
    ...(p.reason ? { 'mlops.reason': p.reason } : {}),
    ...(p.importWorkflowId ? { 'mlops.import_workflow_id': p.importWorkflowId } : {}),
    ...(p.version ? { 'mlops.version': String(p.version.number), 'mlops.status': p.version.status } : {}),
  };
}

/** The status message a client shows: what the platform made of the version, in a sentence. */
export function statusMessage(v: ModelVersionRecord): string {
  const p = v.platform;
  switch (p.state) {
    case 'import_requested':
      if (p.version) return `imported as version ${p.version.number} of the platform's model "${v.name}", status ${p.version.status} (import workflow ${p.importWorkflowId}); only an approved version can be deployed`;
      if (p.importWorkflowId) return `handed to the platform's ONNX import (workflow ${p.importWorkflowId}): it registers a platform version that waits for approval before it can serve`;
      return 'being handed to the platform\'s ONNX import';
    case 'import_failed':
      return `stored, but the platform's ONNX import could not start: ${p.reason ?? 'unknown reason'}`;
    case 'not_deployable':
      return `stored; not deployable on this platform: ${p.reason ?? 'no reason recorded'}`;
  }
}

export function modelVersionJson(v: ModelVersionRecord) {
  return {
    name: v.name,
    version: String(v.version),
    creation_timestamp: v.createdAt,
    last_updated_timestamp: v.updatedAt,
    user_id: v.createdBy,
    // stages are deprecated in MLflow; aliases and the platform's approval take their place
    current_stage: 'None',
    description: v.description,
    source: v.source,
    ...(v.runId ? { run_id: v.runId } : {}),
    ...(v.modelId ? { model_id: v.modelId } : {}),
    status: v.status,
    status_message: statusMessage(v),
    tags: tagList({ ...v.tags, ...platformTags(v) }),
    aliases: v.aliases,
  };
}

export function registeredModelJson(m: RegisteredModel) {
  return {
    name: m.name,
    creation_timestamp: m.createdAt,
    last_updated_timestamp: m.updatedAt,
    user_id: m.createdBy,
    description: m.description,
    latest_versions: m.latestVersion ? [modelVersionJson(m.latestVersion)] : [],
    tags: tagList(m.tags),
    aliases: Object.entries(m.aliases).map(([alias, version]) => ({ alias, version: String(version) })),
  };
}
