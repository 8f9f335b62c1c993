/**
 * The prediction log and its feedback: rows written in batches by the serving log (one JSON document
 * per batch), ground truth recorded against served ids, what monitoring and canary analysis read back
 * (inputs as stored, possibly sealed: src/store/logged-instance.ts reads them), and retention.
 */
import { Pool } from 'pg';

export interface LogWindow {
  model: string;
  version: number;
  from: Date;
  to: Date;
  limit: number;
}

/** Logged inputs in the window, newest first, as stored: id, instance (clear or sealed), key id. */
export async function loggedInputs(pool: Pool, w: LogWindow): Promise<{ id: string; instance: unknown; key_id: string | null }[]> {
  const { rows } = await pool.query(
    `SELECT id, instance, key_id FROM prediction_log WHERE model_name = $1 AND version = $2 AND at >= $3 AND at <= $4 ORDER BY at DESC LIMIT $5`,
    [w.model, w.version, w.from, w.to, w.limit],
  );
  return rows;
}

/** Answers in the window that received a ground-truth label, with that label. */
export async function labelledAnswers(pool: Pool, w: LogWindow): Promise<{ output: unknown; label: string }[]> {
  const { rows } = await pool.query(
    `SELECT p.output, f.label FROM prediction_log p JOIN feedback f ON f.prediction_id = p.id
      WHERE p.model_name = $1 AND p.version = $2 AND p.at >= $3 AND p.at <= $4 LIMIT $5`,
    [w.model, w.version, w.from, w.to, w.limit],
  );
  return rows;
}

/** How a batch of logged rows (one JSON array) is inserted; a row written before (a retry) is skipped. */
const INSERT = {
  log: `INSERT INTO prediction_log (id, model_name, version, instance, output, subject, key_id)
  SELECT id, model, version, instance, output, subject, key_id
    FROM json_to_recordset($1::json) AS x(id uuid, model text, version int, instance json, output json, subject text, key_id text)
  ON CONFLICT DO NOTHING`,
  review: `INSERT INTO review_queue (prediction_id, model_name, version, measure, uncertainty, instance, output, subject, key_id)
  SELECT id, model, version, review->>'measure', (review->>'uncertainty')::double precision, instance, output, subject, key_id
    FROM json_to_recordset($1::json) AS x(id uuid, model text, version int, instance json, output json, review json, subject text, key_id text)
  ON CONFLICT DO NOTHING`,
};

/** Inserts logged rows (log entries or review items) given as the bytes of one JSON array. */
export async function insertLoggedRows(pool: Pool, into: keyof typeof INSERT, jsonArray: Buffer): Promise<void> {
  await pool.query(INSERT[into], [jsonArray]);
}

/** Records ground truth for served predictions; unknown ids are reported back, not stored. */
export async function recordFeedback(pool: Pool, items: { predictionId: string; label: string }[]): Promise<{ accepted: number; unknown: string[] }> {
  const { rows } = await pool.query(
    `INSERT INTO feedback (prediction_id, label)
     SELECT f.id, f.label FROM unnest($1::uuid[], $2::text[]) AS f(id, label)
      WHERE EXISTS (SELECT 1 FROM prediction_log p WHERE p.id = f.id)
     ON CONFLICT (prediction_id) DO UPDATE SET label = EXCLUDED.label, at = now()
     RETURNING prediction_id`,
    [items.map((i) => i.predictionId), items.map((i) => i.label)],
  );
  const accepted = new Set(rows.map((r) => r.prediction_id));
  return { accepted: accepted.size, unknown: items.map((i) => i.predictionId).filter((id) => !accepted.has(id)) };
}

/** Live accuracy of a version on predictions served since `since` that have a label: correct / labelled. */
export async function liveAccuracy(pool: Pool, model: string, version: number, since: Date): Promise<{ labelled: number; correct: number }> {
  const { rows } = await pool.query(
    `SELECT count(*)::int AS labelled,
            count(*) FILTER (WHERE COALESCE(p.output->>'label', p.output->>'value') = f.label)::int AS correct
       FROM prediction_log p JOIN feedback f ON f.prediction_id = p.id
      WHERE p.model_name = $1 AND p.version = $2 AND p.at >= $3`,
    [model, version, since],
  );
  return { labelled: rows[0].labelled, correct: rows[0].correct };
}

/**
 * Deletes prediction log entries, their feedback and review items (which copy the logged input, so they
 * age with it, labelled or not), and serving statistics, past their retention.
 */
export async function pruneServingData(pool: Pool, o: { predictionLogDays: number; servingStatsDays: number }): Promise<void> {
  await pool.query(
    `WITH old AS (DELETE FROM prediction_log WHERE at < now() - make_interval(secs => $1 * 86400) RETURNING id),
          old_review AS (DELETE FROM review_queue WHERE created_at < now() - make_interval(secs => $1 * 86400) RETURNING prediction_id)
     DELETE FROM feedback WHERE prediction_id IN (SELECT id FROM old UNION SELECT prediction_id FROM old_review)`,
    [o.predictionLogDays],
  );
  await pool.query('DELETE FROM serving_stats WHERE window_start < now() - make_interval(secs => $1 * 86400)', [o.servingStatsDays]);
}
