/**
 * What the API answers, as zod schemas. They are not used to build responses (the stores' own types do
 * that); they describe them, so the OpenAPI document can carry their JSON Schema and the tests can
 * parse live answers with them. Objects whose fields we know completely are strict, so a field the
 * code adds without documenting it fails the tests; free-form parts (model params, lineage facets)
 * are loose on purpose.
 */
import { z } from 'zod';
import { ErrorCode, STATUS_OF } from '../errors';
import { ROLES } from '../auth/roles';
import { FORMAT_NAMES } from '../ingest/formats';
import { MODEL_KINDS } from '../ml/families';
import { DEPLOYMENT_STATES, GOVERNANCE_STATUSES } from '../domain/model-version';
import { STRATEGY_NAMES } from '../rollouts';

// The app's JSON replacer writes NaN and ±Infinity as null, so any computed number may arrive as null.
const num = z.number().nullable();
const int = z.number().int();
const count = z.number().int().min(0);
// Every timestamp is written by Date#toISOString: UTC, with a Z.
const iso = z.iso.datetime();
const sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const metrics = z.record(z.string(), num);
const free = z.record(z.string(), z.unknown());

export const errorSchema = z.strictObject({
  error: z.strictObject({
    code: z.enum(Object.keys(STATUS_OF) as [ErrorCode, ...ErrorCode[]]),
    message: z.string(),
    details: z.unknown().optional(),
  }),
});

export const healthSchema = z.strictObject({ status: z.literal('ok') });
export const readinessSchema = z.strictObject({ status: z.enum(['ready', 'not_ready']), checks: z.record(z.string(), z.enum(['ok', 'failed'])) });

// ---- pipelines

export const pipelineStartedSchema = z.strictObject({ id: z.string(), uiUrl: z.string() });

const decisionFields = {
  decision: z.enum(['approve', 'reject']),
  by: z.string(),
  comment: z.string().optional(),
  channel: z.enum(['api', 'slack', 'console']).optional(),
};
const trainingTrial = z.strictObject({ trial: int, rung: int, l2: num, fraction: num, validationLoss: num, iterations: int, trainMs: num });
const retrainTrigger = z.strictObject({ kind: z.enum(['drift', 'quality', 'new-data', 'schedule', 'manual']), reason: z.string(), checkId: z.string().optional() });

export const pipelineStatusSchema = z.strictObject({
  id: z.string(),
  state: z.enum(['running', 'awaiting_approval', 'deployed', 'rejected', 'failed']),
  // absent while a run has not answered its first status query yet
  stage: z.enum(['ingest', 'validate', 'import', 'tune', 'train', 'evaluate', 'register', 'approve', 'deploy', 'done']).optional(),
  model: z.string().optional(),
  datasetId: sha256.optional(),
  task: z.enum(['binary', 'multiclass', 'regression']).optional(),
  kind: z.enum([...MODEL_KINDS, 'import', 'custom']).optional(),
  warnings: z.array(z.string()).optional(),
  metrics: metrics.optional(),
  confusion: z.array(z.array(count)).optional(),
  slices: z.array(z.strictObject({ column: z.string(), value: z.string(), n: count, metrics })).optional(),
  tuning: z.strictObject({
    strategy: z.string(),
    trials: z.array(trainingTrial),
    best: z.strictObject({ trial: int, l2: num, validationLoss: num }).optional(),
  }).optional(),
  champion: z.strictObject({ version: int, metrics: metrics.optional(), skipped: z.string().optional() }).optional(),
  params: free.optional(),
  cached: z.strictObject({ train: z.strictObject({ fromRun: z.string() }).optional() }).optional(),
  modelVersion: int.optional(),
  onnxDigest: sha256.optional(),
  approval: z.strictObject({
    policy: z.strictObject({ mode: z.enum(['manual', 'auto']), thresholds: metrics.optional(), timeout: z.string().optional() }),
    thresholdsPassed: z.boolean().optional(),
    thresholdFailures: z.array(z.string()).optional(),
    decision: z.strictObject({ ...decisionFields, via: z.enum(['signal', 'policy', 'timeout']), at: iso }).optional(),
    ignoredSignals: count,
    governance: z.strictObject({
      approvers: int, fourEyes: z.boolean(), reminders: z.array(z.string()), escalationChannel: z.string().optional(),
      autoApprove: z.strictObject({ thresholds: metrics, requireSameSchema: z.boolean() }).optional(),
    }).optional(),
    schemaChanges: z.array(z.string()).optional(),
    received: z.array(z.strictObject({ ...decisionFields, at: iso, counted: z.boolean(), reason: z.string().optional() })).optional(),
    approvals: count.optional(),
  }).optional(),
  requestedBy: z.string().optional(),
  deploymentId: int.optional(),
  error: z.string().optional(),
  trigger: retrainTrigger.optional(),
  reviewedRows: count.optional(),
  startedAt: iso.optional(),
  closedAt: iso.optional(),
  uiUrl: z.string(),
  reportUrl: z.string().optional(),
});

// `approvals` of `required`, once the run applies a governance policy (several approvers may be needed)
const approvalProgress = { approvals: count.optional(), required: int.optional() };
export const approvalSentSchema = z.strictObject({
  id: z.string(), decision: z.enum(['approve', 'reject']), approvals: count, required: int,
  outcome: z.enum(['approve', 'reject']).optional().describe('set when this decision settled the run'),
});
export const slackDecisionSchema = z.strictObject({ ok: z.literal(true), decision: z.enum(['approve', 'reject']), runId: z.string(), ...approvalProgress, outcome: z.enum(['approve', 'reject']).optional() });

// ---- datasets, runs, lineage

const datasetFields = {
  id: sha256,
  sourceUri: z.string(),
  sourceKind: z.string(),
  rowCount: count,
  columns: z.array(z.strictObject({ name: z.string(), type: z.enum(['number', 'string']) })),
  byteSize: count,
  // how the rows are stored: Parquet, or the canonical CSV of a version stored before Parquet
  storage: z.strictObject({ format: z.enum(['parquet', 'csv']), digest: sha256 }),
  parentId: sha256.nullable(),
  createdAt: iso,
};
export const datasetSummarySchema = z.strictObject(datasetFields);
const columnStatistics = z.discriminatedUnion('type', [
  z.strictObject({
    name: z.string(), type: z.literal('number'), count, missing: count, min: num, max: num, mean: num, std: num,
    quantiles: z.strictObject({ p05: num, p25: num, p50: num, p75: num, p95: num }), distinct: count,
  }),
  z.strictObject({ name: z.string(), type: z.literal('string'), count, missing: count, distinct: count, top: z.array(z.strictObject({ value: z.string(), count })) }),
]);
export const datasetSchema = z.strictObject({ ...datasetFields, statistics: z.array(columnStatistics) });
export const datasetUploadedSchema = z.strictObject({ id: sha256, rowCount: count, columnCount: count, byteSize: count, format: z.enum(FORMAT_NAMES) });
export const connectionSchema = z.strictObject({ name: z.string(), display: z.string().describe('the URL without its password'), createdBy: z.string(), createdAt: iso, updatedAt: iso });
export const connectionListSchema = z.strictObject({ connections: z.array(connectionSchema) });
export const trainerSchema = z.strictObject({
  name: z.string(), command: z.array(z.string()), workdir: z.string().nullable(),
  env: z.array(z.string()).describe('the names of the variables it sets; their values are never returned'),
  timeoutSeconds: z.number().int(), createdBy: z.string(), createdAt: iso, updatedAt: iso,
});
export const trainerListSchema = z.strictObject({ trainers: z.array(trainerSchema) });
export const datasetListSchema = z.strictObject({ datasets: z.array(datasetSummarySchema) });

const change = z.strictObject({ before: num, after: num });
export const datasetDiffSchema = z.strictObject({
  from: sha256,
  to: sha256,
  rows: change,
  added: z.array(z.strictObject({ name: z.string(), type: z.string() })),
  removed: z.array(z.strictObject({ name: z.string(), type: z.string() })),
  retyped: z.array(z.strictObject({ name: z.string(), before: z.string(), after: z.string() })),
  // per column: missingRatio, distinct, and for numbers min, max, mean (with shiftInStd), std, median; for text categories
  columns: z.array(z.looseObject({ name: z.string(), type: z.enum(['number', 'string']), notable: z.boolean() })),
});

const runFields = {
  source: z.literal('pipeline'),
  runId: z.string(),
  modelName: z.string(),
  task: z.string(),
  kind: z.string(),
  datasetId: sha256,
  seed: int,
  params: free,
  trials: z.array(z.strictObject({ l2: num, validationLoss: num, iterations: int })),
  onnxDigest: sha256,
  codeVersion: z.string().nullable(),
  trainMs: num,
  metrics: metrics.nullable(),
  createdAt: iso,
  evaluatedAt: iso.nullable(),
};
// a run logged through the MLflow client (/mlflow): its values are MLflow's, NaN and infinities spelled as MLflow spells them
const mlflowValue = z.union([z.number(), z.enum(['NaN', 'Infinity', '-Infinity'])]);
const mlflowRunFields = {
  source: z.literal('mlflow'),
  runId: z.string(),
  experiment: z.strictObject({ id: z.string(), name: z.string() }),
  runName: z.string(),
  status: z.enum(['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED']),
  user: z.string().describe('the API key that created the run'),
  params: z.record(z.string(), z.string()),
  metrics: z.record(z.string(), mlflowValue).describe('the latest value of each metric'),
  tags: z.record(z.string(), z.string()),
  modelVersions: z.array(z.strictObject({ name: z.string(), version: int })).describe('MLflow registered model versions made from this run'),
  createdAt: iso,
  endedAt: iso.nullable(),
};
export const runListSchema = z.strictObject({ runs: z.array(z.discriminatedUnion('source', [z.strictObject(runFields), z.strictObject(mlflowRunFields)])) });
export const runSchema = z.discriminatedUnion('source', [
  z.strictObject({ ...runFields, tuningTrials: z.array(trainingTrial) }),
  z.strictObject({ ...mlflowRunFields, metricHistory: z.record(z.string(), z.array(z.strictObject({ step: int, value: mlflowValue, timestamp: int }))) }),
]);

const deployment = z.strictObject({
  id: int, deployKey: z.string(), modelName: z.string(), version: int, previousVersion: int.nullable(),
  strategy: z.string(), actor: z.string(), reason: z.string().nullable(), createdAt: iso,
});
const versionEvent = z.strictObject({
  version: int, event: z.string(), fromStatus: z.string().nullable(), toStatus: z.string().nullable(),
  alias: z.string().nullable(), actor: z.string(), reason: z.string().nullable(), at: iso,
});
const predictionCount = z.strictObject({ predictions: count, requests: count, lastAt: iso.nullable() });
const versionStatus = z.enum(GOVERNANCE_STATUSES);
const deploymentState = z.enum(DEPLOYMENT_STATES);

export const versionLineageSchema = z.strictObject({
  model: z.string(), version: int, status: versionStatus, deployment: deploymentState, onnxDigest: sha256, codeVersion: z.string().nullable(), createdAt: iso,
  // null for a model imported without evaluation data
  dataset: z.union([datasetSummarySchema, z.strictObject({ id: sha256 })]).nullable(),
  run: z.looseObject({ runId: z.string(), uiUrl: z.string() }),
  deployments: z.array(deployment),
  aliases: z.array(z.string()),
  predictions: predictionCount,
  history: z.array(versionEvent),
  batchJobs: z.array(z.strictObject({
    id: z.string(), datasetId: sha256.nullable(), output: z.strictObject({ uri: z.string(), format: z.string(), digest: sha256.nullable() }),
    rows: count.nullable(), state: z.enum(['running', 'completed', 'failed']), createdAt: iso,
  })),
});
export const datasetLineageSchema = z.strictObject({
  dataset: datasetSummarySchema,
  children: z.array(sha256),
  runs: z.array(z.strictObject({ runId: z.string(), model: z.string(), kind: z.string(), createdAt: iso, cachedFrom: z.string().optional() })),
  versions: z.array(z.strictObject({ model: z.string(), version: int, status: z.string(), aliases: z.array(z.string()), predictions: count })),
});
// OpenLineage RunEvents (spec 2-0-2): the spec owns their shape, so only its frame is checked here.
export const openLineageSchema = z.strictObject({
  events: z.array(z.looseObject({ eventType: z.enum(['START', 'COMPLETE']), eventTime: iso, run: z.looseObject({ runId: z.uuid() }), job: z.looseObject({ namespace: z.string(), name: z.string() }), producer: z.string(), schemaURL: z.string() })),
});

// ---- models and serving

export const modelListSchema = z.strictObject({
  models: z.array(z.strictObject({ name: z.string(), createdAt: iso, latestVersion: int.nullable(), productionVersion: int.nullable(), versionCount: count })),
});
/** A version's signature (src/domain/model-version.ts), our own models' and imported ones'. */
export const signatureSchema = z.strictObject({
  task: z.enum(['binary', 'multiclass', 'regression']).optional(),
  features: z.array(z.string()),
  numeric: z.array(z.string()).optional(),
  categorical: z.array(z.string()).optional(),
  classes: z.array(z.string()),
  input: z.string().optional(),
  output: z.string(),
  unused: z.array(z.string()).optional(),
  // imported models (src/domain/imported-model.ts): how the graph's own inputs and outputs are fed and read
  source: z.literal('import').optional(),
  inputs: z.array(z.strictObject({
    name: z.string(), type: z.enum(['float32', 'float64', 'int64', 'int32', 'string']), rank: z.union([z.literal(1), z.literal(2)]),
    columns: z.array(z.string()), matchedBy: z.enum(['name', 'features', 'order']),
  })).optional(),
  outputs: z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('classifier'), probabilities: z.string(), label: z.string().optional(), classesFrom: z.enum(['zipmap', 'classifier-node', 'metadata', 'request']) }),
    z.strictObject({ kind: z.literal('regressor'), value: z.string() }),
  ]).optional(),
  rewrites: z.array(z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('drop-zipmap'), node: z.string(), removedOutput: z.string(), exposedOutput: z.string() }),
    z.strictObject({ kind: z.literal('free-batch-axis'), output: z.string(), declared: int }),
  ])).optional(),
});
const versionFields = {
  version: int, runId: z.string(), onnxDigest: sha256, signature: signatureSchema,
  // evaluation metrics: numbers, and a few counts or lists beside them
  metrics: free,
  // null for a model imported without evaluation data
  datasetId: sha256.nullable(), codeVersion: z.string().nullable(), status: versionStatus, deployment: deploymentState, createdAt: iso,
};
export const modelSchema = z.strictObject({
  name: z.string(),
  aliases: z.record(z.string(), int),
  // the data schema the first version fixed (column types, ranges, categories, missing share)
  schema: z.looseObject({ columns: z.array(z.looseObject({ name: z.string(), type: z.enum(['number', 'string']) })) }).nullable(),
  versions: z.array(z.strictObject(versionFields)),
  deployments: z.array(deployment),
  history: z.array(versionEvent),
});
export const modelVersionSchema = z.strictObject({
  ...versionFields,
  modelName: z.string(),
  params: free,
  artifacts: z.strictObject({ onnx: sha256, referenceProfile: sha256.nullable(), smokeSet: sha256.nullable(), evaluation: sha256.nullable() }),
  // the training recipe and the pipeline request; null on versions registered before they were kept
  recipe: free.nullable(),
  pipelineInput: free.nullable(),
  trigger: free.nullable(),
  aliases: z.array(z.string()),
  history: z.array(versionEvent),
  lineage: z.strictObject({
    dataset: z.union([datasetSchema, z.strictObject({ id: sha256 })]).nullable(),
    run: z.strictObject({ id: z.string(), uiUrl: z.string() }),
    artifact: z.strictObject({ onnxSha256: sha256 }),
    codeVersion: z.string().nullable(),
    deployments: z.array(deployment),
    predictions: predictionCount,
  }),
});
export const aliasesSchema = z.strictObject({ name: z.string(), aliases: z.record(z.string(), int) });
export const archiveResultSchema = z.strictObject({ model: z.string(), version: int, status: versionStatus, deployment: deploymentState });
export const rollbackResultSchema = z.strictObject({ deployment, workflowId: z.string(), uiUrl: z.string() });
export const reproduceResultSchema = z.strictObject({
  identical: z.boolean(), registeredDigest: sha256, reproducedDigest: sha256, datasetId: sha256, l2: num, trainMs: num, workflowId: z.string(), uiUrl: z.string(),
});

export const predictResponseSchema = z.strictObject({
  predictions: z.array(z.union([
    z.strictObject({ id: z.uuid(), label: z.string(), probabilities: z.record(z.string(), num) }),
    z.strictObject({ id: z.uuid(), value: num }),
  ])),
  model: z.strictObject({ name: z.string(), version: int }),
});
export const feedbackResultSchema = z.strictObject({ accepted: count, unknown: z.array(z.string()) });

// ---- rollouts

const rolloutState = z.enum(['running', 'promoted', 'rolled_back', 'aborted', 'completed', 'failed']);
const rolloutFields = {
  id: z.string(), modelName: z.string(), version: int, fromVersion: int.nullable(), strategy: z.string(), state: rolloutState,
  step: int.nullable(), percent: num, analysis: z.unknown(), actor: z.string(), startedAt: iso, endedAt: iso.nullable(),
};
const versionSummary = z.strictObject({
  version: int, requests: count, errorRate: num, p99Ms: num, accuracy: num, labelled: count, shadowRows: count.optional(), agreement: num.optional(),
});
export const rolloutSchema = z.strictObject({
  ...rolloutFields,
  status: z.strictObject({
    strategy: z.enum(STRATEGY_NAMES),
    model: z.string(), version: int, fromVersion: int.nullable(),
    state: z.enum(['preparing', 'running', 'promoted', 'completed', 'rolled_back', 'aborted']),
    step: int, percent: num,
    comparisons: z.array(z.strictObject({ at: iso, candidate: versionSummary, production: versionSummary, psi: num, breaches: z.array(z.string()), conclusive: z.boolean() })),
    decision: z.strictObject({ by: z.string(), reason: z.string().optional(), action: z.enum(['promote', 'abort']) }).optional(),
    reason: z.string().optional(),
  }).optional(),
  error: z.string().optional(),
  uiUrl: z.string(),
});
export const rolloutStartedSchema = z.strictObject({ id: z.string(), strategy: z.enum(STRATEGY_NAMES), uiUrl: z.string() });
export const rolloutDecisionSentSchema = z.strictObject({ id: z.string(), action: z.enum(['promote', 'abort']), step: int.describe('the step the rollout was at when it took the decision'), percent: z.number() });
export const deploymentsSchema = z.strictObject({
  rollouts: z.array(z.strictObject(rolloutFields)),
  deployments: z.array(deployment),
  serving: z.strictObject({
    name: z.string(), version: int, digest: sha256,
    // the strategy whose traffic policy routes the candidate, and the policy's share
    candidate: z.strictObject({ version: int, mode: z.enum(STRATEGY_NAMES), percent: num }).optional(),
  }).nullable(),
});

// ---- monitoring, schedules, review, alerts

const monitorConfig = z.strictObject({
  windowMinutes: int,
  minRows: int,
  drift: z.strictObject({ alpha: num, bonferroni: z.boolean(), psiThreshold: num, minPsi: num, driftShare: num, psiFloor: num }).partial(),
  quality: z.strictObject({ maxDrop: num, minAccuracy: num.optional(), minLabelled: int }),
  serving: z.strictObject({ maxErrorRate: num }),
  retrain: z.strictObject({ onDrift: z.boolean(), onQuality: z.boolean(), onNewData: z.boolean(), cooldownMinutes: num }),
});
const breach = z.strictObject({ kind: z.enum(['drift', 'quality', 'new-data', 'errors']), message: z.string() });
// `trigger` is what asked: a breach kind, or `manual` / `schedule` when retraining was requested
const actionOf = (extra: z.ZodRawShape = {}) => z.discriminatedUnion('retraining', [
  z.strictObject({ retraining: z.literal('started'), runId: z.string(), trigger: z.string(), ...extra }),
  z.strictObject({ retraining: z.literal('skipped'), reason: z.string(), trigger: z.string(), ...extra }),
  z.strictObject({ retraining: z.literal('failed'), reason: z.string(), trigger: z.string(), ...extra }),
]);
const checkAction = actionOf();
const featureDrift = z.strictObject({
  name: z.string(), kind: z.enum(['numeric', 'categorical']), test: z.enum(['ks', 'chi2']), statistic: num, pvalue: num, psi: num, jensenShannon: num,
  wasserstein: num.optional(), drifted: z.boolean(), missing: z.strictObject({ reference: num, current: num }),
  bins: z.strictObject({ labels: z.array(z.string()), reference: z.array(num), current: z.array(num) }),
});
const checkFields = {
  id: z.string(), model: z.string(), version: int, checkedAt: iso, window: z.strictObject({ from: iso, to: iso }), rows: count, labelled: count,
  drift: z.strictObject({
    referenceRows: count, currentRows: count, features: z.array(featureDrift), driftedFeatures: count, driftedShare: num, datasetDrift: z.boolean(),
    settings: z.strictObject({ alpha: num, bonferroni: z.boolean(), psiThreshold: num, minPsi: num, driftShare: num, psiFloor: num }),
  }).nullable(),
  quality: z.strictObject({ labelled: count, accuracy: num.optional(), precision: num.optional(), recall: num.optional(), auc: num.optional(), baseline: num.optional() }).nullable(),
  serving: z.strictObject({ requests: count, errors: count, errorRate: num, p99Ms: num }).nullable(),
  breaches: z.array(breach),
  action: checkAction.nullable(),
};
export const monitorCheckSchema = z.strictObject(checkFields);
export const scheduleSchema = z.strictObject({
  id: z.string(),
  kind: z.enum(['monitor', 'retrain', 'other']),
  model: z.string().optional(),
  workflowType: z.string().optional(),
  every: z.array(z.string()).optional(),
  cron: z.array(z.string()).optional(),
  paused: z.boolean(),
  note: z.string().optional(),
  nextRuns: z.array(iso),
  recentRuns: z.array(z.strictObject({ at: iso, workflowId: z.string() })),
});
export const scheduleListSchema = z.strictObject({ schedules: z.array(scheduleSchema) });
export const monitoringSchema = z.strictObject({
  model: z.string(),
  config: monitorConfig,
  schedule: scheduleSchema.nullable(),
  checks: z.array(z.strictObject({ ...checkFields, uiUrl: z.string() })),
});
export const monitoringChangedSchema = z.strictObject({ config: monitorConfig, schedule: scheduleSchema.nullable() });
export const monitorRunSchema = z.strictObject({
  id: z.string(),
  uiUrl: z.string(),
  check: z.strictObject({
    checkId: z.string(), model: z.string(), version: int.optional(), rows: count, labelled: count,
    datasetDrift: z.boolean().optional(), driftedShare: num.optional(), breaches: z.array(breach),
    retrain: z.strictObject({ trigger: z.enum(['drift', 'quality', 'new-data']), reason: z.string() }).optional(),
  }),
  alert: z.strictObject({ state: z.string(), reason: z.string().optional() }).optional(),
  /** A clean check: the monitoring problems it resolved (their dedup keys; PagerDuty incidents closed). */
  resolved: z.array(z.string()).optional(),
  action: checkAction.optional(),
});
// 202 when retraining started, 409 when it was skipped (another one runs, or the cool-down)
export const retrainResultSchema = actionOf({ requestId: z.string(), uiUrl: z.string().optional() });

export const reviewItemSchema = z.strictObject({
  predictionId: z.uuid(), model: z.string(), version: int, measure: z.enum(['margin', 'entropy']), uncertainty: num,
  instance: free, output: z.unknown(), createdAt: iso, label: z.string().nullable(), labelledBy: z.string().nullable(), labelledAt: iso.nullable(),
});
export const reviewListSchema = z.strictObject({ items: z.array(reviewItemSchema) });

export const alertListSchema = z.strictObject({
  alerts: z.array(z.strictObject({
    id: z.string(), dedupKey: z.string(), model: z.string().nullable(), severity: z.enum(['info', 'warning', 'critical']), title: z.string(),
    summary: z.string(), fields: z.record(z.string(), z.union([z.string(), z.number()])), link: z.string().nullable(), state: z.string(),
    reason: z.string().nullable(), channels: z.record(z.string(), z.string()), createdAt: iso, sentAt: iso.nullable(),
  })),
});

// ---- access and governance

const role = z.enum(ROLES);
export const apiKeySchema = z.strictObject({
  id: z.string(), name: z.string(), role, createdBy: z.string(), createdAt: iso, expiresAt: iso.nullable(), revokedAt: iso.nullable(), lastUsedAt: iso.nullable(),
});
export const apiKeyCreatedSchema = apiKeySchema.extend({ token: z.string(), note: z.string() });
export const apiKeyListSchema = z.strictObject({ keys: z.array(apiKeySchema) });
export const slackUserSchema = z.strictObject({ slackUserId: z.string(), name: z.string(), role });
export const slackUserListSchema = z.strictObject({ users: z.array(slackUserSchema) });
export const approvalPolicyResultSchema = z.strictObject({
  model: z.string(),
  policy: z.strictObject({
    approvers: int, fourEyes: z.boolean(), reminders: z.array(z.string()), escalationChannel: z.string().optional(),
    autoApprove: z.strictObject({ thresholds: metrics, requireSameSchema: z.boolean() }).optional(),
  }),
});
