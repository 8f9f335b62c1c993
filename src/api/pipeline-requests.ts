/** The bodies the pipeline routes accept, and how any route turns a body into a typed request or one readable 400. */
import { z } from 'zod';
import { ApiError } from '../errors';
import { FORMAT_NAMES, unknownFormat } from '../ingest/formats';
import { FAMILIES, MODEL_KINDS, sharedParams } from '../ml/families';
import { CONNECTION_NAME } from '../store/connections';
import { TRAINER_NAME } from '../store/trainers';
import { MODEL_NAME } from '../domain/model-version';
import type { PipelineData } from '../workflows/definitions';

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
const customTrainerSchema = z.strictObject({
  kind: z.literal('custom'),
  name: z.string().regex(TRAINER_NAME, 'trainer names are lower-case letters, digits, "-" and "_", starting with a letter'),
  params: z.record(z.string(), z.unknown()).optional(),
});
const trainerSchema = z.discriminatedUnion('kind', [
  firstFamily, ...otherFamilies, customTrainerSchema,
  z.strictObject({ kind: z.undefined().optional(), params: sharedParams.optional(), search: searchSchema }),
], {
  error: (issue) => (issue.code === 'invalid_union' ? `${JSON.stringify((issue.input as { kind?: unknown } | undefined)?.kind)} is not supported; available: ${MODEL_KINDS.join(', ')}, or custom (a registered trainer)` : undefined),
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
