/** Use cases for pipelines: start one, read its status, send a decision. Transport-free. */
import { randomBytes, createHash } from 'node:crypto';
import { ApplicationFailure, Client, WorkflowFailedError, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { Pool } from 'pg';
import { z } from 'zod';
import { ApiError } from '../errors';
import { FORMAT_NAMES, unknownFormat } from '../ingest/formats';
import { redactUri } from '../ingest/sources';
import { SourcePolicy, SourceRefused } from '../ingest/source-policy';
import { transportFor } from '../ingest/transports';
import { CONNECTION_NAME, getConnection } from '../store/connections';
import { getDataset } from '../store/datasets';
import { FAMILIES, MODEL_KINDS, sharedParams } from '../ml/families';
import {
  ApprovalDecision,
  APPROVAL_REFUSALS,
  approvalUpdate,
  MODEL_NAME_KEY,
  PipelineData,
  PipelineInput,
  PipelineStatus,
  statusQuery,
} from '../workflows/definitions';
import { trainingPipeline } from '../workflows/training-pipeline';
import { rootMessage } from '../usecases/workflow-failures';

/**
 * Where a run's data comes from: `{uri, format?}` (a file under MLOPS_DATA_ROOTS or an http(s) URL),
 * `{connection, query}` (a connection an admin registered), or `{dataset}` (a stored dataset version).
 * A connection string in `uri` is refused for every role: only admins choose what a query may reach.
 */
export const dataSourceSchema = z.strictObject({
  uri: z.string().min(1).max(4096).optional(),
  format: z.enum(FORMAT_NAMES, { error: (issue) => unknownFormat(issue.input) }).optional(),
  connection: z.string().regex(CONNECTION_NAME, 'connection names are lower-case letters, digits, "-" and "_", starting with a letter').optional(),
  query: z.string().min(1).max(100_000).optional(),
  dataset: z.string().regex(/^[0-9a-f]{64}$/, 'a dataset id is the 64 hex digits POST /v1/datasets or GET /v1/datasets gave').optional(),
}).transform((d, ctx): PipelineData => {
  const given = (['uri', 'connection', 'dataset'] as const).filter((k) => d[k] !== undefined);
  const fail = (message: string) => { ctx.addIssue({ code: 'custom', message }); return z.NEVER; };
  if (given.length !== 1) return fail('name exactly one source: "uri" (a file or http(s) URL), "connection" with a "query", or "dataset"');
  if (d.uri !== undefined) {
    if (/^postgres(ql)?:/i.test(d.uri) || d.query !== undefined) return fail('connection strings are not accepted; name a connection an admin registered: {"connection": "<name>", "query": "SELECT ..."}');
    return { uri: d.uri, ...(d.format ? { format: d.format } : {}) };
  }
  if (d.format !== undefined) return fail('"format" applies to a "uri" source only');
  if (d.connection !== undefined) return d.query === undefined ? fail('a "connection" source needs a "query"') : { connection: d.connection, query: d.query };
  return d.query === undefined ? { dataset: d.dataset! } : fail('a "dataset" source takes no "query"');
});

const DURATION = /^\d+(\.\d+)?\s*(ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?)$/i;
export const MODEL_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/i;

const searchSchema = z.strictObject({
  strategy: z.enum(['grid', 'random', 'halving']).optional(),
  l2: z.array(z.number().positive().finite()).min(1).max(50).optional(),
  trials: z.number().int().min(1).max(100).optional(),
  l2Range: z.tuple([z.number().positive().finite(), z.number().positive().finite()])
    .refine(([lo, hi]) => lo < hi, 'the range holds no value: its low end must be below its high end').optional(),
  parallelism: z.number().int().min(1).max(16).optional(),
}).refine((s) => !(s.l2 && s.strategy && s.strategy !== 'grid'), 'l2 lists grid points; random and halving sample from l2Range').optional();

/**
 * `trainer`, keyed by `kind`: one branch per model family (src/ml/families) with that family's params,
 * and one without a kind (the family follows from the target, so only `l2` applies).
 */
const [firstFamily, ...otherFamilies] = FAMILIES.map((f) => z.strictObject({ kind: z.literal(f.kind), params: f.paramsSchema.optional(), search: searchSchema }));
const trainerSchema = z.discriminatedUnion('kind', [
  firstFamily, ...otherFamilies,
  z.strictObject({ kind: z.undefined().optional(), params: sharedParams.optional(), search: searchSchema }),
], {
  error: (issue) => (issue.code === 'invalid_union' ? `${JSON.stringify((issue.input as { kind?: unknown } | undefined)?.kind)} is not supported; available: ${MODEL_KINDS.join(', ')}` : undefined),
});

export const pipelineRequestSchema = z.strictObject({
  model: z.string().regex(MODEL_NAME, 'model names are 1-63 letters, digits, "-" or "_", starting with a letter or digit'),
  data: dataSourceSchema,
  target: z.string().min(1),
  features: z.array(z.string().min(1)).min(1).optional(),
  positiveClass: z.string().min(1).optional(),
  evaluation: z.strictObject({ sliceBy: z.array(z.string().min(1)).max(5).optional() }).optional(),
  preprocessing: z.strictObject({
    derive: z.array(z.string().min(1).max(500)).max(50).optional(),
    impute: z.enum(['mean', 'median', 'most_frequent', 'constant']).optional(),
    imputeValue: z.number().finite().optional(),
    scale: z.enum(['standard', 'minmax', 'none']).optional(),
    outliers: z.strictObject({
      method: z.enum(['iqr', 'zscore']).optional(),
      action: z.enum(['clip', 'drop', 'flag']),
      threshold: z.number().positive().finite().optional(),
    }).optional(),
  }).optional(),
  approval: z.strictObject({
    mode: z.enum(['manual', 'auto']),
    thresholds: z.record(z.string(), z.number().finite()).optional(),
    timeout: z.string().regex(DURATION, 'a duration such as "72 hours" or "30 minutes"').optional(),
  }).optional(),
  trainer: trainerSchema.optional(),
  seed: z.number().int().min(0).max(2 ** 31 - 1).optional(),
});

export type PipelineRequest = z.infer<typeof pipelineRequestSchema>;

export const approvalRequestSchema = z.strictObject({
  decision: z.enum(['approve', 'reject']),
  comment: z.string().max(2000).optional(),
  by: z.string().min(1).max(200).optional(),
});

/** Parses a body with a schema, turning problems into one readable 400. */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.length ? i.path.join('.') : 'body'}: ${i.message}`);
    throw new ApiError('invalid_request', `invalid request: ${problems.join('; ')}`, { problems });
  }
  return result.data;
}

export interface PipelineView extends Partial<PipelineStatus> {
  id: string;
  state: PipelineStatus['state'];
  startedAt?: string;
  closedAt?: string;
  uiUrl: string;
  /** The registered version's HTML report (ROC, precision-recall, confusion matrix). */
  reportUrl?: string;
}

export class PipelineService {
  constructor(
    private readonly client: Client,
    private readonly o: { taskQueue: string; uiUrl: (id: string) => string; useSearchAttributes: boolean; pool: Pool; sources: SourcePolicy },
  ) {}

  /**
   * Checks a source before a run starts, so a refused one is a 400 now rather than a failed run later:
   * files under the data roots, URLs that reach no internal address, connections and datasets that exist.
   * Returns the source with a file path made absolute. The worker checks again when it reads.
   */
  async checkSource(data: PipelineData): Promise<PipelineData> {
    try {
      if ('uri' in data) return { ...data, uri: await transportFor(data.uri).check(data.uri, this.o.sources) };
    } catch (err) {
      if (err instanceof SourceRefused) throw new ApiError('invalid_request', err.message, { setting: err.setting });
      throw err;
    }
    if ('connection' in data) {
      if (!(await getConnection(this.o.pool, data.connection))) throw new ApiError('invalid_request', `no connection is named "${data.connection}"; an admin registers it (mlops connections add, PUT /v1/connections/${data.connection})`);
      return data;
    }
    if (!(await getDataset(this.o.pool, data.dataset))) throw new ApiError('invalid_request', `dataset version "${data.dataset}" does not exist; upload it with POST /v1/datasets`);
    return data;
  }

  /** Starts a run. With an idempotency key, repeating the call returns the same run. */
  async start(request: PipelineRequest, o: { requestedBy?: string; idempotencyKey?: string } = {}): Promise<{ id: string; uiUrl: string }> {
    const data = await this.checkSource(request.data);
    const suffix = o.idempotencyKey ? createHash('sha256').update(o.idempotencyKey).digest('hex').slice(0, 10) : randomBytes(5).toString('hex');
    const id = `train-${request.model}-${suffix}`;
    const input: PipelineInput = {
      model: request.model,
      data,
      target: request.target,
      features: request.features,
      positiveClass: request.positiveClass,
      preprocessing: request.preprocessing,
      evaluation: request.evaluation,
      trainer: { kind: request.trainer?.kind, params: request.trainer?.params, search: request.trainer?.search },
      approval: request.approval,
      seed: request.seed,
      requestedBy: o.requestedBy,
      useSearchAttributes: this.o.useSearchAttributes,
    };
    await this.client.workflow.start(trainingPipeline, {
      taskQueue: this.o.taskQueue,
      workflowId: id,
      args: [input],
      memo: { model: request.model, target: request.target, data: describeSource(data) },
      workflowIdConflictPolicy: 'USE_EXISTING',
      ...(this.o.useSearchAttributes ? { typedSearchAttributes: [{ key: MODEL_NAME_KEY, value: request.model }] } : {}),
    });
    return { id, uiUrl: this.o.uiUrl(id) };
  }

  /** Current status of a run, from its query while it runs and from its result once closed; links the version's report once registered. */
  async get(id: string): Promise<PipelineView> {
    const view = await this.read(id);
    return view.modelVersion && view.model ? { ...view, reportUrl: `/v1/models/${encodeURIComponent(view.model)}/versions/${view.modelVersion}/report` } : view;
  }

  /** The run's handle and description; a 404 unless it is a training pipeline. */
  private async describe(id: string) {
    const handle = this.client.workflow.getHandle<typeof trainingPipeline>(id);
    let description;
    try {
      description = await handle.describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new ApiError('not_found', `pipeline "${id}" does not exist`);
      throw err;
    }
    if (description.type !== trainingPipeline.name) throw new ApiError('not_found', `pipeline "${id}" does not exist`);
    return { handle, description };
  }

  private async read(id: string): Promise<PipelineView> {
    const { handle, description } = await this.describe(id);
    const base = { id, startedAt: description.startTime.toISOString(), closedAt: description.closeTime?.toISOString(), uiUrl: this.o.uiUrl(id) };
    const status = description.status.name;
    if (status === 'COMPLETED') {
      const result = await handle.result();
      return { ...result, ...base };
    }
    const queried = await handle.query(statusQuery).catch(() => undefined);
    if (status === 'RUNNING' || status === 'CONTINUED_AS_NEW') {
      return { ...(queried ?? { stage: undefined }), ...base, state: queried?.state ?? 'running' };
    }
    let error = `the run ended: ${status.toLowerCase()}`;
    try {
      await handle.result();
    } catch (err) {
      if (err instanceof WorkflowFailedError) error = rootMessage(err);
    }
    return { ...(queried ?? {}), ...base, state: 'failed', error };
  }

  /**
   * Sends a person's decision as the run's `decide` update. The run's ballot is the only rulebook: it
   * refuses a decision while the run is not waiting for one, from the person who started it (four-eyes),
   * or a second approval by the same person; the caller gets its answer (counted, k of n) or its reason.
   */
  async decide(id: string, decision: ApprovalDecision): Promise<{ id: string; decision: string; approvals: number; required: number; outcome?: string }> {
    const { handle, description } = await this.describe(id);
    if (description.status.name !== 'RUNNING') throw new ApiError('conflict', `pipeline "${id}" is not awaiting approval (state: ${(await this.read(id)).state})`);
    try {
      return { id, ...(await handle.executeUpdate(approvalUpdate, { args: [decision] })) };
    } catch (err) {
      const cause = err instanceof WorkflowUpdateFailedError ? err.cause : undefined;
      if (cause instanceof ApplicationFailure && cause.type === APPROVAL_REFUSALS.fourEyes) throw new ApiError('forbidden', `${cause.message}; another approver must`);
      if (cause instanceof ApplicationFailure && (cause.type === APPROVAL_REFUSALS.repeated || cause.type === APPROVAL_REFUSALS.notAwaiting)) throw new ApiError('conflict', `pipeline "${id}": ${cause.message}`);
      // the run ended between the look and the update
      if (err instanceof WorkflowNotFoundError) throw new ApiError('conflict', `pipeline "${id}" is not awaiting approval (it has ended)`);
      throw err;
    }
  }
}

/** A source as the audit log and the memo show it: never with a password. */
export function describeSource(data: PipelineData): string {
  if ('connection' in data) return `connection:${data.connection}`;
  if ('dataset' in data) return `dataset:${data.dataset}`;
  return redactUri(data.uri);
}

/** The innermost message of a failure chain: the activity's own words, not "Activity task failed". */
