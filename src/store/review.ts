/**
 * Active learning's review queue: served predictions the model was unsure of wait here for a person's
 * label. Labelled items join the next training dataset of their model.
 */
import { Pool } from 'pg';

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

function toItem(r: any): ReviewItem {
  return {
    predictionId: r.prediction_id, model: r.model_name, version: r.version, measure: r.measure, uncertainty: r.uncertainty,
    instance: r.instance, output: r.output, createdAt: new Date(r.created_at).toISOString(), label: r.label,
    labelledBy: r.labelled_by, labelledAt: r.labelled_at ? new Date(r.labelled_at).toISOString() : null,
  };
}

/** Open items, least certain first (or labelled ones, newest first). */
export async function listReview(pool: Pool, o: { model?: string; state?: 'open' | 'labelled'; limit?: number } = {}): Promise<ReviewItem[]> {
  const labelled = o.state === 'labelled';
  const { rows } = await pool.query(
    `SELECT * FROM review_queue
      WHERE ($1::text IS NULL OR model_name = $1) AND (label IS NOT NULL) = $2
      ORDER BY ${labelled ? 'labelled_at DESC' : 'uncertainty DESC, created_at'} LIMIT $3`,
    [o.model ?? null, labelled, o.limit ?? 50],
  );
  return rows.map(toItem);
}

export async function countOpenReview(pool: Pool): Promise<{ model: string; open: number }[]> {
  const { rows } = await pool.query('SELECT model_name, count(*)::int AS open FROM review_queue WHERE label IS NULL GROUP BY model_name');
  return rows.map((r) => ({ model: r.model_name, open: r.open }));
}

/**
 * Labels an item (a later label replaces an earlier one) and records it as feedback for the prediction,
 * so quality monitoring counts it too. Returns undefined for an unknown id.
 */
export async function labelReviewItem(pool: Pool, predictionId: string, label: string, by: string): Promise<ReviewItem | undefined> {
  const { rows } = await pool.query(
    `WITH labelled AS (
        UPDATE review_queue SET label = $2, labelled_by = $3, labelled_at = now() WHERE prediction_id = $1 RETURNING *
     ), fed AS (
        INSERT INTO feedback (prediction_id, label) SELECT prediction_id, $2 FROM labelled
        ON CONFLICT (prediction_id) DO UPDATE SET label = EXCLUDED.label, at = now()
     )
     SELECT * FROM labelled`,
    [predictionId, label, by],
  );
  return rows[0] && toItem(rows[0]);
}

/** Every labelled item of the model: its input and the label, for the next training dataset. */
export async function labelledExamples(pool: Pool, model: string): Promise<{ instance: Record<string, unknown>; label: string }[]> {
  const { rows } = await pool.query(
    'SELECT instance, label FROM review_queue WHERE model_name = $1 AND label IS NOT NULL ORDER BY labelled_at, prediction_id',
    [model],
  );
  return rows.map((r) => ({ instance: r.instance, label: r.label }));
}
