/**
 * Experiment tracking: one row per training run, written idempotently by run id. /v1/runs lists these
 * beside the runs the MLflow client logs (store/mlflow.ts), read from their own tables and merged here
 * by time: an MLflow run has no dataset, seed, family or ONNX file, so writing it into training_runs
 * would mean inventing them, and its params, metric history and tags keep changing while it runs.
 */
import { Pool } from 'pg';
import { getRunSummary, listRunSummaries, MlflowRunDetail, MlflowRunSummary } from './mlflow';

export interface TrainingRun {
  /** A run of the training pipeline (as opposed to one logged through the MLflow client). */
  source: 'pipeline';
  runId: string;
  modelName: string;
  task: string;
  kind: string;
  /** null for a model imported without evaluation data. */
  datasetId: string | null;
  seed: number;
  params: Record<string, unknown>;
  trials: { l2: number; validationLoss: number; iterations: number }[];
  onnxDigest: string;
  codeVersion: string | null;
  trainMs: number;
  metrics: Record<string, number> | null;
  createdAt: string;
  evaluatedAt: string | null;
}

function toRun(r: any): TrainingRun {
  return {
    source: 'pipeline', runId: r.run_id, modelName: r.model_name, task: r.task, kind: r.kind, datasetId: r.dataset_id, seed: r.seed,
    params: r.params, trials: r.trials, onnxDigest: r.onnx_digest, codeVersion: r.code_version, trainMs: r.train_ms,
    metrics: r.metrics, createdAt: new Date(r.created_at).toISOString(), evaluatedAt: r.evaluated_at ? new Date(r.evaluated_at).toISOString() : null,
  };
}

/** Records a finished training; a retried attempt overwrites its own row, never adds one. */
export async function recordTraining(pool: Pool, r: Omit<TrainingRun, 'source' | 'metrics' | 'createdAt' | 'evaluatedAt'>): Promise<void> {
  await pool.query(
    `INSERT INTO training_runs (run_id, model_name, task, kind, dataset_id, seed, params, trials, onnx_digest, code_version, train_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
     ON CONFLICT (run_id) DO UPDATE SET params = EXCLUDED.params, trials = EXCLUDED.trials, onnx_digest = EXCLUDED.onnx_digest, train_ms = EXCLUDED.train_ms`,
    [r.runId, r.modelName, r.task, r.kind, r.datasetId, r.seed, JSON.stringify(r.params), JSON.stringify(r.trials), r.onnxDigest, r.codeVersion, r.trainMs],
  );
}

export async function recordEvaluation(pool: Pool, runId: string, metrics: Record<string, number>): Promise<void> {
  await pool.query('UPDATE training_runs SET metrics = $2, evaluated_at = now() WHERE run_id = $1', [runId, JSON.stringify(metrics)]);
}

/** A run as /v1/runs lists it: the pipeline's, or one logged through the MLflow client. */
export type RunRecord = TrainingRun | MlflowRunSummary;

/** Pipeline and MLflow runs, newest first; with `model`, those that made versions of it. */
export async function listRuns(pool: Pool, o: { model?: string; limit?: number } = {}): Promise<RunRecord[]> {
  const limit = o.limit ?? 100;
  const [training, mlflow] = await Promise.all([
    pool.query(`SELECT * FROM training_runs WHERE ($1::text IS NULL OR model_name = $1) ORDER BY created_at DESC, run_id LIMIT $2`, [o.model ?? null, limit]),
    listRunSummaries(pool, { model: o.model, limit }),
  ]);
  const runs: RunRecord[] = [...training.rows.map(toRun), ...mlflow];
  return runs.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || a.runId.localeCompare(b.runId)).slice(0, limit);
}

/** Any run by id, with its detail: a pipeline run's search trials, an MLflow run's metric history. */
export async function findRun(pool: Pool, runId: string): Promise<(TrainingRun & { tuningTrials: TuningTrial[] }) | MlflowRunDetail | undefined> {
  const training = await getRun(pool, runId);
  if (training) return { ...training, tuningTrials: await listTrials(pool, runId) };
  return getRunSummary(pool, runId);
}

export async function getRun(pool: Pool, runId: string): Promise<TrainingRun | undefined> {
  const { rows } = await pool.query('SELECT * FROM training_runs WHERE run_id = $1', [runId]);
  return rows[0] && toRun(rows[0]);
}

export interface TuningTrial {
  trial: number;
  rung: number;
  l2: number;
  fraction: number;
  validationLoss: number;
  iterations: number;
  trainMs: number;
}

/** Records one scored trial of a search; a retried trial overwrites its own row. */
export async function recordTrial(pool: Pool, runId: string, t: TuningTrial): Promise<void> {
  await pool.query(
    `INSERT INTO tuning_trials (run_id, trial, rung, l2, fraction, validation_loss, iterations, train_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (run_id, trial, rung) DO UPDATE SET validation_loss = EXCLUDED.validation_loss, iterations = EXCLUDED.iterations, train_ms = EXCLUDED.train_ms`,
    [runId, t.trial, t.rung, t.l2, t.fraction, t.validationLoss, t.iterations, t.trainMs],
  );
}

export async function listTrials(pool: Pool, runId: string): Promise<TuningTrial[]> {
  const { rows } = await pool.query('SELECT * FROM tuning_trials WHERE run_id = $1 ORDER BY rung, trial', [runId]);
  return rows.map((r) => ({ trial: r.trial, rung: r.rung, l2: r.l2, fraction: r.fraction, validationLoss: r.validation_loss, iterations: r.iterations, trainMs: r.train_ms }));
}
