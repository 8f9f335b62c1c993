/**
 * Personal data in logged predictions. A model's privacy policy names the request columns that are
 * personal data and what happens to them before a prediction is logged: `pseudonymise` replaces the
 * value with a keyed hash (HMAC-SHA256 under MLOPS_PII_KEY, hex, prefixed "h:"), `drop` removes it.
 * The optional subject column names the person a row is about; its pseudonym is stored beside the row
 * so a person's rows can be found (export, erasure) without storing who they are.
 *
 * Without a PII key there is nothing to hash with, so `pseudonymise` falls back to `drop` and no
 * subject is recorded: a key that is not configured must never mean data kept in clear.
 */
import { createHmac } from 'node:crypto';
import { z } from 'zod';
import { canonicalJson } from '../canonical-json';

export type PiiAction = 'pseudonymise' | 'drop';

export interface PrivacyPolicy {
  pii: Record<string, PiiAction>;
  subjectColumn?: string;
}

const column = z.string().min(1, 'a column name cannot be empty').max(200, 'a column name has at most 200 characters');

/** The body of PUT /v1/models/:name/privacy. */
export const privacyPolicySchema = z.strictObject({
  pii: z.record(column, z.enum(['pseudonymise', 'drop'], { message: 'each PII column is "pseudonymise" or "drop"' }))
    .refine((pii) => Object.keys(pii).length <= 500, 'at most 500 PII columns'),
  subjectColumn: column.optional(),
});

/** The text a value is hashed as: numbers and booleans as written, so 42 and "42" name the same subject. */
function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return canonicalJson(value);
}

/** The pseudonym of a value: deterministic per key, so equal values still compare equal (joins, counts). */
export function pseudonym(key: Buffer, value: unknown): string {
  return `h:${createHmac('sha256', key).update(textOf(value), 'utf8').digest('hex')}`;
}

/**
 * What is logged of one request row under the policy, and the pseudonym of its subject (when the policy
 * names a subject column, the row has a value there, and a PII key is configured). The subject column
 * itself is dropped from the row unless the policy lists it: its raw value is exactly what must not stay.
 */
export function applyPolicy(instance: unknown, policy: PrivacyPolicy | undefined, piiKey: Buffer | undefined): { instance: unknown; subject?: string } {
  if (!policy || instance === null || typeof instance !== 'object' || Array.isArray(instance)) return { instance };
  const row: Record<string, unknown> = { ...(instance as Record<string, unknown>) };
  const present = (value: unknown) => value !== null && value !== undefined;
  const subjectValue = policy.subjectColumn !== undefined ? row[policy.subjectColumn] : undefined;
  for (const [name, action] of Object.entries(policy.pii)) {
    if (!(name in row)) continue;
    if (action === 'pseudonymise' && piiKey) { if (present(row[name])) row[name] = pseudonym(piiKey, row[name]); }
    else delete row[name];
  }
  if (policy.subjectColumn !== undefined && !(policy.subjectColumn in policy.pii)) delete row[policy.subjectColumn];
  return { instance: row, ...(piiKey && present(subjectValue) ? { subject: pseudonym(piiKey, subjectValue) } : {}) };
}
