/**
 * Privacy in the store: each model's PII policy, and a data subject's rows across the prediction log,
 * its feedback and the review queue, found by the subject's pseudonym (never by who they are).
 */
import { Pool } from 'pg';
import type { PrivacyPolicy } from '../privacy/pii';
import { DEPLOYMENTS_CHANNEL } from './registry';
import { readLoggedInput, servingFeaturesSql } from './logged-instance';

export interface StoredPrivacyPolicy {
  model: string;
  policy: PrivacyPolicy;
  updatedBy: string;
  updatedAt: string;
}

function toStored(r: any): StoredPrivacyPolicy {
  return { model: r.model_name, policy: r.policy, updatedBy: r.updated_by, updatedAt: new Date(r.updated_at).toISOString() };
}

export async function getPrivacyPolicy(pool: Pool, model: string): Promise<StoredPrivacyPolicy | undefined> {
  const { rows } = await pool.query('SELECT * FROM privacy_policies WHERE model_name = $1', [model]);
  return rows[0] && toStored(rows[0]);
}

/**
 * Replaces a model's policy and tells serving replicas (the deployments channel makes them reload, and
 * with the routing they reload the policies; replicas without notifications pick it up at their next poll).
 */
export async function setPrivacyPolicy(pool: Pool, model: string, policy: PrivacyPolicy, by: string): Promise<StoredPrivacyPolicy> {
  const { rows } = await pool.query(
    `WITH saved AS (
        INSERT INTO privacy_policies (model_name, policy, updated_by) VALUES ($1, $2, $3)
        ON CONFLICT (model_name) DO UPDATE SET policy = EXCLUDED.policy, updated_by = EXCLUDED.updated_by, updated_at = now()
        RETURNING *
     )
     SELECT saved.*, pg_notify('${DEPLOYMENTS_CHANNEL}', json_build_object('model', $1::text, 'privacy', true)::text) FROM saved`,
    [model, JSON.stringify(policy), by],
  );
  return toStored(rows[0]);
}

/** Every model's policy, for the serving replicas' cache (read with each routing reload). */
export async function listPrivacyPolicies(pool: Pool): Promise<Map<string, PrivacyPolicy>> {
  const { rows } = await pool.query('SELECT model_name, policy FROM privacy_policies');
  return new Map(rows.map((r) => [r.model_name as string, r.policy as PrivacyPolicy]));
}

export interface ErasureCounts {
  predictions: number;
  feedback: number;
  reviewItems: number;
}

/**
 * Deletes everything kept about a subject (by pseudonym), in all models, in one statement: the logged
 * predictions, their feedback, and their review items (found by subject too, in case the log row is gone).
 */
export async function eraseSubject(pool: Pool, subject: string): Promise<ErasureCounts> {
  const { rows: [counts] } = await pool.query(
    `WITH p AS (DELETE FROM prediction_log WHERE subject = $1 RETURNING id),
          r AS (DELETE FROM review_queue WHERE subject = $1 OR prediction_id IN (SELECT id FROM p) RETURNING prediction_id),
          f AS (DELETE FROM feedback WHERE prediction_id IN (SELECT id FROM p UNION SELECT prediction_id FROM r) RETURNING 1)
     SELECT (SELECT count(*) FROM p)::int AS predictions, (SELECT count(*) FROM f)::int AS feedback, (SELECT count(*) FROM r)::int AS review_items`,
    [subject],
  );
  return { predictions: counts.predictions, feedback: counts.feedback, reviewItems: counts.review_items };
}

export interface SubjectPrediction {
  id: string;
  model: string;
  version: number;
  at: string;
  /** The input as logged: pseudonymised columns stay pseudonymised, dropped ones are absent. */
  instance: unknown;
  output: unknown;
  /** Ground truth recorded for the prediction, if any. */
  feedback: { label: string; at: string } | null;
  /** The review item made of it (active learning), if any. */
  review: { label: string | null; labelledBy: string | null; labelledAt: string | null } | null;
}

/** Most predictions one export returns (a subject with more gets a `truncated` flag and should be exported in parts by an operator). */
export const MAX_EXPORT_ROWS = 100_000;

/**
 * Everything kept about a subject, inputs decrypted. Review items whose log row is gone (pruned
 * separately) are included from the review queue's copy.
 */
export async function exportSubject(pool: Pool, subject: string, keys: Record<string, Buffer>): Promise<{ predictions: SubjectPrediction[]; truncated: boolean }> {
  const { rows } = await pool.query(
    `SELECT COALESCE(p.id, r.prediction_id) AS id, COALESCE(p.model_name, r.model_name) AS model_name, COALESCE(p.version, r.version) AS version,
            COALESCE(p.at, r.created_at) AS at, COALESCE(p.instance, r.instance) AS instance, COALESCE(p.output, r.output) AS output,
            ${servingFeaturesSql('COALESCE(p.model_name, r.model_name)', 'COALESCE(p.version, r.version)')} AS features,
            CASE WHEN p.id IS NOT NULL THEN p.key_id ELSE r.key_id END AS key_id,
            f.label AS feedback_label, f.at AS feedback_at,
            r.prediction_id AS review_id, r.label AS review_label, r.labelled_by, r.labelled_at
       FROM (SELECT * FROM prediction_log WHERE subject = $1) p
       FULL JOIN (SELECT * FROM review_queue WHERE subject = $1) r ON r.prediction_id = p.id
       LEFT JOIN feedback f ON f.prediction_id = COALESCE(p.id, r.prediction_id)
      ORDER BY 4, 1
      LIMIT $2`,
    [subject, MAX_EXPORT_ROWS + 1],
  );
  const predictions = rows.slice(0, MAX_EXPORT_ROWS).map((r): SubjectPrediction => ({
    id: r.id, model: r.model_name, version: r.version, at: new Date(r.at).toISOString(),
    instance: readLoggedInput(r.instance, r.key_id, keys, r.id, r.features),
    output: r.output,
    feedback: r.feedback_label !== null ? { label: r.feedback_label, at: new Date(r.feedback_at).toISOString() } : null,
    review: r.review_id !== null ? { label: r.review_label, labelledBy: r.labelled_by, labelledAt: r.labelled_at ? new Date(r.labelled_at).toISOString() : null } : null,
  }));
  return { predictions, truncated: rows.length > MAX_EXPORT_ROWS };
}
