/**
 * Batch scoring jobs: one row per job (keyed by its workflow id), written when it is asked for and
 * completed or failed by its workflow. The row is the job's lineage: model version and ONNX digest ->
 * input dataset version -> output and the digest of its manifest. Also the job's sample of the
 * prediction log, marked with the job's id.
 */
import { Pool } from 'pg';

export type BatchState = 'running' | 'completed' | 'failed';

export interface BatchJob {
  id: string;
  model: string;
  version: number;
  onnxDigest: string;
  input: unknown;
  datasetId: string | null;
  output: { uri: string; format: 'parquet' | 'csv'; digest: string | null; parts: number | null };
  state: BatchState;
  rows: number | null;
  error: string | null;
  requestedBy: string;
  createdAt: string;
  finishedAt: string | null;
}

export interface NewBatchJob {
  id: string;
  model: string;
  version: number;
  onnxDigest: string;
  input: unknown;
  outputUri: string;
  format: 'parquet' | 'csv';
  requestedBy: string;
}

const COLUMNS = 'id, model_name, version, onnx_digest, input, dataset_id, output_uri, format, state, rows, parts, output_digest, error, requested_by, created_at, finished_at';

function toJob(r: Record<string, any>): BatchJob {
  return {
    id: r.id, model: r.model_name, version: r.version, onnxDigest: r.onnx_digest, input: r.input, datasetId: r.dataset_id,
    output: { uri: r.output_uri, format: r.format, digest: r.output_digest, parts: r.parts },
    state: r.state, rows: r.rows === null ? null : Number(r.rows), error: r.error, requestedBy: r.requested_by,
    createdAt: new Date(r.created_at).toISOString(), finishedAt: r.finished_at ? new Date(r.finished_at).toISOString() : null,
  };
}

/** Records a job as running; a second call for the same id (a retry) changes nothing. */
export async function createBatchJob(pool: Pool, job: NewBatchJob): Promise<void> {
  await pool.query(
    `INSERT INTO batch_jobs (id, model_name, version, onnx_digest, input, output_uri, format, state, requested_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, 'running', $8) ON CONFLICT (id) DO NOTHING`,
    [job.id, job.model, job.version, job.onnxDigest, JSON.stringify(job.input), job.outputUri, job.format, job.requestedBy],
  );
}

/** The input's dataset version and row count, once ingested. */
export async function setBatchInput(pool: Pool, id: string, datasetId: string, rows: number): Promise<void> {
  await pool.query('UPDATE batch_jobs SET dataset_id = $2, rows = $3 WHERE id = $1', [id, datasetId, rows]);
}

/** Marks a job completed with its output's digest; idempotent. */
export async function completeBatchJob(pool: Pool, id: string, o: { rows: number; parts: number; outputDigest: string }): Promise<void> {
  await pool.query(
    `UPDATE batch_jobs SET state = 'completed', rows = $2, parts = $3, output_digest = $4, error = NULL, finished_at = COALESCE(finished_at, now()) WHERE id = $1`,
    [id, o.rows, o.parts, o.outputDigest],
  );
}

/** Marks a job failed with the reason, unless it completed. */
export async function failBatchJob(pool: Pool, id: string, error: string): Promise<void> {
  await pool.query(`UPDATE batch_jobs SET state = 'failed', error = $2, finished_at = COALESCE(finished_at, now()) WHERE id = $1 AND state <> 'completed'`, [id, error]);
}

export async function getBatchJob(pool: Pool, model: string, id: string): Promise<BatchJob | undefined> {
  const { rows } = await pool.query(`SELECT ${COLUMNS} FROM batch_jobs WHERE model_name = $1 AND id = $2`, [model, id]);
  return rows[0] && toJob(rows[0]);
}

/** A model's jobs, newest first (optionally of one version). */
export async function listBatchJobs(pool: Pool, model: string, o: { version?: number; limit?: number } = {}): Promise<BatchJob[]> {
  const { rows } = await pool.query(
    `SELECT ${COLUMNS} FROM batch_jobs WHERE model_name = $1 AND ($2::int IS NULL OR version = $2) ORDER BY created_at DESC, id LIMIT $3`,
    [model, o.version ?? null, o.limit ?? 100],
  );
  return rows.map(toJob);
}

/**
 * Adds a job's sample rows to the prediction log (one JSON array of stored entries, as the serving log
 * writes them), marked with the job; rows logged before (a retried chunk) are skipped by their id.
 */
export async function logBatchSample(pool: Pool, jobId: string, entries: Buffer): Promise<void> {
  await pool.query(
    `INSERT INTO prediction_log (id, model_name, version, instance, output, subject, key_id, batch_job)
     SELECT id, model, version, instance, output, subject, key_id, $2
       FROM json_to_recordset($1::json) AS x(id uuid, model text, version int, instance json, output json, subject text, key_id text)
     ON CONFLICT DO NOTHING`,
    [entries, jobId],
  );
}
