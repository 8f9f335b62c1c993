/** How many predictions and requests each model version has served, summed over every replica. */
import { Pool } from 'pg';

/** Adds counts to each version's totals. */
export async function addPredictionCounts(pool: Pool, batch: { model: string; version: number; predictions: number; requests: number }[]): Promise<void> {
  await pool.query(
    `INSERT INTO prediction_counts (model_name, version, predictions, requests)
     SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[], $4::bigint[])
     ON CONFLICT (model_name, version) DO UPDATE
       SET predictions = prediction_counts.predictions + EXCLUDED.predictions,
           requests = prediction_counts.requests + EXCLUDED.requests, last_at = now()`,
    [batch.map((b) => b.model), batch.map((b) => b.version), batch.map((b) => b.predictions), batch.map((b) => b.requests)],
  );
}
