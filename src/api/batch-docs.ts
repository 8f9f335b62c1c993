/**
 * The OpenAPI description of the batch scoring routes (./batch-routes.ts), kept beside them: their
 * operations, the request component they parse with, and the response components the tests parse live
 * answers with. ./openapi.ts and ./openapi-operations.ts take them in with a spread each.
 */
import { z } from 'zod';
import { MODEL_NAME } from '../domain/model-version';
import { batchRequestSchema } from './batch-requests';
import type { OperationDoc, ParameterDoc } from './openapi-types';

const iso = z.iso.datetime();
const sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const count = z.number().int().min(0);
const state = z.enum(['running', 'completed', 'failed']);
const output = z.strictObject({ uri: z.string(), format: z.enum(['parquet', 'csv']), digest: sha256.nullable().describe('sha256 of the output\'s _manifest.json, which names every part\'s sha256'), parts: count.nullable() });

export const BATCH_REQUEST_COMPONENTS = { BatchRequest: batchRequestSchema };

const jobSchema = z.strictObject({
  id: z.string(), model: z.string(), version: z.number().int(), onnxDigest: sha256, input: z.unknown(), datasetId: sha256.nullable(), output, state,
  rows: count.nullable(), error: z.string().nullable(), requestedBy: z.string(), createdAt: iso, finishedAt: iso.nullable(),
});

export const BATCH_RESPONSE_COMPONENTS = {
  BatchStarted: z.strictObject({ id: z.string(), uiUrl: z.string() }),
  BatchJob: z.strictObject({
    id: z.string(), model: z.string(), version: z.number().int(), state,
    rows: count.nullable().describe('input rows once ingested; on completion, the rows written'),
    rowsScored: count,
    progress: z.strictObject({ chunks: count, chunksDone: count, stage: z.enum(['ingest', 'score', 'finish', 'done']) }).nullable(),
    input: z.strictObject({ source: z.unknown(), datasetId: sha256.nullable() }), output, onnxDigest: sha256,
    error: z.string().nullable(), requestedBy: z.string(), createdAt: iso, finishedAt: iso.nullable(), uiUrl: z.string(),
  }),
  BatchJobList: z.strictObject({ jobs: z.array(jobSchema) }),
} satisfies Record<string, z.ZodType>;

const ok = (json: keyof typeof BATCH_RESPONSE_COMPONENTS, description = 'OK') => ({ description, json });
const modelName: ParameterDoc = { name: 'name', in: 'path', required: true, schema: z.string().regex(MODEL_NAME) };

export const BATCH_OPERATIONS: Record<string, OperationDoc> = {
  'POST /v1/models/{name}/batch': {
    summary: 'Score a dataset with an approved version as a workflow: chunks scored in parallel into part files (Parquet or CSV) under a data root, published with a manifest when complete',
    parameters: [modelName, { name: 'Idempotency-Key', in: 'header', schema: z.string(), description: 'Repeating a request with the same key returns the same job.' }],
    body: { component: 'BatchRequest', required: true },
    responses: { 202: ok('BatchStarted', 'Started; `Location` names the job') }, errors: [404, 409],
  },
  'GET /v1/models/{name}/batch': {
    summary: 'A model\'s batch jobs, newest first: version, input dataset, output and its digest (lineage)',
    parameters: [modelName, { name: 'version', in: 'query', schema: z.number().int().min(1) }, { name: 'limit', in: 'query', schema: z.number().int().min(1).max(1000).default(100) }],
    responses: { 200: ok('BatchJobList') }, errors: [404],
  },
  'GET /v1/models/{name}/batch/{id}': {
    summary: 'A batch job: state, rows, progress while it runs, output and its digest, or why it failed',
    parameters: [modelName, { name: 'id', in: 'path', required: true, schema: z.string() }],
    responses: { 200: ok('BatchJob') }, errors: [404],
  },
};
