/**
 * Traffic routes and rollouts. A route puts a second version beside production under a rollout
 * strategy's traffic policy (taking a share of requests, or scoring a share without answering).
 * Rollouts record each rollout's progress. Route changes notify API replicas like deployments.
 */
import { Pool } from 'pg';
import { DEPLOYMENTS_CHANNEL } from './registry';

export interface Route {
  modelName: string;
  version: number;
  /** The name of the strategy whose traffic policy replicas apply (src/rollouts); the store does not judge it. */
  mode: string;
  percent: number;
  rolloutId: string;
}

/** Sets (or moves) the model's route and notifies replicas; one statement. */
export async function setRoute(pool: Pool, r: Route): Promise<void> {
  await pool.query(
    `WITH up AS (
        INSERT INTO model_routes (model_name, version, mode, percent, rollout_id) VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (model_name) DO UPDATE SET version = EXCLUDED.version, mode = EXCLUDED.mode, percent = EXCLUDED.percent,
          rollout_id = EXCLUDED.rollout_id, updated_at = now()
        RETURNING model_name
     )
     SELECT pg_notify('${DEPLOYMENTS_CHANNEL}', json_build_object('model', $1::text, 'route', true)::text) FROM up`,
    [r.modelName, r.version, r.mode, r.percent, r.rolloutId],
  );
}

/** Removes the model's route if it belongs to the rollout (another rollout's route is left alone). */
export async function clearRoute(pool: Pool, modelName: string, rolloutId: string): Promise<void> {
  await pool.query(
    `WITH gone AS (DELETE FROM model_routes WHERE model_name = $1 AND rollout_id = $2 RETURNING model_name)
     SELECT pg_notify('${DEPLOYMENTS_CHANNEL}', json_build_object('model', $1::text, 'route', false)::text) FROM gone`,
    [modelName, rolloutId],
  );
}

export async function listRoutes(pool: Pool): Promise<Route[]> {
  const { rows } = await pool.query('SELECT * FROM model_routes');
  return rows.map((r) => ({ modelName: r.model_name, version: r.version, mode: r.mode, percent: r.percent, rolloutId: r.rollout_id }));
}

export type RolloutState = 'running' | 'promoted' | 'rolled_back' | 'aborted' | 'completed' | 'failed';

export interface Rollout {
  id: string;
  modelName: string;
  version: number;
  fromVersion: number | null;
  strategy: string;
  state: RolloutState;
  step: number | null;
  percent: number | null;
  analysis: unknown;
  actor: string;
  startedAt: string;
  endedAt: string | null;
}

function toRollout(r: any): Rollout {
  return {
    id: r.id, modelName: r.model_name, version: r.version, fromVersion: r.from_version, strategy: r.strategy, state: r.state,
    step: r.step, percent: r.percent, analysis: r.analysis, actor: r.actor,
    startedAt: new Date(r.started_at).toISOString(), endedAt: r.ended_at ? new Date(r.ended_at).toISOString() : null,
  };
}

/** Records a rollout once (a retry finds the first record). */
export async function startRollout(pool: Pool, r: Pick<Rollout, 'id' | 'modelName' | 'version' | 'fromVersion' | 'strategy' | 'actor'>): Promise<void> {
  await pool.query(
    `INSERT INTO rollouts (id, model_name, version, from_version, strategy, state, actor) VALUES ($1, $2, $3, $4, $5, 'running', $6)
     ON CONFLICT (id) DO NOTHING`,
    [r.id, r.modelName, r.version, r.fromVersion, r.strategy, r.actor],
  );
}

export async function updateRollout(pool: Pool, id: string, u: { state?: RolloutState; step?: number; percent?: number; analysis?: unknown }): Promise<void> {
  await pool.query(
    `UPDATE rollouts SET state = COALESCE($2, state), step = COALESCE($3, step), percent = COALESCE($4, percent),
       analysis = COALESCE($5, analysis), ended_at = CASE WHEN $2 IS NOT NULL AND $2 <> 'running' THEN now() ELSE ended_at END
     WHERE id = $1`,
    [id, u.state ?? null, u.step ?? null, u.percent ?? null, u.analysis === undefined ? null : JSON.stringify(u.analysis)],
  );
}

export async function listRollouts(pool: Pool, modelName: string): Promise<Rollout[]> {
  const { rows } = await pool.query('SELECT * FROM rollouts WHERE model_name = $1 ORDER BY started_at DESC, id', [modelName]);
  return rows.map(toRollout);
}

export async function getRollout(pool: Pool, id: string): Promise<Rollout | undefined> {
  const { rows } = await pool.query('SELECT * FROM rollouts WHERE id = $1', [id]);
  return rows[0] && toRollout(rows[0]);
}
