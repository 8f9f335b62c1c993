/**
 * The OpenAPI 3.1 document served at /openapi.json, built from the app's route table: every route the
 * app serves appears with the access it was registered with (`security` and `x-required-role`), and
 * request and response bodies are JSON Schema generated from zod schemas, the request ones being the
 * schemas the routes validate with. Prose (summaries, parameters) lives in ./openapi-operations.ts.
 */
import { z } from 'zod';
import type { Access, RouteSpec } from './access';
import { BATCH_REQUEST_COMPONENTS, BATCH_RESPONSE_COMPONENTS } from './batch-docs';
import { feedbackSchema } from './feedback-routes';
import { GOVERNANCE_REQUEST_COMPONENTS, GOVERNANCE_RESPONSE_COMPONENTS } from './governance-docs';
import { approvalPolicySchema, keyRequestSchema, slackUserSchema as slackUserRequestSchema } from './admin-routes';
import { labelSchema, scheduleChangeSchema } from './monitoring-routes';
import { connectionRequestSchema } from './data-routes';
import { monitorConfigSchema, retrainRequestSchema, scheduleRequestSchema } from './monitoring-requests';
import { OPERATIONS, OperationDoc, ResponseDoc } from './openapi-operations';
import { componentRef, componentsOf, JsonSchema, jsonSchemaOf } from './openapi-json-schema';
import { approvalRequestSchema, pipelineRequestSchema } from './pipeline-requests';
import { aliasRequestSchema, archiveRequestSchema, rollbackRequestSchema } from './registry-requests';
import * as responses from './response-schemas';
import { decisionSchema, rolloutRequestSchema } from './rollout-requests';
import { trainerRequestSchema } from './trainer-routes';

/**
 * Bodies that no zod schema parses, described here for the document only: predict rows are checked
 * against the model's signature by src/serving/instances.ts, and reproduce reads nothing but `by`.
 */
const predictRequestSchema = z.object({
  instances: z.array(z.record(z.string(), z.union([z.number(), z.string(), z.null()])).describe('numbers for numeric features, strings for text features, null for missing'))
    .min(1).describe('at most MLOPS_MAX_BATCH rows (default 1000)'),
});
const reproduceRequestSchema = z.object({ by: z.string().optional().describe('who asks: if given, the name of the key that signs the request (no one else)') });
// an upload is the file's own bytes, streamed, in any registered format
// a model import: the ONNX file and the JSON metadata as two parts of a multipart/form-data body
const modelImportSchema = z.object({
  onnx: z.string().describe('the ONNX file (binary)'),
  metadata: z.string().describe('JSON: {"evaluation": {"data": <source>} | {"dataset": "<id>"}, "target", "task"?, "positiveClass"?, "features"?: {"<graph input>": "<column>" | ["<column>", ...]}, "classes"?, "output"?: "<graph output to read>", "approval"?, "seed"?}'),
});
const datasetUploadSchema = z.string().describe('the file\'s bytes: its format is `?format=` or its content type');
// Slack posts form data; its `payload` field is the JSON of a block_actions interaction
const slackInteractionSchema = z.object({ payload: z.string().describe('JSON: {"type": "block_actions", "user": {"id"}, "channel": {"id"}, "actions": [{"action_id", "value": <run id>}]}') });

/** Request components by name: the very schemas the routes parse bodies with. */
const requestComponents = (): Record<string, z.ZodType> => ({
  PipelineRequest: pipelineRequestSchema,
  ApprovalRequest: approvalRequestSchema,
  AliasRequest: aliasRequestSchema,
  RollbackRequest: rollbackRequestSchema,
  ArchiveRequest: archiveRequestSchema,
  ReproduceRequest: reproduceRequestSchema,
  RolloutRequest: rolloutRequestSchema,
  RolloutDecision: decisionSchema,
  PredictRequest: predictRequestSchema,
  FeedbackRequest: feedbackSchema,
  MonitorConfigRequest: monitorConfigSchema,
  RetrainRequest: retrainRequestSchema,
  ScheduleRequest: scheduleRequestSchema,
  ScheduleChange: scheduleChangeSchema,
  LabelRequest: labelSchema,
  KeyRequest: keyRequestSchema,
  SlackUserRequest: slackUserRequestSchema,
  ApprovalPolicyRequest: approvalPolicySchema,
  SlackInteraction: slackInteractionSchema,
  DatasetUpload: datasetUploadSchema,
  ModelImport: modelImportSchema,
  ConnectionRequest: connectionRequestSchema,
  TrainerRequest: trainerRequestSchema,
  ...GOVERNANCE_REQUEST_COMPONENTS,
  ...BATCH_REQUEST_COMPONENTS,
});

/** Response components by name; ./openapi-operations.ts names them, the tests parse live answers with them. */
export const RESPONSE_COMPONENTS = {
  Error: responses.errorSchema,
  Health: responses.healthSchema,
  Readiness: responses.readinessSchema,
  OpenApiDocument: z.looseObject({ openapi: z.literal('3.1.0'), info: z.looseObject({ title: z.string() }), paths: z.record(z.string(), z.unknown()) }),
  PipelineStarted: responses.pipelineStartedSchema,
  PipelineStatus: responses.pipelineStatusSchema,
  ApprovalSent: responses.approvalSentSchema,
  DatasetList: responses.datasetListSchema,
  Dataset: responses.datasetSchema,
  DatasetUploaded: responses.datasetUploadedSchema,
  Connection: responses.connectionSchema,
  ConnectionList: responses.connectionListSchema,
  Trainer: responses.trainerSchema,
  TrainerList: responses.trainerListSchema,
  DatasetDiff: responses.datasetDiffSchema,
  DatasetLineage: responses.datasetLineageSchema,
  VersionLineage: responses.versionLineageSchema,
  OpenLineageEvents: responses.openLineageSchema,
  RunList: responses.runListSchema,
  Run: responses.runSchema,
  ModelList: responses.modelListSchema,
  Model: responses.modelSchema,
  ModelVersion: responses.modelVersionSchema,
  Aliases: responses.aliasesSchema,
  RollbackResult: responses.rollbackResultSchema,
  ArchiveResult: responses.archiveResultSchema,
  ReproduceResult: responses.reproduceResultSchema,
  RolloutStarted: responses.rolloutStartedSchema,
  Deployments: responses.deploymentsSchema,
  Rollout: responses.rolloutSchema,
  RolloutDecisionSent: responses.rolloutDecisionSentSchema,
  PredictResponse: responses.predictResponseSchema,
  FeedbackResult: responses.feedbackResultSchema,
  Monitoring: responses.monitoringSchema,
  MonitoringChanged: responses.monitoringChangedSchema,
  MonitorRun: responses.monitorRunSchema,
  MonitorCheck: responses.monitorCheckSchema,
  RetrainResult: responses.retrainResultSchema,
  ScheduleList: responses.scheduleListSchema,
  Schedule: responses.scheduleSchema,
  ReviewList: responses.reviewListSchema,
  ReviewItem: responses.reviewItemSchema,
  AlertList: responses.alertListSchema,
  ApiKeyCreated: responses.apiKeyCreatedSchema,
  ApiKeyList: responses.apiKeyListSchema,
  ApiKey: responses.apiKeySchema,
  SlackUserList: responses.slackUserListSchema,
  SlackUser: responses.slackUserSchema,
  ApprovalPolicyResult: responses.approvalPolicyResultSchema,
  SlackDecision: responses.slackDecisionSchema,
  ...GOVERNANCE_RESPONSE_COMPONENTS,
  ...BATCH_RESPONSE_COMPONENTS,
} satisfies Record<string, z.ZodType>;

export type ResponseComponent = keyof typeof RESPONSE_COMPONENTS;

let components: Record<string, JsonSchema> | undefined;
/** Generated once, on first use (see requestComponents for why not at load). */
function componentSchemas(): Record<string, JsonSchema> {
  if (components) return components;
  const requests = componentsOf(requestComponents(), 'input');
  const answers = componentsOf(RESPONSE_COMPONENTS, 'output');
  const clash = Object.keys(requests).find((name) => name in answers);
  if (clash) throw new Error(`"${clash}" names both a request and a response component`);
  components = { ...requests, ...answers };
  return components;
}

/** Express's `/v1/models/:name` as OpenAPI's `/v1/models/{name}`. */
export const openApiPath = (expressPath: string) => expressPath.replace(/:(\w+)/g, '{$1}');

/** Error answers, shared by every operation through `#/components/responses/<name>`. */
const ERRORS: Record<number, { name: string; description: string }> = {
  400: { name: 'InvalidRequest', description: '`invalid_request` (a parameter or field is wrong; `details.problems` lists them) or `invalid_json`' },
  401: { name: 'Unauthorized', description: '`unauthorized`: no API key, or one that is unknown, revoked, expired or malformed' },
  403: { name: 'Forbidden', description: '`forbidden`: the key\'s role is below the one this operation needs' },
  404: { name: 'NotFound', description: '`not_found`' },
  409: { name: 'Conflict', description: '`conflict`: the resource is not in a state that allows this' },
  413: { name: 'PayloadTooLarge', description: '`payload_too_large`: the body exceeds MLOPS_MAX_BODY (an upload: MLOPS_MAX_UPLOAD; a Slack interaction: 64 kB)' },
  429: { name: 'RateLimited', description: '`rate_limited`: too many invalid keys (or unsigned, forged or replayed Slack requests) from this address within a minute' },
  503: { name: 'Unavailable', description: '`unavailable`: Temporal or the database is unreachable; try again shortly' },
};
const json = (ref: string, mediaTypes: readonly string[] = ['application/json']) => Object.fromEntries(mediaTypes.map((type) => [type, { schema: { $ref: componentRef(ref) } }]));

function responseOf(r: ResponseDoc): object {
  if ('json' in r) return { description: r.description, content: json(r.json) };
  if ('html' in r) return { description: r.description, content: { 'text/html': { schema: { type: 'string' } } } };
  if ('text' in r) return { description: r.description, content: { 'text/plain': { schema: { type: 'string' } } } };
  // a JSON file is a JSON value of its own (a smoke set: an array of rows), not a string
  if ('file' in r) return { description: r.description, content: Object.fromEntries(r.file.map((type) => [type, { schema: type === 'application/json' ? {} : { type: 'string', contentMediaType: type } }])) };
  return { description: r.description };
}

/** What the access of a route means for a caller, as OpenAPI security and prose. */
function accessOf(access: Access): { security: object[]; description: string; errors: number[] } {
  if (access === 'open') return { security: [], description: 'Open: no API key needed.', errors: [] };
  if (access === 'predict') {
    // open by default; with MLOPS_PREDICT_AUTH=key any valid key: the empty requirement says "or no key"
    return { security: [{ bearer: [] }, {}], description: 'Open unless the server runs with `MLOPS_PREDICT_AUTH=key`; then any valid API key (viewer or above).', errors: [401, 429] };
  }
  if (access === 'feedback') {
    return { security: [{ bearer: [] }, {}], description: 'Any valid API key (viewer or above); open to anyone when the server runs with `MLOPS_FEEDBACK_AUTH=open`.', errors: [401, 429] };
  }
  const errors = access === 'viewer' ? [401, 429] : [401, 403, 429];
  return { security: [{ bearer: [] }], description: `Needs an API key with the \`${access}\` role or above (viewer < scientist < approver < admin).`, errors };
}

/** Routes that answer without asking Temporal or the database. */
const NO_DEPENDENCIES = new Set(['GET /healthz', 'GET /openapi.json']);

function operationOf(key: string, path: string, doc: OperationDoc | undefined, access: Access | undefined): object {
  const given = doc?.parameters ?? [];
  const pathParams = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
  const parameters = [
    ...given.map((p) => ({ name: p.name, in: p.in, required: p.in === 'path' ? true : (p.required ?? false), ...(p.description ? { description: p.description } : {}), schema: jsonSchemaOf(p.schema) })),
    // a path parameter the prose forgot is still declared, or the document would be invalid
    ...pathParams.filter((name) => !given.some((p) => p.in === 'path' && p.name === name)).map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } })),
  ];
  const auth = access ? accessOf(access) : undefined;
  const errors = new Set([400, ...(doc?.errors ?? []), ...(auth?.errors ?? [])]);
  if (doc?.body) errors.add(413);
  if (pathParams.length > 0) errors.add(404);
  if (!NO_DEPENDENCIES.has(key)) errors.add(503);
  const answers: Record<string, object> = {};
  for (const [status, r] of Object.entries(doc?.responses ?? { 200: { description: 'OK', json: 'OpenApiDocument' } })) answers[status] = responseOf(r as ResponseDoc);
  for (const status of [...errors].sort((a, b) => a - b)) answers[status] ??= { $ref: `#/components/responses/${ERRORS[status].name}` };
  return {
    summary: doc?.summary ?? '(undocumented)',
    ...(auth ? { description: auth.description, security: auth.security, 'x-required-role': access } : {}),
    ...(doc ? {} : { 'x-undocumented': true }),
    ...(parameters.length ? { parameters } : {}),
    ...(doc?.body ? { requestBody: { required: doc.body.required, content: json(doc.body.component, doc.body.mediaTypes) } } : {}),
    responses: answers,
  };
}

/**
 * The document for a route table (`routeTable(app)`): one operation per route, with its access.
 * Without routes, every operation ./openapi-operations.ts describes, without access (for tools that
 * have no app at hand). A route the prose does not describe still appears, marked `x-undocumented`.
 */
export function buildOpenApiDocument(routes?: readonly RouteSpec[]) {
  const operations = routes
    ? routes.map((r) => ({ key: `${r.method.toUpperCase()} ${openApiPath(r.path)}`, access: r.access as Access | undefined }))
    : Object.keys(OPERATIONS).map((key) => ({ key, access: undefined }));
  const paths: Record<string, Record<string, object>> = {};
  for (const { key, access } of operations) {
    const [method, path] = key.split(' ');
    (paths[path] ??= {})[method.toLowerCase()] = operationOf(key, path, OPERATIONS[key], access);
  }
  return {
    openapi: '3.1.0' as const,
    info: {
      title: 'mlops-temporal API',
      version: '1.0.0',
      description: 'Start training pipelines, approve them, and serve deployed ONNX models. Send `Authorization: Bearer <API key>`; each operation says the role it needs (`x-required-role`). Errors are `{"error": {"code", "message", "details"?}}`. The MLflow-compatible tracking and registry API under `/mlflow` follows MLflow\'s own REST API (as the mlflow 3.x client calls it) and is not described here.',
    },
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An API key (`mlk_...`, from POST /v1/keys) or the configured MLOPS_ADMIN_KEY' } },
      responses: Object.fromEntries(Object.values(ERRORS).map(({ name, description }) => [name, { description, content: json('Error') }])),
      schemas: componentSchemas(),
    },
  };
}

export type OpenApiDocument = ReturnType<typeof buildOpenApiDocument>;

const served = new WeakMap<readonly RouteSpec[], { count: number; document: OpenApiDocument }>();
/**
 * The document for /openapi.json: built once per route table (about 10 ms), again only if routes were
 * added since.
 */
export function openApiDocumentOf(routes: readonly RouteSpec[]): OpenApiDocument {
  const hit = served.get(routes);
  if (hit && hit.count === routes.length) return hit.document;
  const document = buildOpenApiDocument(routes);
  served.set(routes, { count: routes.length, document });
  return document;
}

