/**
 * The OpenAPI description of the governance routes (./governance-routes.ts), kept beside them: their
 * operations, the request component they parse with, and the response components the tests can parse
 * live answers with. ./openapi.ts and ./openapi-operations.ts take them in with a spread each.
 */
import { z } from 'zod';
import { privacyPolicySchema } from '../privacy/pii';
import type { OperationDoc, ParameterDoc } from './openapi-types';
import { MODEL_NAME } from '../domain/model-version';

const iso = z.iso.datetime();
const sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const count = z.number().int().min(0);
const subjectPseudonym = z.string().regex(/^h:[0-9a-f]{64}$/);

const auditEntrySchema = z.strictObject({
  id: z.number().int(), at: iso, key: z.string().nullable(), actor: z.string(), action: z.string(), subject: z.string(),
  details: z.unknown(), prevHash: sha256.nullable(), hash: sha256.nullable(),
});
const policySchema = z.strictObject({ pii: z.record(z.string(), z.enum(['pseudonymise', 'drop'])), subjectColumn: z.string().optional() });

export const GOVERNANCE_REQUEST_COMPONENTS = { PrivacyPolicyRequest: privacyPolicySchema };

export const GOVERNANCE_RESPONSE_COMPONENTS = {
  AuditList: z.strictObject({ entries: z.array(auditEntrySchema) }),
  AuditVerification: z.strictObject({
    ok: z.boolean(), entries: count, unchained: count,
    head: z.strictObject({ id: z.number().int(), hash: sha256 }).optional(),
    firstBroken: z.strictObject({ id: z.number().int(), reason: z.string() }).optional(),
  }),
  PrivacyPolicyResult: z.strictObject({
    model: z.string(), policy: policySchema, updatedBy: z.string().nullable(), updatedAt: iso.nullable(),
    warnings: z.array(z.string()).optional(),
  }),
  SubjectErasure: z.strictObject({ subject: subjectPseudonym, erased: z.strictObject({ predictions: count, feedback: count, reviewItems: count }) }),
  SubjectExport: z.strictObject({
    subject: subjectPseudonym,
    predictions: z.array(z.strictObject({
      id: z.uuid(), model: z.string(), version: z.number().int(), at: iso, instance: z.unknown(), output: z.unknown(),
      feedback: z.strictObject({ label: z.string(), at: iso }).nullable(),
      review: z.strictObject({ label: z.string().nullable(), labelledBy: z.string().nullable(), labelledAt: iso.nullable() }).nullable(),
    })),
    truncated: z.boolean(),
  }),
} satisfies Record<string, z.ZodType>;

const ok = (json: keyof typeof GOVERNANCE_RESPONSE_COMPONENTS) => ({ description: 'OK', json });
const modelName: ParameterDoc = { name: 'name', in: 'path', required: true, schema: z.string().regex(MODEL_NAME) };
const subjectId: ParameterDoc = { name: 'id', in: 'path', required: true, description: 'the subject\'s id as sent in the model\'s subject column (never stored: it is pseudonymised)', schema: z.string().min(1).max(500) };
const text = (name: string, description: string): ParameterDoc => ({ name, in: 'query', description, schema: z.string().min(1).max(500) });

export const GOVERNANCE_OPERATIONS: Record<string, OperationDoc> = {
  'GET /v1/audit': {
    summary: 'The audit log, newest first: who did what to which subject, each entry hash-chained to the one before',
    parameters: [
      { name: 'limit', in: 'query', schema: z.number().int().min(1).max(1000).default(100) },
      text('action', 'only this action, e.g. model.approved'), text('subject', 'only this subject, e.g. churn@3'),
      { name: 'before', in: 'query', description: 'only entries older than this id (paging)', schema: z.number().int().min(1) },
    ],
    responses: { 200: ok('AuditList') },
  },
  'GET /v1/audit/verify': {
    summary: 'Recompute the audit chain; `ok: false` names the first broken entry (changed, deleted before it, reordered). 200 either way',
    responses: { 200: ok('AuditVerification') },
  },
  'GET /v1/models/{name}/privacy': {
    summary: 'A model\'s PII policy for the prediction log (an empty one when none is set)',
    parameters: [modelName], responses: { 200: ok('PrivacyPolicyResult') }, errors: [404],
  },
  'PUT /v1/models/{name}/privacy': {
    summary: 'Set which request columns are personal data (pseudonymise or drop) and which names the data subject (allowed before the model\'s first run); warns about features and columns the model does not accept',
    parameters: [modelName], body: { component: 'PrivacyPolicyRequest', required: true }, responses: { 200: ok('PrivacyPolicyResult') }, errors: [404],
  },
  'DELETE /v1/subjects/{id}': {
    summary: 'Erase a data subject: their logged predictions, feedback and review items in every model; recorded in the audit log by pseudonym. 409 without MLOPS_PII_KEY',
    parameters: [subjectId], responses: { 200: ok('SubjectErasure') }, errors: [409],
  },
  'GET /v1/subjects/{id}/export': {
    summary: 'Export a data subject\'s logged predictions, inputs decrypted (pseudonymised columns stay so), with answers, feedback and review labels. 409 without MLOPS_PII_KEY',
    parameters: [subjectId], responses: { 200: ok('SubjectExport') }, errors: [409, 503],
  },
};
