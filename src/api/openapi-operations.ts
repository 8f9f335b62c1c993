/**
 * What the OpenAPI document says about each operation: summary, parameters, request body and answers.
 * Who may call an operation is not written here: the document takes it from the app's route table.
 * Request and response bodies are named zod schemas (the request ones are the very schemas the routes
 * parse with), turned into JSON Schema by ./openapi.ts.
 */
import { z } from 'zod';
import { FORMAT_NAMES, FORMATS } from '../ingest/formats';
import { MODEL_NAME } from '../domain/model-version';
import { STRATEGIES } from '../rollouts';
import { ALIAS_NAME } from '../store/registry';
import { CONNECTION_NAME } from '../store/connections';
import { TRAINER_NAME } from '../store/trainers';
import { GOVERNANCE_OPERATIONS } from './governance-docs';
import { BATCH_OPERATIONS } from './batch-docs';
import type { OperationDoc, ParameterDoc, ResponseDoc } from './openapi-types';

export type { OperationDoc, ParameterDoc, ResponseDoc } from './openapi-types';


const modelName: ParameterDoc = { name: 'name', in: 'path', required: true, schema: z.string().regex(MODEL_NAME) };
// versions are stored as PostgreSQL integers: nothing above 2^31 - 1 can exist
const version: ParameterDoc = { name: 'version', in: 'path', required: true, schema: z.number().int().min(1).max(2 ** 31 - 1) };
const pathId = (name = 'id', schema: z.ZodType = z.string()): ParameterDoc => ({ name, in: 'path', required: true, schema });
const datasetId = (name: string) => pathId(name, z.string().regex(/^[0-9a-f]{64}$/));
const limit: ParameterDoc = { name: 'limit', in: 'query', schema: z.number().int().min(1).max(1000).default(100) };
const query = (name: string, description?: string): ParameterDoc => ({ name, in: 'query', schema: z.string(), ...(description ? { description } : {}) });
const slackUserId = pathId('id', z.string().regex(/^[UW][A-Z0-9]{2,20}$/));
const connectionName = pathId('name', z.string().regex(CONNECTION_NAME));
const trainerName = pathId('name', z.string().regex(TRAINER_NAME));
const idempotencyKey: ParameterDoc = {
  name: 'Idempotency-Key', in: 'header', schema: z.string(),
  description: 'Repeating a request with the same key joins the same workflow run instead of starting another.',
};

const ok = (json: string, description = 'OK'): ResponseDoc => ({ description, json });
const html: ResponseDoc = { description: 'HTML report', html: true };
const deleted: ResponseDoc = { description: 'Deleted', empty: true };
const body = (component: string, required = true) => ({ component, required });

/** Keyed by `METHOD /path/{param}`: the route table's method and path, in OpenAPI's template syntax. */
export const OPERATIONS: Record<string, OperationDoc> = {
  'GET /healthz': { summary: 'Liveness', responses: { 200: ok('Health') } },
  'GET /readyz': { summary: 'Readiness: database and Temporal reachable', responses: { 200: ok('Readiness'), 503: ok('Readiness', 'Not ready: `checks` says which dependency failed') } },
  'GET /openapi.json': { summary: 'This document', responses: { 200: ok('OpenApiDocument', 'OpenAPI 3.1 document') } },
  'GET /metrics': {
    summary: 'Prometheus metrics: requests, errors, latency and batch-size histograms and traffic share per model and version; agreement of mirrored scoring with production; dropped log entries; the latest monitoring check per model and the open review queue',
    responses: { 200: { description: 'Prometheus text format', text: true } },
  },

  'POST /v1/pipelines': {
    summary: 'Start a training pipeline (ingest, validate, train with tuning, evaluate, approve, deploy) as a Temporal workflow',
    parameters: [idempotencyKey],
    body: body('PipelineRequest'),
    responses: { 202: ok('PipelineStarted', 'Started; `Location` names the run') },
  },
  'GET /v1/pipelines/{id}': {
    summary: 'Status of a pipeline run: state, stage, metrics, champion comparison, approval, model version, error',
    parameters: [pathId()],
    responses: { 200: ok('PipelineStatus') }, errors: [404],
  },
  'POST /v1/pipelines/{id}/approval': {
    summary: 'Approve or reject a run that awaits approval (the run\'s `decide` Update: the answer is the run\'s own verdict on it)',
    parameters: [pathId()], body: body('ApprovalRequest'),
    responses: { 202: ok('ApprovalSent', 'Decision taken by the run') }, errors: [404, 409],
  },

  'GET /v1/datasets': {
    summary: 'Dataset versions, newest first, with source, row count, columns and parent (the version the same source held before)',
    parameters: [query('source', 'only versions read from this source URI'), limit],
    responses: { 200: ok('DatasetList') },
  },
  'POST /v1/models/{name}/versions': {
    summary: 'Bring a model trained elsewhere: an ONNX file and how to evaluate it (multipart parts `onnx` and `metadata`). Checked at once (not ONNX, cannot be loaded, inputs matching no column of a stored evaluation dataset: 400), then a pipeline imports, evaluates, asks for approval and deploys it like a trained version; follow it at GET /v1/pipelines/{id}',
    parameters: [modelName, idempotencyKey],
    body: { component: 'ModelImport', required: true, mediaTypes: ['multipart/form-data'] },
    responses: { 202: ok('PipelineStarted', 'Started') }, errors: [413],
  },
  'POST /v1/datasets': {
    summary: 'Upload a dataset (its format named by `?format=` or by its content type; at most MLOPS_MAX_UPLOAD) and get the id of its dataset version, for `"data": {"dataset": "<id>"}` in a pipeline',
    parameters: [
      { name: 'format', in: 'query', schema: z.enum(FORMAT_NAMES), description: 'default: from the content type' },
      query('name', 'what the dataset history calls the upload (upload:<name>)'),
    ],
    body: { component: 'DatasetUpload', required: true, mediaTypes: [...FORMATS.flatMap((f) => f.mediaTypes), 'application/octet-stream'] },
    responses: { 201: ok('DatasetUploaded', 'Stored (the same rows uploaded again give the same id)') },
    errors: [413],
  },
  'GET /v1/datasets/{id}': {
    summary: 'A dataset version (sha256 of its canonical encoding) with its source, columns, storage, parent and per-column statistics',
    parameters: [datasetId('id')], responses: { 200: ok('Dataset') }, errors: [404],
  },
  'GET /v1/datasets/{id}/diff/{other}': {
    summary: 'Schema and statistics changes from one dataset version to another: columns added, removed or retyped; per column missing share, range, mean (also in standard deviations), spread, median, categories',
    parameters: [datasetId('id'), datasetId('other')], responses: { 200: ok('DatasetDiff') }, errors: [404],
  },
  'GET /v1/lineage/datasets/{id}': {
    summary: 'Downstream of a dataset version: later versions of its source, runs trained on it, the model versions they registered (with aliases and prediction counts)',
    parameters: [datasetId('id')], responses: { 200: ok('DatasetLineage') }, errors: [404],
  },
  'GET /v1/lineage/models/{name}/versions/{version}': {
    summary: 'Lineage of a model version: dataset (and its parent), training run, status history, aliases, deployments, prediction counts',
    parameters: [modelName, version], responses: { 200: ok('VersionLineage') }, errors: [404],
  },
  'GET /v1/lineage/models/{name}/versions/{version}/openlineage': {
    summary: 'The same lineage as OpenLineage RunEvents (spec 2-0-2): the training run reads the dataset and writes the model version; each deployment reads the model version',
    parameters: [modelName, version], responses: { 200: ok('OpenLineageEvents') }, errors: [404],
  },
  'GET /v1/runs': {
    summary: 'Runs (experiment tracking), newest first: the pipeline\'s (`source: pipeline`: task, family, dataset, seed, chosen params, every trial, ONNX digest, code version, training time, test metrics) and those logged with the MLflow client through /mlflow (`source: mlflow`: experiment, params, latest metrics, tags, registered versions made from them)',
    parameters: [query('model'), limit], responses: { 200: ok('RunList') },
  },
  'GET /v1/runs/{id}': { summary: 'One run: a pipeline run with the trials of its random or halving search, or an MLflow run with the history of each metric', parameters: [pathId()], responses: { 200: ok('Run') }, errors: [404] },

  'GET /v1/models': { summary: 'Registered models with their latest and production versions', responses: { 200: ok('ModelList') } },
  'GET /v1/models/{name}': {
    summary: 'A model with its versions, aliases, data schema, deployments and the history of every status change (who, why)',
    parameters: [modelName], responses: { 200: ok('Model') }, errors: [404],
  },
  'GET /v1/models/{name}/versions/{version}': {
    summary: 'A model version with its status history, aliases and lineage (dataset, run, artifact, code, deployments, prediction counts)',
    parameters: [modelName, version], responses: { 200: ok('ModelVersion') }, errors: [404],
  },
  'PUT /v1/models/{name}/aliases/{alias}': {
    summary: 'Point an alias (champion, challenger, staging, any lower-case name) at a version; `production` deploys it and takes only versions that were approved',
    parameters: [modelName, pathId('alias', z.string().regex(ALIAS_NAME)), idempotencyKey], body: body('AliasRequest'),
    responses: { 200: ok('Aliases') }, errors: [404, 409],
  },
  'POST /v1/models/{name}/rollback': {
    summary: 'Move production back to the version it held before (or `toVersion`), through the `rollback` workflow; this replica serves it before answering',
    parameters: [modelName, idempotencyKey], body: body('RollbackRequest', false),
    responses: { 200: ok('RollbackResult') }, errors: [404, 409],
  },
  'GET /v1/models/{name}/versions/{version}/bundle/{file}': {
    summary: 'A file of an approved version for a model bundle (`mlops package`): `model.onnx` (the registered ONNX file) or `smoke-set.json` (its smoke-test rows and the answers evaluation saw), with its sha256 in the `X-Content-SHA256` header. A version that is not approved is refused (409): a bundle serves outside the platform\'s approvals',
    parameters: [modelName, version, pathId('file', z.enum(['model.onnx', 'smoke-set.json']))],
    responses: { 200: { description: 'The file\'s bytes', file: ['application/octet-stream', 'application/json'] } }, errors: [404, 409],
  },
  'POST /v1/models/{name}/versions/{version}/archive': {
    summary: 'Retire a version from governance: an approved or rejected version becomes archived and may never be deployed, rolled out or rolled back to again. A version in production or rolling out is refused (409)',
    parameters: [modelName, version], body: body('ArchiveRequest', false),
    responses: { 200: ok('ArchiveResult') }, errors: [404, 409],
  },
  'POST /v1/models/{name}/versions/{version}/reproduce': {
    summary: 'Train the version again from its lineage record (dataset version, spec, settings, seed, chosen strength) through the `reproduce` workflow and say whether the ONNX file is byte-identical',
    parameters: [modelName, version, idempotencyKey], body: body('ReproduceRequest', false),
    responses: { 200: ok('ReproduceResult') }, errors: [404, 409],
  },
  'POST /v1/models/{name}/deployments': {
    summary: `Roll a version out as a workflow, by one of the strategies: ${STRATEGIES.map((s) => `\`${s.name}\` (${s.summary})`).join(', ')}`,
    parameters: [modelName, idempotencyKey], body: body('RolloutRequest'),
    responses: { 202: ok('RolloutStarted', 'Started') }, errors: [404],
  },
  'GET /v1/models/{name}/deployments': {
    summary: 'Rollouts of a model (newest first), its deployments, and what this replica serves (production, and any version a rollout routes beside it)',
    parameters: [modelName], responses: { 200: ok('Deployments') },
  },
  'GET /v1/models/{name}/deployments/{id}': {
    summary: 'One rollout: its record and the workflow status (state, step, traffic share, comparisons with production, decision, reason)',
    parameters: [modelName, pathId()], responses: { 200: ok('Rollout') }, errors: [404],
  },
  'POST /v1/models/{name}/deployments/{id}/promote': {
    summary: 'Promote a running rollout now, skipping its remaining steps and bake (a rollout that never promotes just ends)',
    parameters: [modelName, pathId()], body: body('RolloutDecision', false),
    responses: { 202: ok('RolloutDecisionSent', 'Decision taken by the rollout (its `decide` Update)') }, errors: [404, 409],
  },
  'POST /v1/models/{name}/deployments/{id}/abort': {
    summary: 'Abort a running rollout: its route is removed, and a switch of production is undone',
    parameters: [modelName, pathId()], body: body('RolloutDecision', false),
    responses: { 202: ok('RolloutDecisionSent', 'Decision taken by the rollout (its `decide` Update)') }, errors: [404, 409],
  },
  'POST /v1/models/{name}/predict': {
    summary: 'Score rows with the production version (or the version a rollout routes its share of requests to; `X-Routing-Key` keeps one caller on one version)',
    parameters: [modelName, { name: 'X-Routing-Key', in: 'header', schema: z.string(), description: 'sticky routing while a rollout splits traffic: one key, one version' }],
    body: body('PredictRequest'),
    responses: { 200: ok('PredictResponse') }, errors: [404],
  },
  'POST /v1/feedback': {
    summary: 'Ground truth for served predictions, by the `id` each prediction carries; used for live accuracy in monitoring and rollout analysis',
    body: body('FeedbackRequest'),
    responses: { 200: ok('FeedbackResult', 'Recorded; `unknown` lists ids no served prediction has') },
    errors: [404],
  },

  'GET /v1/models/{name}/monitoring': {
    summary: 'Monitoring of a model: its settings, its monitor schedule, and its latest checks (drift per feature, quality over labelled feedback, serving health, breaches, the retraining each started)',
    parameters: [modelName], responses: { 200: ok('Monitoring') }, errors: [404],
  },
  'PUT /v1/models/{name}/monitoring': {
    summary: 'Change monitoring settings (merged over the stored ones); `every` creates or changes the monitor schedule',
    parameters: [modelName], body: body('MonitorConfigRequest', false),
    responses: { 200: ok('MonitoringChanged') }, errors: [404],
  },
  'POST /v1/models/{name}/monitoring/run': {
    summary: 'Check the model now (runs the `modelMonitor` workflow and waits for it): drift and quality over the window; alerts and starts retraining on a breach',
    parameters: [modelName, idempotencyKey], responses: { 200: ok('MonitorRun') }, errors: [404],
  },
  'GET /v1/models/{name}/monitoring/checks/{checkId}': {
    summary: 'One monitoring check', parameters: [modelName, pathId('checkId')], responses: { 200: ok('MonitorCheck') }, errors: [404],
  },
  'GET /v1/models/{name}/monitoring/checks/{checkId}/report': {
    summary: 'HTML report of a check: reference-against-current histogram of every feature with its KS or chi-square test, PSI, Jensen-Shannon and Wasserstein values; quality and serving numbers',
    parameters: [modelName, pathId('checkId')], responses: { 200: html }, errors: [404],
  },
  'GET /v1/models/{name}/versions/{version}/report': {
    summary: 'HTML report of a model version: test metrics, ROC and precision-recall curves, confusion matrix (regression: predicted against actual)',
    parameters: [modelName, version], responses: { 200: html }, errors: [404],
  },
  'POST /v1/models/{name}/retrain': {
    summary: 'Retrain now with the production version\'s recipe (through the `retrainModel` workflow); refused (409) while another retraining of the model runs',
    parameters: [modelName, idempotencyKey], body: body('RetrainRequest', false),
    responses: { 202: ok('RetrainResult', 'Started'), 409: ok('RetrainResult', 'Not started: `reason` says why') }, errors: [404],
  },

  'GET /v1/schedules': {
    summary: 'Monitor and retraining schedules (Temporal Schedules, also in the Web UI)', parameters: [query('model')], responses: { 200: ok('ScheduleList') },
  },
  'POST /v1/schedules': {
    summary: 'Create a schedule: `monitor` (runs modelMonitor) or `retrain` (runs retrainModel), every interval or on a cron expression (UTC)',
    body: body('ScheduleRequest'), responses: { 201: ok('Schedule', 'Created') }, errors: [404, 409],
  },
  'GET /v1/schedules/{id}': { summary: 'One schedule with its next and recent runs', parameters: [pathId()], responses: { 200: ok('Schedule') }, errors: [404] },
  'DELETE /v1/schedules/{id}': { summary: 'Delete a schedule', parameters: [pathId()], responses: { 204: deleted }, errors: [404] },
  'POST /v1/schedules/{id}/pause': { summary: 'Pause a schedule', parameters: [pathId()], body: body('ScheduleChange', false), responses: { 200: ok('Schedule') }, errors: [404] },
  'POST /v1/schedules/{id}/unpause': { summary: 'Resume a paused schedule', parameters: [pathId()], body: body('ScheduleChange', false), responses: { 200: ok('Schedule') }, errors: [404] },

  'GET /v1/review': {
    summary: 'Active learning: predictions the model was unsure of (margin between the top two classes, or normalised entropy), least certain first; or the labelled ones',
    parameters: [query('model'), { name: 'state', in: 'query', schema: z.enum(['open', 'labelled']).default('open') }, limit],
    responses: { 200: ok('ReviewList') },
  },
  'POST /v1/review/{id}/label': {
    summary: 'Label a review item (also recorded as feedback); labelled items join the next training dataset of the model',
    parameters: [pathId('id', z.uuid())], body: body('LabelRequest'), responses: { 200: ok('ReviewItem') }, errors: [404],
  },
  'GET /v1/alerts': {
    summary: 'Alerts raised (monitoring breaches, rollout rollbacks), newest first, with what was sent where and what was suppressed (duplicate, rate limit)',
    parameters: [query('model'), limit], responses: { 200: ok('AlertList') },
  },

  'POST /v1/keys': {
    summary: 'Create an API key with a role; the token is in this answer only',
    body: body('KeyRequest'), responses: { 201: ok('ApiKeyCreated', 'Created') },
  },
  'GET /v1/keys': { summary: 'API keys (never their secrets), newest first', responses: { 200: ok('ApiKeyList') } },
  'DELETE /v1/keys/{id}': { summary: 'Revoke an API key for good', parameters: [pathId()], responses: { 200: ok('ApiKey', 'Revoked') }, errors: [404] },
  'GET /v1/connections': { summary: 'PostgreSQL connections pipelines may name, without their credentials', responses: { 200: ok('ConnectionList') } },
  'GET /v1/connections/{name}': { summary: 'One connection, without its credentials', parameters: [connectionName], responses: { 200: ok('Connection') }, errors: [404] },
  'PUT /v1/connections/{name}': {
    summary: 'Register or replace a PostgreSQL connection by name (its URL is sealed at rest and never returned). Refused with 403 when it reaches the platform\'s own database, 400 when it cannot connect',
    parameters: [connectionName], body: body('ConnectionRequest'), responses: { 200: ok('Connection', 'Saved') },
  },
  'DELETE /v1/connections/{name}': { summary: 'Remove a connection', parameters: [connectionName], responses: { 204: deleted }, errors: [404] },
  'GET /v1/trainers': { summary: 'Registered trainers a pipeline may name (`"trainer": {"kind": "custom", "name": ...}`); environment values withheld', responses: { 200: ok('TrainerList') } },
  'GET /v1/trainers/{name}': { summary: 'One registered trainer', parameters: [trainerName], responses: { 200: ok('Trainer') }, errors: [404] },
  'PUT /v1/trainers/{name}': {
    summary: 'Register or replace training code by name: the command (run without a shell, in its own process group, on workers that opt in), its folder, environment and time limit',
    parameters: [trainerName], body: body('TrainerRequest'), responses: { 200: ok('Trainer', 'Saved') },
  },
  'DELETE /v1/trainers/{name}': { summary: 'Remove a registered trainer', parameters: [trainerName], responses: { 204: deleted }, errors: [404] },
  'GET /v1/slack/users': { summary: 'Slack users allowed to press approval buttons, with their roles', responses: { 200: ok('SlackUserList') } },
  'PUT /v1/slack/users/{id}': {
    summary: 'Register a Slack user (U... or W... id) with a role', parameters: [slackUserId], body: body('SlackUserRequest'),
    responses: { 200: ok('SlackUser') },
  },
  'DELETE /v1/slack/users/{id}': { summary: 'Remove a Slack user', parameters: [slackUserId], responses: { 204: deleted }, errors: [404] },
  'GET /v1/models/{name}/approval-policy': {
    summary: 'The approval policy a model\'s runs apply (approvers needed, four-eyes, reminders, escalation, low-risk auto-approval)',
    parameters: [modelName], responses: { 200: ok('ApprovalPolicyResult') }, errors: [404],
  },
  'PUT /v1/models/{name}/approval-policy': {
    summary: 'Set a model\'s approval policy (allowed before the model\'s first run)',
    parameters: [modelName], body: body('ApprovalPolicyRequest'), responses: { 200: ok('ApprovalPolicyResult') }, errors: [404],
  },
  'POST /slack/interactions': {
    summary: 'Slack\'s signed callback when someone presses Approve or Reject on an approval message: the signature and timestamp are checked, a replay is refused, and the Slack user must be registered with the approver role',
    parameters: [
      { name: 'X-Slack-Signature', in: 'header', required: true, description: '`v0=` and the hex HMAC-SHA256 of `v0:<timestamp>:<raw body>` with the signing secret', schema: z.string() },
      { name: 'X-Slack-Request-Timestamp', in: 'header', required: true, description: 'Unix seconds; more than 300 s away from now is refused', schema: z.string() },
    ],
    body: { component: 'SlackInteraction', required: true, mediaTypes: ['application/x-www-form-urlencoded'] },
    responses: { 200: ok('SlackDecision', 'Decision recorded') },
    // 404 while SLACK_SIGNING_SECRET is unset; 409 for a replayed delivery or a run not awaiting approval;
    // 429 for an address that keeps sending unsigned, forged or replayed requests
    errors: [401, 403, 404, 409, 429],
  },
  ...GOVERNANCE_OPERATIONS,
  ...BATCH_OPERATIONS,
};
