/**
 * The step cache: a training's outputs kept under the key of everything that decides them (inputs and
 * code version), so a run with the same key reuses them instead of training again.
 */
import { Pool } from 'pg';

/** The run that first stored outputs under the key, and those outputs. */
export async function cachedStep<T>(pool: Pool, key: string): Promise<{ runId: string; outputs: T } | undefined> {
  const { rows } = await pool.query('SELECT run_id, outputs FROM step_cache WHERE cache_key = $1', [key]);
  return rows[0] ? { runId: rows[0].run_id, outputs: rows[0].outputs as T } : undefined;
}

/**
 * Records that `runId` reused the training of `fromRun`: a copy of its training run under the new id,
 * and one more hit on the key. The hit counts only when the copy is first written, so a retry adds nothing.
 */
export async function recordCacheHit(pool: Pool, o: { key: string; runId: string; modelName: string; fromRun: string }): Promise<void> {
  await pool.query(
    `WITH copied AS (
        INSERT INTO training_runs (run_id, model_name, task, kind, dataset_id, seed, params, trials, onnx_digest, code_version, train_ms)
        SELECT $2, $3, task, kind, dataset_id, seed, params || jsonb_build_object('cachedFrom', run_id), trials, onnx_digest, code_version, 0
          FROM training_runs WHERE run_id = $4
        ON CONFLICT (run_id) DO NOTHING
        RETURNING 1
     )
     UPDATE step_cache SET hits = hits + 1 WHERE cache_key = $1 AND EXISTS (SELECT 1 FROM copied)`,
    [o.key, o.runId, o.modelName, o.fromRun],
  );
}

/** Stores a step's outputs under its key; the first run to finish keeps it. */
export async function cacheStep(pool: Pool, o: { key: string; stage: string; runId: string; outputs: unknown }): Promise<void> {
  await pool.query(
    'INSERT INTO step_cache (cache_key, stage, run_id, outputs) VALUES ($1, $2, $3, $4) ON CONFLICT (cache_key) DO NOTHING',
    [o.key, o.stage, o.runId, JSON.stringify(o.outputs)],
  );
}
