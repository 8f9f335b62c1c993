/**
 * Active learning's review queue: served predictions the model was unsure of wait here for a person's
 * label. Labelled items join the next training dataset of their model.
 *
 * An item's input is a copy of the logged one: pseudonymised by the model's PII policy and, when
 * encryption is on, encrypted; readers pass the decryption keys by id. A row whose key is not among
 * them is refused with a DecryptionError that names the key (a configuration to fix, not data to skip:
 * a person labels what they see, and training must not silently lose examples).
 */
import { Pool } from 'pg';
import { readLoggedInput, servingFeaturesSql } from './logged-instance';

export interface ReviewItem {
  predictionId: string;
  model: string;
  version: number;
  measure: 'margin' | 'entropy';
  uncertainty: number;
  instance: Record<string, unknown>;
  output: unknown;
  createdAt: string;
  label: string | null;
  labelledBy: string | null;
  labelledAt: string | null;
}

/** The serving version's features beside a review row (`alias`): stored inputs are named by them again. */
const featuresOf = (alias: string) => `${servingFeaturesSql(`${alias}.model_name`, `${alias}.version`)} AS features`;

function toItem(r: any, keys: Record<string, Buffer>): ReviewItem {
  return {
    predictionId: r.prediction_id, model: r.model_name, version: r.version, measure: r.measure, uncertainty: r.uncertainty,
    instance: readLoggedInput(r.instance, r.key_id, keys, r.prediction_id, r.features) as Record<string, unknown>, output: r.output, createdAt: new Date(r.created_at).toISOString(), label: r.label,
    labelledBy: r.labelled_by, labelledAt: r.labelled_at ? new Date(r.labelled_at).toISOString() : null,
  };
}

/** Open items, least certain first (or labelled ones, newest first). */
export async function listReview(pool: Pool, o: { model?: string; state?: 'open' | 'labelled'; limit?: number; keys?: Record<string, Buffer> } = {}): Promise<ReviewItem[]> {
  const labelled = o.state === 'labelled';
  const { rows } = await pool.query(
    `SELECT q.*, ${featuresOf('q')} FROM review_queue q
      WHERE ($1::text IS NULL OR model_name = $1) AND (label IS NOT NULL) = $2
      ORDER BY ${labelled ? 'labelled_at DESC' : 'uncertainty DESC, created_at'} LIMIT $3`,
    [o.model ?? null, labelled, o.limit ?? 50],
  );
  return rows.map((r) => toItem(r, o.keys ?? {}));
}

export async function countOpenReview(pool: Pool): Promise<{ model: string; open: number }[]> {
  const { rows } = await pool.query('SELECT model_name, count(*)::int AS open FROM review_queue WHERE label IS NULL GROUP BY model_name');
  return rows.map((r) => ({ model: r.model_name, open: r.open }));
}

/**
 * Labels an item (a later label replaces an earlier one) and records it as feedback for the prediction,
 * so quality monitoring counts it too. Returns undefined for an unknown id.
 */
export async function labelReviewItem(pool: Pool, predictionId: string, label: string, by: string, keys: Record<string, Buffer> = {}): Promise<ReviewItem | undefined> {
  const { rows } = await pool.query(
    `WITH labelled AS (
        UPDATE review_queue SET label = $2, labelled_by = $3, labelled_at = now() WHERE prediction_id = $1 RETURNING *
     ), fed AS (
        INSERT INTO feedback (prediction_id, label) SELECT prediction_id, $2 FROM labelled
        ON CONFLICT (prediction_id) DO UPDATE SET label = EXCLUDED.label, at = now()
     )
     SELECT l.*, ${featuresOf('l')} FROM labelled l`,
    [predictionId, label, by],
  );
  return rows[0] && toItem(rows[0], keys);
}

/** Every labelled item of the model: its input and the label, for the next training dataset. */
export async function labelledExamples(pool: Pool, model: string, keys: Record<string, Buffer> = {}): Promise<{ instance: Record<string, unknown>; label: string }[]> {
  const { rows } = await pool.query(
    `SELECT prediction_id, instance, key_id, label, ${featuresOf('q')} FROM review_queue q WHERE model_name = $1 AND label IS NOT NULL ORDER BY labelled_at, prediction_id`,
    [model],
  );
  return rows.map((r) => ({ instance: readLoggedInput(r.instance, r.key_id, keys, r.prediction_id, r.features) as Record<string, unknown>, label: r.label }));
}
