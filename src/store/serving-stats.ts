/**
 * Serving statistics as stored: one row per replica, version and one-second window (requests, errors,
 * rows, latency buckets, output bins, shadow agreement), written once when the window closes.
 */
import { Pool } from 'pg';

/** What a version served: requests, failed ones, rows, latency per bucket, rows per output bin, shadow agreement. */
export interface VersionStats {
  requests: number;
  errors: number;
  rows: number;
  latency: number[];
  outputs: number[];
  shadowCompared: number;
  shadowAgreed: number;
}

/** One version's counts in one window of one replica. */
export interface ServingWindow extends VersionStats {
  model: string;
  version: number;
  /** Window start, in milliseconds since the epoch. */
  start: number;
}

/** Writes closed windows of one replica; a window written before (a retried flush) is skipped. */
export async function writeServingWindows(pool: Pool, replica: string, batch: ServingWindow[]): Promise<void> {
  await pool.query(
    `INSERT INTO serving_stats (model_name, version, replica, window_start, requests, errors, rows, latency, outputs, shadow_compared, shadow_agreed)
     SELECT m, v, $1, to_timestamp(s / 1000.0), r, e, n, l::jsonb, o::jsonb, sc, sa
       FROM unnest($2::text[], $3::int[], $4::float8[], $5::bigint[], $6::bigint[], $7::bigint[], $8::text[], $9::text[], $10::bigint[], $11::bigint[])
         AS t(m, v, s, r, e, n, l, o, sc, sa)
     ON CONFLICT DO NOTHING`,
    [replica, batch.map((w) => w.model), batch.map((w) => w.version), batch.map((w) => w.start), batch.map((w) => w.requests), batch.map((w) => w.errors),
      batch.map((w) => w.rows), batch.map((w) => JSON.stringify(w.latency)), batch.map((w) => JSON.stringify(w.outputs)), batch.map((w) => w.shadowCompared), batch.map((w) => w.shadowAgreed)],
  );
}

/** Every replica's windows of a version starting at or after `since`. */
export async function servingWindowsSince(pool: Pool, model: string, version: number, since: Date): Promise<{ requests: number; errors: number; rows: number; latency: number[]; outputs: number[]; shadow_compared: number; shadow_agreed: number }[]> {
  const { rows } = await pool.query(
    'SELECT requests, errors, rows, latency, outputs, shadow_compared, shadow_agreed FROM serving_stats WHERE model_name = $1 AND version = $2 AND window_start >= $3',
    [model, version, since],
  );
  return rows;
}
