/**
 * The MLflow-compatible tracking and registry store (tables of migration 15): experiments, runs with
 * their params, metric history and tags, logged models, the mlflow-artifacts path index, registered
 * models, model versions and aliases. Plain objects in, plain objects out; the wire format of the
 * MLflow REST API is src/api/mlflow's business. Ids are MLflow's: experiments are numbers (as text to
 * the client), runs 32 hex digits, logged models `m-` and 32 hex digits.
 */
import { randomBytes } from 'node:crypto';
import { Pool, PoolClient } from 'pg';
import { DomainError } from '../domain/errors';
import type { GovernanceStatus } from '../domain/model-version';
import { FilterClause, filterSql, FilterTarget, OrderClause, orderSql, SqlParams } from './mlflow-filter';

export type LifecycleStage = 'active' | 'deleted';
export type ViewType = 'ACTIVE_ONLY' | 'DELETED_ONLY' | 'ALL';
export type RunStatus = 'RUNNING' | 'SCHEDULED' | 'FINISHED' | 'FAILED' | 'KILLED';
export type LoggedModelStatus = 'LOGGED_MODEL_PENDING' | 'LOGGED_MODEL_READY' | 'LOGGED_MODEL_UPLOAD_FAILED';
export type VersionStatus = 'PENDING_REGISTRATION' | 'FAILED_REGISTRATION' | 'READY';
/** What the platform made of a registered version: handed to the import workflow, or kept and not deployable. */
export type PlatformState = 'import_requested' | 'import_failed' | 'not_deployable';

export const RUN_STATUSES: readonly RunStatus[] = ['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED'];

export type Tags = Record<string, string>;

/** A page of a search: the rows, and whether more follow. */
export interface Page<T> {
  items: T[];
  more: boolean;
}

export interface SearchOptions {
  clauses: FilterClause[];
  orders: OrderClause[];
  offset: number;
  limit: number;
}

const notFound = (message: string) => new DomainError('not_found', message);
const UNIQUE_VIOLATION = '23505';
const ms = (d: Date | string) => new Date(d).getTime();
const hex = (bytes: number) => randomBytes(bytes).toString('hex');

async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** Rows of (owner, key, value) grouped into a tag map per owner. */
function groupPairs(rows: { owner: string; key: string; value: string }[]): Map<string, Tags> {
  const out = new Map<string, Tags>();
  for (const r of rows) {
    const map = out.get(r.owner) ?? {};
    map[r.key] = r.value;
    out.set(r.owner, map);
  }
  return out;
}

/** Rows grouped by a key, each group in the rows' order. */
function groupBy<T>(rows: T[], key: (row: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const row of rows) {
    const k = key(row);
    const group = out.get(k);
    if (group) group.push(row);
    else out.set(k, [row]);
  }
  return out;
}

function page<T>(rows: T[], limit: number): Page<T> {
  return { items: rows.slice(0, limit), more: rows.length > limit };
}

const lifecycleIn = (view: ViewType) => (view === 'ALL' ? ['active', 'deleted'] : view === 'DELETED_ONLY' ? ['deleted'] : ['active']);

/** Experiment ids are whole numbers; anything else names no experiment. */
const experimentKey = (id: string) => (/^\d{1,18}$/.test(id) ? id : undefined);

// ---- experiments

export interface MlflowExperiment {
  experimentId: string;
  name: string;
  lifecycleStage: LifecycleStage;
  createdBy: string;
  createdAt: number;
  updatedAt: number;
  tags: Tags;
}

const EXPERIMENT_TARGET: FilterTarget = {
  entity: 'experiments',
  attributes: {
    name: { sql: 'e.name', type: 'text' },
    experiment_id: { sql: 'e.experiment_id::text', type: 'text' },
    creation_time: { sql: '(extract(epoch FROM e.created_at) * 1000)', type: 'number' },
    last_update_time: { sql: '(extract(epoch FROM e.updated_at) * 1000)', type: 'number' },
  },
  tag: { table: 'mlflow_experiment_tags', join: 'kv.experiment_id = e.experiment_id', type: 'text' },
};

async function withExperimentTags(pool: Pool | PoolClient, rows: any[]): Promise<MlflowExperiment[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => String(r.experiment_id));
  const tags = groupPairs((await pool.query('SELECT experiment_id::text AS owner, key, value FROM mlflow_experiment_tags WHERE experiment_id = ANY($1::bigint[])', [ids])).rows);
  return rows.map((r) => ({
    experimentId: String(r.experiment_id), name: r.name, lifecycleStage: r.lifecycle_stage, createdBy: r.created_by,
    createdAt: ms(r.created_at), updatedAt: ms(r.updated_at), tags: tags.get(String(r.experiment_id)) ?? {},
  }));
}

export async function createExperiment(pool: Pool, e: { name: string; tags: Tags; createdBy: string }): Promise<string> {
  return inTransaction(pool, async (client) => {
    const { rows } = await client.query('INSERT INTO mlflow_experiments (name, created_by) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING experiment_id', [e.name, e.createdBy]);
    if (rows.length === 0) throw new DomainError('conflict', `an experiment named "${e.name}" already exists`);
    const id = String(rows[0].experiment_id);
    for (const [key, value] of Object.entries(e.tags)) {
      await client.query('INSERT INTO mlflow_experiment_tags (experiment_id, key, value) VALUES ($1, $2, $3) ON CONFLICT (experiment_id, key) DO UPDATE SET value = EXCLUDED.value', [id, key, value]);
    }
    return id;
  });
}

export async function getExperiment(pool: Pool, id: string): Promise<MlflowExperiment | undefined> {
  const key = experimentKey(id);
  if (!key) return undefined;
  const { rows } = await pool.query('SELECT * FROM mlflow_experiments WHERE experiment_id = $1', [key]);
  return (await withExperimentTags(pool, rows))[0];
}

export async function getExperimentByName(pool: Pool, name: string): Promise<MlflowExperiment | undefined> {
  const { rows } = await pool.query('SELECT * FROM mlflow_experiments WHERE name = $1', [name]);
  return (await withExperimentTags(pool, rows))[0];
}

export async function searchExperiments(pool: Pool, o: SearchOptions & { view: ViewType }): Promise<Page<MlflowExperiment>> {
  const params = new SqlParams([lifecycleIn(o.view)]);
  const where = filterSql(EXPERIMENT_TARGET, o.clauses, params);
  const order = orderSql(EXPERIMENT_TARGET, o.orders, params, 'e.experiment_id DESC');
  const { rows } = await pool.query(
    `SELECT e.* FROM mlflow_experiments e WHERE e.lifecycle_stage = ANY($1) AND ${where} ORDER BY ${order} OFFSET ${params.add(o.offset)} LIMIT ${params.add(o.limit + 1)}`,
    params.values,
  );
  return page(await withExperimentTags(pool, rows), o.limit);
}

export async function renameExperiment(pool: Pool, id: string, name: string): Promise<void> {
  try {
    const { rowCount } = await pool.query('UPDATE mlflow_experiments SET name = $2, updated_at = now() WHERE experiment_id = $1', [experimentKey(id) ?? -1, name]);
    if (rowCount === 0) throw notFound(`experiment ${id} does not exist`);
  } catch (err) {
    if ((err as { code?: string }).code === UNIQUE_VIOLATION) throw new DomainError('conflict', `an experiment named "${name}" already exists`);
    throw err;
  }
}

export async function setExperimentLifecycle(pool: Pool, id: string, stage: LifecycleStage): Promise<void> {
  if (id === '0' && stage === 'deleted') throw new DomainError('invalid', 'the Default experiment (0) cannot be deleted');
  const { rowCount } = await pool.query('UPDATE mlflow_experiments SET lifecycle_stage = $2, updated_at = now() WHERE experiment_id = $1', [experimentKey(id) ?? -1, stage]);
  if (rowCount === 0) throw notFound(`experiment ${id} does not exist`);
}

export async function setExperimentTag(pool: Pool, id: string, key: string, value: string): Promise<void> {
  const { rowCount } = await pool.query(
    `INSERT INTO mlflow_experiment_tags (experiment_id, key, value) SELECT experiment_id, $2, $3 FROM mlflow_experiments WHERE experiment_id = $1
     ON CONFLICT (experiment_id, key) DO UPDATE SET value = EXCLUDED.value`,
    [experimentKey(id) ?? -1, key, value],
  );
  if (rowCount === 0) throw notFound(`experiment ${id} does not exist`);
}

// ---- runs

export interface MlflowRunInfo {
  runId: string;
  experimentId: string;
  runName: string;
  userId: string;
  status: RunStatus;
  startTime: number;
  endTime: number | null;
  lifecycleStage: LifecycleStage;
  createdAt: string;
}

export interface MlflowMetric {
  key: string;
  value: number;
  timestamp: number;
  step: number;
  /** The logged model the value was measured for: it is then the model's metric as well as the run's. */
  modelId?: string;
  datasetName?: string;
  datasetDigest?: string;
}

export interface MlflowRun {
  info: MlflowRunInfo;
  params: Tags;
  tags: Tags;
  /** The latest value of each metric (highest step, then latest time). */
  metrics: MlflowMetric[];
  /** Logged models the run produced, and at which step. */
  outputs: { modelId: string; step: number }[];
}

const RUN_TARGET: FilterTarget = {
  entity: 'runs',
  attributes: {
    run_id: { sql: 'r.run_id', type: 'text' },
    run_name: { sql: 'r.run_name', type: 'text' },
    status: { sql: 'r.status', type: 'text' },
    user_id: { sql: 'r.user_id', type: 'text' },
    start_time: { sql: 'r.start_time', type: 'number' },
    end_time: { sql: 'r.end_time', type: 'number' },
    created: { sql: 'r.start_time', type: 'number' },
  },
  metric: { table: 'mlflow_latest_metrics', join: 'kv.run_id = r.run_id', type: 'number' },
  param: { table: 'mlflow_run_params', join: 'kv.run_id = r.run_id', type: 'text' },
  tag: { table: 'mlflow_run_tags', join: 'kv.run_id = r.run_id', type: 'text' },
};

function toRunInfo(r: any): MlflowRunInfo {
  return {
    runId: r.run_id, experimentId: String(r.experiment_id), runName: r.run_name, userId: r.user_id, status: r.status,
    startTime: Number(r.start_time), endTime: r.end_time === null ? null : Number(r.end_time), lifecycleStage: r.lifecycle_stage,
    createdAt: new Date(r.created_at).toISOString(),
  };
}

function toMetric(r: any): MlflowMetric {
  return {
    key: r.key, value: Number(r.value), timestamp: Number(r.timestamp), step: Number(r.step),
    ...(r.model_id ? { modelId: r.model_id } : {}),
    ...(r.dataset_name ? { datasetName: r.dataset_name } : {}),
    ...(r.dataset_digest ? { datasetDigest: r.dataset_digest } : {}),
  };
}

/** Params, tags, latest metrics and outputs of runs, in four queries whatever their number. */
async function withRunData(pool: Pool, rows: any[]): Promise<MlflowRun[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.run_id as string);
  const [params, tags, metrics, outputs] = await Promise.all([
    pool.query('SELECT run_id AS owner, key, value FROM mlflow_run_params WHERE run_id = ANY($1) ORDER BY key', [ids]),
    pool.query('SELECT run_id AS owner, key, value FROM mlflow_run_tags WHERE run_id = ANY($1) ORDER BY key', [ids]),
    pool.query('SELECT * FROM mlflow_latest_metrics WHERE run_id = ANY($1) ORDER BY key', [ids]),
    pool.query('SELECT run_id, model_id, step FROM mlflow_run_outputs WHERE run_id = ANY($1) ORDER BY step, model_id', [ids]),
  ]);
  const paramsOf = groupPairs(params.rows);
  const tagsOf = groupPairs(tags.rows);
  const metricsOf = groupBy(metrics.rows, (m) => m.run_id);
  const outputsOf = groupBy(outputs.rows, (o) => o.run_id);
  return rows.map((r) => ({
    info: toRunInfo(r),
    params: paramsOf.get(r.run_id) ?? {},
    tags: tagsOf.get(r.run_id) ?? {},
    metrics: (metricsOf.get(r.run_id) ?? []).map(toMetric),
    outputs: (outputsOf.get(r.run_id) ?? []).map((o) => ({ modelId: o.model_id, step: Number(o.step) })),
  }));
}

/** The tag MLflow keeps a run's name in as well; kept equal to run_name both ways. */
export const RUN_NAME_TAG = 'mlflow.runName';

export async function createRun(pool: Pool, r: { experimentId: string; runName: string; userId: string; startTime: number; tags: Tags }): Promise<MlflowRun> {
  const runId = hex(16);
  const runName = r.runName || r.tags[RUN_NAME_TAG] || `run-${runId.slice(0, 8)}`;
  await inTransaction(pool, async (client) => {
    const { rows } = await client.query('SELECT lifecycle_stage FROM mlflow_experiments WHERE experiment_id = $1 FOR SHARE', [experimentKey(r.experimentId) ?? -1]);
    if (rows.length === 0) throw notFound(`experiment ${r.experimentId} does not exist`);
    if (rows[0].lifecycle_stage !== 'active') throw new DomainError('invalid', `experiment ${r.experimentId} is deleted; restore it to log runs in it`);
    await client.query(
      `INSERT INTO mlflow_runs (run_id, experiment_id, run_name, user_id, status, start_time) VALUES ($1, $2, $3, $4, 'RUNNING', $5)`,
      [runId, r.experimentId, runName, r.userId, r.startTime],
    );
    for (const [key, value] of Object.entries({ ...r.tags, [RUN_NAME_TAG]: runName })) {
      await client.query('INSERT INTO mlflow_run_tags (run_id, key, value) VALUES ($1, $2, $3) ON CONFLICT (run_id, key) DO UPDATE SET value = EXCLUDED.value', [runId, key, value]);
    }
  });
  return (await getRun(pool, runId))!;
}

export async function getRun(pool: Pool, runId: string): Promise<MlflowRun | undefined> {
  const { rows } = await pool.query('SELECT * FROM mlflow_runs WHERE run_id = $1', [runId]);
  return (await withRunData(pool, rows))[0];
}

export async function getRunInfo(pool: Pool, runId: string): Promise<MlflowRunInfo | undefined> {
  const { rows } = await pool.query('SELECT * FROM mlflow_runs WHERE run_id = $1', [runId]);
  return rows[0] && toRunInfo(rows[0]);
}

export async function updateRun(pool: Pool, runId: string, u: { status?: RunStatus; endTime?: number; runName?: string }): Promise<MlflowRunInfo> {
  return inTransaction(pool, async (client) => {
    const { rows } = await client.query(
      `UPDATE mlflow_runs SET status = COALESCE($2, status), end_time = COALESCE($3, end_time), run_name = COALESCE($4, run_name)
       WHERE run_id = $1 RETURNING *`,
      [runId, u.status ?? null, u.endTime ?? null, u.runName || null],
    );
    if (rows.length === 0) throw notFound(`run ${runId} does not exist`);
    if (u.runName) await client.query('INSERT INTO mlflow_run_tags (run_id, key, value) VALUES ($1, $2, $3) ON CONFLICT (run_id, key) DO UPDATE SET value = EXCLUDED.value', [runId, RUN_NAME_TAG, u.runName]);
    return toRunInfo(rows[0]);
  });
}

export async function setRunLifecycle(pool: Pool, runId: string, stage: LifecycleStage): Promise<void> {
  const { rowCount } = await pool.query('UPDATE mlflow_runs SET lifecycle_stage = $2 WHERE run_id = $1', [runId, stage]);
  if (rowCount === 0) throw notFound(`run ${runId} does not exist`);
}

export interface RunData {
  metrics: MlflowMetric[];
  params: { key: string; value: string }[];
  tags: { key: string; value: string }[];
}

/**
 * Logs metrics, params and tags to an active run, all or nothing. A param keeps its first value: logging
 * it again with the same value is a no-op, with another value a refusal (as MLflow's own stores do).
 */
export async function logRunData(pool: Pool, runId: string, data: RunData): Promise<void> {
  await inTransaction(pool, async (client) => {
    const { rows } = await client.query('SELECT lifecycle_stage FROM mlflow_runs WHERE run_id = $1 FOR UPDATE', [runId]);
    if (rows.length === 0) throw notFound(`run ${runId} does not exist`);
    if (rows[0].lifecycle_stage !== 'active') throw new DomainError('invalid', `run ${runId} is deleted; restore it to log to it`);
    for (const p of data.params) {
      const { rows: kept } = await client.query(
        `WITH added AS (INSERT INTO mlflow_run_params (run_id, key, value) VALUES ($1, $2, $3) ON CONFLICT (run_id, key) DO NOTHING RETURNING value)
         SELECT value FROM added UNION ALL SELECT value FROM mlflow_run_params WHERE run_id = $1 AND key = $2`,
        [runId, p.key, p.value],
      );
      if (kept[0].value !== p.value) {
        throw new DomainError('invalid', `param "${p.key}" of run ${runId} was logged as "${kept[0].value}"; params cannot change (tried "${p.value}")`);
      }
    }
    for (const t of data.tags) {
      await client.query('INSERT INTO mlflow_run_tags (run_id, key, value) VALUES ($1, $2, $3) ON CONFLICT (run_id, key) DO UPDATE SET value = EXCLUDED.value', [runId, t.key, t.value]);
      if (t.key === RUN_NAME_TAG) await client.query('UPDATE mlflow_runs SET run_name = $2 WHERE run_id = $1', [runId, t.value]);
    }
    if (data.metrics.length > 0) {
      const m = data.metrics;
      await client.query(
        `INSERT INTO mlflow_metrics (run_id, key, value, timestamp, step)
         SELECT $1, * FROM unnest($2::text[], $3::double precision[], $4::bigint[], $5::bigint[]) ON CONFLICT DO NOTHING`,
        [runId, m.map((x) => x.key), m.map((x) => x.value), m.map((x) => x.timestamp), m.map((x) => x.step)],
      );
    }
    const forModels = data.metrics.filter((x) => x.modelId);
    if (forModels.length > 0) {
      const m = forModels;
      const models = [...new Set(m.map((x) => x.modelId!))];
      const known = await client.query('SELECT model_id FROM mlflow_logged_models WHERE model_id = ANY($1)', [models]);
      const unknown = models.find((id) => !known.rows.some((r) => r.model_id === id));
      if (unknown) throw notFound(`logged model ${unknown} does not exist`);
      await client.query(
        `INSERT INTO mlflow_logged_model_metrics (model_id, run_id, key, value, timestamp, step, dataset_name, dataset_digest)
         SELECT u.model_id, $1, u.key, u.value, u.timestamp, u.step, u.dataset_name, u.dataset_digest
           FROM unnest($2::text[], $3::text[], $4::double precision[], $5::bigint[], $6::bigint[], $7::text[], $8::text[])
                AS u(model_id, key, value, timestamp, step, dataset_name, dataset_digest)
         ON CONFLICT DO NOTHING`,
        [runId, m.map((x) => x.modelId), m.map((x) => x.key), m.map((x) => x.value), m.map((x) => x.timestamp), m.map((x) => x.step), m.map((x) => x.datasetName ?? ''), m.map((x) => x.datasetDigest ?? '')],
      );
    }
  });
}

export async function deleteRunTag(pool: Pool, runId: string, key: string): Promise<void> {
  if (!(await getRunInfo(pool, runId))) throw notFound(`run ${runId} does not exist`);
  const { rowCount } = await pool.query('DELETE FROM mlflow_run_tags WHERE run_id = $1 AND key = $2', [runId, key]);
  if (rowCount === 0) throw notFound(`run ${runId} has no tag "${key}"`);
}

/** Every value of one metric of a run, in step and time order. */
export async function metricHistory(pool: Pool, runId: string, key: string): Promise<MlflowMetric[]> {
  const { rows } = await pool.query('SELECT * FROM mlflow_metrics WHERE run_id = $1 AND key = $2 ORDER BY step, timestamp, value', [runId, key]);
  return rows.map(toMetric);
}

export async function searchRuns(pool: Pool, o: SearchOptions & { experimentIds: string[]; view: ViewType }): Promise<Page<MlflowRun>> {
  const ids = o.experimentIds.map(experimentKey).filter((id): id is string => id !== undefined);
  const params = new SqlParams([ids, lifecycleIn(o.view)]);
  const where = filterSql(RUN_TARGET, o.clauses, params);
  const order = orderSql(RUN_TARGET, o.orders, params, 'r.start_time DESC, r.run_id');
  const { rows } = await pool.query(
    `SELECT r.* FROM mlflow_runs r WHERE r.experiment_id = ANY($1::bigint[]) AND r.lifecycle_stage = ANY($2) AND ${where}
     ORDER BY ${order} OFFSET ${params.add(o.offset)} LIMIT ${params.add(o.limit + 1)}`,
    params.values,
  );
  return page(await withRunData(pool, rows), o.limit);
}

/** Records that a run produced logged models (log-outputs); logging the same model again keeps its first step. */
export async function logRunOutputs(pool: Pool, runId: string, outputs: { modelId: string; step: number }[]): Promise<void> {
  await inTransaction(pool, async (client) => {
    if ((await client.query('SELECT 1 FROM mlflow_runs WHERE run_id = $1', [runId])).rows.length === 0) throw notFound(`run ${runId} does not exist`);
    for (const o of outputs) {
      const { rows } = await client.query('SELECT 1 FROM mlflow_logged_models WHERE model_id = $1', [o.modelId]);
      if (rows.length === 0) throw notFound(`logged model ${o.modelId} does not exist`);
      await client.query('INSERT INTO mlflow_run_outputs (run_id, model_id, step) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [runId, o.modelId, o.step]);
    }
  });
}

// ---- runs as the platform's /v1/runs shows them

/** An MLflow run beside the pipeline's training runs in /v1/runs and `mlops runs`. */
export interface MlflowRunSummary {
  source: 'mlflow';
  runId: string;
  experiment: { id: string; name: string };
  runName: string;
  status: RunStatus;
  user: string;
  params: Tags;
  /** Latest value of each metric; NaN and infinities as MLflow writes them in JSON. */
  metrics: Record<string, number | 'NaN' | 'Infinity' | '-Infinity'>;
  tags: Tags;
  /** Versions of MLflow registered models made from this run. */
  modelVersions: { name: string; version: number }[];
  createdAt: string;
  endedAt: string | null;
}

const jsonNumber = (value: number): number | 'NaN' | 'Infinity' | '-Infinity' =>
  (Number.isNaN(value) ? 'NaN' : value === Infinity ? 'Infinity' : value === -Infinity ? '-Infinity' : value);

async function summaries(pool: Pool, rows: any[]): Promise<MlflowRunSummary[]> {
  const runs = await withRunData(pool, rows);
  const ids = runs.map((r) => r.info.runId);
  const versions = groupBy(ids.length === 0 ? [] : (await pool.query('SELECT run_id, name, version FROM mlflow_model_versions WHERE run_id = ANY($1) ORDER BY name, version', [ids])).rows, (v) => v.run_id);
  return runs.map((run, i) => ({
    source: 'mlflow',
    runId: run.info.runId,
    experiment: { id: run.info.experimentId, name: rows[i].experiment_name },
    runName: run.info.runName,
    status: run.info.status,
    user: run.info.userId,
    params: run.params,
    metrics: Object.fromEntries(run.metrics.map((m) => [m.key, jsonNumber(m.value)])),
    tags: run.tags,
    modelVersions: (versions.get(run.info.runId) ?? []).map((v) => ({ name: v.name, version: v.version })),
    createdAt: run.info.createdAt,
    endedAt: run.info.endTime === null ? null : new Date(run.info.endTime).toISOString(),
  }));
}

/**
 * Active MLflow runs, newest first. With `model`, the runs a version of that registered model was made
 * from (registered model names are the platform's model names).
 */
export async function listRunSummaries(pool: Pool, o: { model?: string; limit: number }): Promise<MlflowRunSummary[]> {
  const { rows } = await pool.query(
    `SELECT r.*, e.name AS experiment_name FROM mlflow_runs r JOIN mlflow_experiments e USING (experiment_id)
     WHERE r.lifecycle_stage = 'active'
       AND ($1::text IS NULL OR EXISTS (SELECT 1 FROM mlflow_model_versions v WHERE v.run_id = r.run_id AND v.name = $1))
     ORDER BY r.created_at DESC, r.run_id LIMIT $2`,
    [o.model ?? null, o.limit],
  );
  return summaries(pool, rows);
}

/** An MLflow run with every value of each of its metrics, by key. */
export type MlflowRunDetail = MlflowRunSummary & { metricHistory: Record<string, { step: number; value: number | string; timestamp: number }[]> };

/** One MLflow run as /v1/runs/:id shows it. */
export async function getRunSummary(pool: Pool, runId: string): Promise<MlflowRunDetail | undefined> {
  const { rows } = await pool.query('SELECT r.*, e.name AS experiment_name FROM mlflow_runs r JOIN mlflow_experiments e USING (experiment_id) WHERE r.run_id = $1', [runId]);
  if (rows.length === 0) return undefined;
  const [summary] = await summaries(pool, rows);
  const history = await pool.query('SELECT key, step, value, timestamp FROM mlflow_metrics WHERE run_id = $1 ORDER BY key, step, timestamp', [runId]);
  const metricHistory: MlflowRunDetail['metricHistory'] = {};
  for (const r of history.rows) (metricHistory[r.key] ??= []).push({ step: Number(r.step), value: jsonNumber(Number(r.value)), timestamp: Number(r.timestamp) });
  return { ...summary, metricHistory };
}

// ---- logged models

export interface LoggedModel {
  modelId: string;
  experimentId: string;
  name: string;
  modelType: string | null;
  sourceRunId: string | null;
  status: LoggedModelStatus;
  lifecycleStage: LifecycleStage;
  createdBy: string;
  createdAt: number;
  updatedAt: number;
  params: Tags;
  tags: Tags;
  /** Metrics logged for this model (by its run, with its id). */
  metrics: (MlflowMetric & { runId: string })[];
}

const LOGGED_MODEL_TARGET: FilterTarget = {
  entity: 'logged models',
  attributes: {
    name: { sql: 'm.name', type: 'text' },
    model_id: { sql: 'm.model_id', type: 'text' },
    model_type: { sql: 'm.model_type', type: 'text' },
    status: { sql: 'm.status', type: 'text' },
    source_run_id: { sql: 'm.source_run_id', type: 'text' },
    creation_time: { sql: '(extract(epoch FROM m.created_at) * 1000)', type: 'number' },
    creation_timestamp: { sql: '(extract(epoch FROM m.created_at) * 1000)', type: 'number' },
    last_updated_timestamp: { sql: '(extract(epoch FROM m.updated_at) * 1000)', type: 'number' },
  },
  param: { table: 'mlflow_logged_model_params', join: 'kv.model_id = m.model_id', type: 'text' },
  tag: { table: 'mlflow_logged_model_tags', join: 'kv.model_id = m.model_id', type: 'text' },
};

async function withModelData(pool: Pool, rows: any[]): Promise<LoggedModel[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.model_id as string);
  const [params, tags, metrics] = await Promise.all([
    pool.query('SELECT model_id AS owner, key, value FROM mlflow_logged_model_params WHERE model_id = ANY($1) ORDER BY key', [ids]),
    pool.query('SELECT model_id AS owner, key, value FROM mlflow_logged_model_tags WHERE model_id = ANY($1) ORDER BY key', [ids]),
    pool.query('SELECT * FROM mlflow_logged_model_metrics WHERE model_id = ANY($1) ORDER BY key, step, timestamp', [ids]),
  ]);
  const paramsOf = groupPairs(params.rows);
  const tagsOf = groupPairs(tags.rows);
  const metricsOf = groupBy(metrics.rows, (m) => m.model_id);
  return rows.map((r) => ({
    modelId: r.model_id, experimentId: String(r.experiment_id), name: r.name, modelType: r.model_type, sourceRunId: r.source_run_id,
    status: r.status, lifecycleStage: r.lifecycle_stage, createdBy: r.created_by, createdAt: ms(r.created_at), updatedAt: ms(r.updated_at),
    params: paramsOf.get(r.model_id) ?? {}, tags: tagsOf.get(r.model_id) ?? {},
    metrics: (metricsOf.get(r.model_id) ?? []).map((m) => ({ ...toMetric(m), runId: m.run_id })),
  }));
}

async function upsertPairs(client: PoolClient, table: string, owner: string, id: string, pairs: Tags): Promise<void> {
  for (const [key, value] of Object.entries(pairs)) {
    await client.query(`INSERT INTO ${table} (${owner}, key, value) VALUES ($1, $2, $3) ON CONFLICT (${owner}, key) DO UPDATE SET value = EXCLUDED.value`, [id, key, value]);
  }
}

export async function createLoggedModel(pool: Pool, m: { experimentId: string; name: string; modelType?: string; sourceRunId?: string; params: Tags; tags: Tags; createdBy: string }): Promise<LoggedModel> {
  const modelId = `m-${hex(16)}`;
  await inTransaction(pool, async (client) => {
    const { rows } = await client.query('SELECT lifecycle_stage FROM mlflow_experiments WHERE experiment_id = $1', [experimentKey(m.experimentId) ?? -1]);
    if (rows.length === 0) throw notFound(`experiment ${m.experimentId} does not exist`);
    if (rows[0].lifecycle_stage !== 'active') throw new DomainError('invalid', `experiment ${m.experimentId} is deleted`);
    if (m.sourceRunId) {
      const run = await client.query('SELECT experiment_id FROM mlflow_runs WHERE run_id = $1', [m.sourceRunId]);
      if (run.rows.length === 0) throw notFound(`run ${m.sourceRunId} does not exist`);
      if (String(run.rows[0].experiment_id) !== m.experimentId) throw new DomainError('invalid', `run ${m.sourceRunId} belongs to experiment ${run.rows[0].experiment_id}, not ${m.experimentId}`);
    }
    await client.query(
      `INSERT INTO mlflow_logged_models (model_id, experiment_id, name, model_type, source_run_id, status, created_by) VALUES ($1, $2, $3, $4, $5, 'LOGGED_MODEL_PENDING', $6)`,
      [modelId, m.experimentId, m.name || `model-${modelId.slice(2, 10)}`, m.modelType || null, m.sourceRunId || null, m.createdBy],
    );
    await upsertPairs(client, 'mlflow_logged_model_params', 'model_id', modelId, m.params);
    await upsertPairs(client, 'mlflow_logged_model_tags', 'model_id', modelId, m.tags);
  });
  return (await getLoggedModel(pool, modelId))!;
}

export async function getLoggedModel(pool: Pool, modelId: string): Promise<LoggedModel | undefined> {
  const { rows } = await pool.query('SELECT * FROM mlflow_logged_models WHERE model_id = $1', [modelId]);
  return (await withModelData(pool, rows))[0];
}

export async function finalizeLoggedModel(pool: Pool, modelId: string, status: LoggedModelStatus): Promise<LoggedModel> {
  const { rowCount } = await pool.query('UPDATE mlflow_logged_models SET status = $2, updated_at = now() WHERE model_id = $1', [modelId, status]);
  if (rowCount === 0) throw notFound(`logged model ${modelId} does not exist`);
  return (await getLoggedModel(pool, modelId))!;
}

export async function setLoggedModelLifecycle(pool: Pool, modelId: string, stage: LifecycleStage): Promise<void> {
  const { rowCount } = await pool.query('UPDATE mlflow_logged_models SET lifecycle_stage = $2, updated_at = now() WHERE model_id = $1', [modelId, stage]);
  if (rowCount === 0) throw notFound(`logged model ${modelId} does not exist`);
}

/** Adds or replaces tags (`mlflow_logged_model_tags`) or params (`mlflow_logged_model_params`) of a logged model. */
export async function setLoggedModelPairs(pool: Pool, modelId: string, kind: 'tags' | 'params', pairs: Tags): Promise<void> {
  await inTransaction(pool, async (client) => {
    const { rows } = await client.query('SELECT 1 FROM mlflow_logged_models WHERE model_id = $1 FOR UPDATE', [modelId]);
    if (rows.length === 0) throw notFound(`logged model ${modelId} does not exist`);
    await upsertPairs(client, kind === 'tags' ? 'mlflow_logged_model_tags' : 'mlflow_logged_model_params', 'model_id', modelId, pairs);
    await client.query('UPDATE mlflow_logged_models SET updated_at = now() WHERE model_id = $1', [modelId]);
  });
}

export async function deleteLoggedModelTag(pool: Pool, modelId: string, key: string): Promise<void> {
  if (!(await getLoggedModel(pool, modelId))) throw notFound(`logged model ${modelId} does not exist`);
  await pool.query('DELETE FROM mlflow_logged_model_tags WHERE model_id = $1 AND key = $2', [modelId, key]);
}

export async function searchLoggedModels(pool: Pool, o: SearchOptions & { experimentIds: string[] }): Promise<Page<LoggedModel>> {
  const ids = o.experimentIds.map(experimentKey).filter((id): id is string => id !== undefined);
  const params = new SqlParams([ids]);
  const where = filterSql(LOGGED_MODEL_TARGET, o.clauses, params);
  const order = orderSql(LOGGED_MODEL_TARGET, o.orders, params, 'm.created_at DESC, m.model_id');
  const { rows } = await pool.query(
    `SELECT m.* FROM mlflow_logged_models m WHERE m.experiment_id = ANY($1::bigint[]) AND m.lifecycle_stage = 'active' AND ${where}
     ORDER BY ${order} OFFSET ${params.add(o.offset)} LIMIT ${params.add(o.limit + 1)}`,
    params.values,
  );
  return page(await withModelData(pool, rows), o.limit);
}

// ---- the mlflow-artifacts path index

/** Who an artifact path belongs to: a run or a logged model. */
export type ArtifactOwner = { runId: string } | { modelId: string };

export interface ArtifactEntry {
  path: string;
  digest: string;
  byteSize: number;
}

const ownerColumns = (owner: ArtifactOwner) => ('runId' in owner ? { column: 'run_id', id: owner.runId } : { column: 'model_id', id: owner.modelId });

/** Points a path at stored bytes; uploading to a path again replaces what it pointed at, as MLflow does. */
export async function recordArtifact(pool: Pool, a: ArtifactEntry & { owner: ArtifactOwner; uploadedBy: string }): Promise<void> {
  const owner = ownerColumns(a.owner);
  await pool.query(
    `INSERT INTO mlflow_artifacts (path, ${owner.column}, digest, byte_size, uploaded_by) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (path) DO UPDATE SET digest = EXCLUDED.digest, byte_size = EXCLUDED.byte_size, uploaded_by = EXCLUDED.uploaded_by, uploaded_at = now()`,
    [a.path, owner.id, a.digest, a.byteSize, a.uploadedBy],
  );
}

export async function getArtifact(pool: Pool, path: string): Promise<ArtifactEntry | undefined> {
  const { rows } = await pool.query('SELECT path, digest, byte_size FROM mlflow_artifacts WHERE path = $1', [path]);
  return rows[0] && { path: rows[0].path, digest: rows[0].digest, byteSize: Number(rows[0].byte_size) };
}

/** Every file of an owner under a folder (`prefix`, without a trailing slash). */
export async function listArtifacts(pool: Pool, owner: ArtifactOwner, prefix: string): Promise<ArtifactEntry[]> {
  const o = ownerColumns(owner);
  const { rows } = await pool.query(
    `SELECT path, digest, byte_size FROM mlflow_artifacts WHERE ${o.column} = $1 AND starts_with(path, $2) ORDER BY path`,
    [o.id, `${prefix}/`],
  );
  return rows.map((r) => ({ path: r.path, digest: r.digest, byteSize: Number(r.byte_size) }));
}

/** Removes a file, or every file under a folder; the bytes stay in the artifact store (others may share them). */
export async function deleteArtifacts(pool: Pool, owner: ArtifactOwner, path: string): Promise<number> {
  const o = ownerColumns(owner);
  const { rowCount } = await pool.query(`DELETE FROM mlflow_artifacts WHERE ${o.column} = $1 AND (path = $2 OR starts_with(path, $2 || '/'))`, [o.id, path]);
  return rowCount ?? 0;
}

// ---- registered models, versions, aliases

export interface RegisteredModel {
  name: string;
  description: string;
  createdBy: string;
  createdAt: number;
  updatedAt: number;
  tags: Tags;
  aliases: Record<string, number>;
  latestVersion?: ModelVersionRecord;
}

export interface ModelVersionRecord {
  name: string;
  version: number;
  source: string;
  runId: string | null;
  modelId: string | null;
  /** The mlflow_artifacts folder holding its files; null when they are outside the platform's store. */
  storagePath: string | null;
  description: string;
  status: VersionStatus;
  flavors: string[];
  onnxDigest: string | null;
  platform: {
    state: PlatformState;
    reason: string | null;
    importWorkflowId: string | null;
    /** The platform's version the import registered, once it has (found by the workflow id, its run id). */
    version: { number: number; status: GovernanceStatus } | null;
  };
  createdBy: string;
  createdAt: number;
  updatedAt: number;
  tags: Tags;
  aliases: string[];
}

const REGISTERED_MODEL_TARGET: FilterTarget = {
  entity: 'registered models',
  attributes: {
    name: { sql: 'm.name', type: 'text' },
    creation_timestamp: { sql: '(extract(epoch FROM m.created_at) * 1000)', type: 'number' },
    last_updated_timestamp: { sql: '(extract(epoch FROM m.updated_at) * 1000)', type: 'number' },
    timestamp: { sql: '(extract(epoch FROM m.updated_at) * 1000)', type: 'number' },
  },
  tag: { table: 'mlflow_registered_model_tags', join: 'kv.name = m.name', type: 'text' },
};

const VERSION_TARGET: FilterTarget = {
  entity: 'model versions',
  attributes: {
    name: { sql: 'v.name', type: 'text' },
    version_number: { sql: 'v.version', type: 'number' },
    run_id: { sql: 'v.run_id', type: 'text' },
    source_path: { sql: 'v.source', type: 'text' },
    model_id: { sql: 'v.model_id', type: 'text' },
    status: { sql: 'v.status', type: 'text' },
    creation_timestamp: { sql: '(extract(epoch FROM v.created_at) * 1000)', type: 'number' },
    last_updated_timestamp: { sql: '(extract(epoch FROM v.updated_at) * 1000)', type: 'number' },
  },
  tag: { table: 'mlflow_model_version_tags', join: 'kv.name = v.name AND kv.version = v.version', type: 'text' },
};

// the platform's version an import registered is the one whose run id is the import workflow's id
const VERSION_SELECT = `SELECT v.*, pv.version AS platform_version, pv.status AS platform_status
  FROM mlflow_model_versions v
  LEFT JOIN model_versions pv ON pv.model_name = v.name AND pv.run_id = v.import_workflow_id`;

async function withVersionData(pool: Pool | PoolClient, rows: any[]): Promise<ModelVersionRecord[]> {
  if (rows.length === 0) return [];
  const names = rows.map((r) => r.name as string);
  const numbers = rows.map((r) => r.version as number);
  const [tags, aliases] = await Promise.all([
    pool.query('SELECT name, version, key, value FROM mlflow_model_version_tags WHERE (name, version) IN (SELECT * FROM unnest($1::text[], $2::int[])) ORDER BY key', [names, numbers]),
    pool.query('SELECT name, version, alias FROM mlflow_model_aliases WHERE (name, version) IN (SELECT * FROM unnest($1::text[], $2::int[])) ORDER BY alias', [names, numbers]),
  ]);
  const versionKey = (row: any) => `${row.version}:${row.name}`;
  const tagsOf = groupBy(tags.rows, versionKey);
  const aliasesOf = groupBy(aliases.rows, versionKey);
  return rows.map((r) => ({
    name: r.name, version: r.version, source: r.source, runId: r.run_id, modelId: r.model_id, storagePath: r.storage_path,
    description: r.description, status: r.status, flavors: r.flavors, onnxDigest: r.onnx_digest,
    platform: {
      state: r.platform_state, reason: r.platform_reason, importWorkflowId: r.import_workflow_id,
      version: r.platform_version === null || r.platform_version === undefined ? null : { number: r.platform_version, status: r.platform_status },
    },
    createdBy: r.created_by, createdAt: ms(r.created_at), updatedAt: ms(r.updated_at),
    tags: Object.fromEntries((tagsOf.get(versionKey(r)) ?? []).map((t) => [t.key, t.value])),
    aliases: (aliasesOf.get(versionKey(r)) ?? []).map((a) => a.alias),
  }));
}

async function withModelRegistryData(pool: Pool, rows: any[]): Promise<RegisteredModel[]> {
  if (rows.length === 0) return [];
  const names = rows.map((r) => r.name as string);
  const [tags, aliases, latest] = await Promise.all([
    pool.query('SELECT name AS owner, key, value FROM mlflow_registered_model_tags WHERE name = ANY($1) ORDER BY key', [names]),
    pool.query('SELECT name, alias, version FROM mlflow_model_aliases WHERE name = ANY($1) ORDER BY alias', [names]),
    pool.query(`${VERSION_SELECT} WHERE (v.name, v.version) IN (SELECT name, max(version) FROM mlflow_model_versions WHERE name = ANY($1) GROUP BY name)`, [names]),
  ]);
  const tagsOf = groupPairs(tags.rows);
  const aliasesOf = groupBy(aliases.rows, (a) => a.name);
  const latestOf = new Map((await withVersionData(pool, latest.rows)).map((v) => [v.name, v]));
  return rows.map((r) => ({
    name: r.name, description: r.description, createdBy: r.created_by, createdAt: ms(r.created_at), updatedAt: ms(r.updated_at),
    tags: tagsOf.get(r.name) ?? {},
    aliases: Object.fromEntries((aliasesOf.get(r.name) ?? []).map((a) => [a.alias, a.version])),
    latestVersion: latestOf.get(r.name),
  }));
}

export async function createRegisteredModel(pool: Pool, m: { name: string; description: string; tags: Tags; createdBy: string }): Promise<RegisteredModel> {
  await inTransaction(pool, async (client) => {
    const { rows } = await client.query('INSERT INTO mlflow_registered_models (name, description, created_by) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING RETURNING name', [m.name, m.description, m.createdBy]);
    if (rows.length === 0) throw new DomainError('conflict', `registered model "${m.name}" already exists`);
    await upsertPairs(client, 'mlflow_registered_model_tags', 'name', m.name, m.tags);
  });
  return (await getRegisteredModel(pool, m.name))!;
}

export async function getRegisteredModel(pool: Pool, name: string): Promise<RegisteredModel | undefined> {
  const { rows } = await pool.query('SELECT * FROM mlflow_registered_models WHERE name = $1', [name]);
  return (await withModelRegistryData(pool, rows))[0];
}

export async function searchRegisteredModels(pool: Pool, o: SearchOptions): Promise<Page<RegisteredModel>> {
  const params = new SqlParams();
  const where = filterSql(REGISTERED_MODEL_TARGET, o.clauses, params);
  const order = orderSql(REGISTERED_MODEL_TARGET, o.orders, params, 'm.name');
  const { rows } = await pool.query(`SELECT m.* FROM mlflow_registered_models m WHERE ${where} ORDER BY ${order} OFFSET ${params.add(o.offset)} LIMIT ${params.add(o.limit + 1)}`, params.values);
  return page(await withModelRegistryData(pool, rows), o.limit);
}

export async function updateRegisteredModel(pool: Pool, name: string, description: string): Promise<RegisteredModel> {
  const { rowCount } = await pool.query('UPDATE mlflow_registered_models SET description = $2, updated_at = now() WHERE name = $1', [name, description]);
  if (rowCount === 0) throw notFound(`registered model "${name}" does not exist`);
  return (await getRegisteredModel(pool, name))!;
}

/** Deletes MLflow's record of a model and its versions; versions the platform imported stay the platform's. */
export async function deleteRegisteredModel(pool: Pool, name: string): Promise<void> {
  const { rowCount } = await pool.query('DELETE FROM mlflow_registered_models WHERE name = $1', [name]);
  if (rowCount === 0) throw notFound(`registered model "${name}" does not exist`);
}

export async function setRegisteredModelTag(pool: Pool, name: string, key: string, value: string | null): Promise<void> {
  if (!(await pool.query('SELECT 1 FROM mlflow_registered_models WHERE name = $1', [name])).rows.length) throw notFound(`registered model "${name}" does not exist`);
  if (value === null) await pool.query('DELETE FROM mlflow_registered_model_tags WHERE name = $1 AND key = $2', [name, key]);
  else await pool.query('INSERT INTO mlflow_registered_model_tags (name, key, value) VALUES ($1, $2, $3) ON CONFLICT (name, key) DO UPDATE SET value = EXCLUDED.value', [name, key, value]);
}

export interface NewModelVersionRecord {
  name: string;
  source: string;
  runId: string | null;
  modelId: string | null;
  storagePath: string | null;
  description: string;
  tags: Tags;
  status: VersionStatus;
  flavors: string[];
  onnxDigest: string | null;
  platformState: PlatformState;
  platformReason: string | null;
  createdBy: string;
}

/**
 * Adds a version with the next number of its registered model: the counter is bumped in the statement
 * that inserts the version, so concurrent registrations queue on the model's row and numbers have no gaps.
 */
export async function createModelVersion(pool: Pool, v: NewModelVersionRecord): Promise<ModelVersionRecord> {
  const version = await inTransaction(pool, async (client) => {
    const { rows } = await client.query(
      `WITH bumped AS (
          UPDATE mlflow_registered_models SET last_version = last_version + 1, updated_at = now() WHERE name = $1 RETURNING last_version
       )
       INSERT INTO mlflow_model_versions (name, version, source, run_id, model_id, storage_path, description, status, flavors, onnx_digest, platform_state, platform_reason, created_by)
       SELECT $1, last_version, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 FROM bumped
       RETURNING version`,
      [v.name, v.source, v.runId, v.modelId, v.storagePath, v.description, v.status, v.flavors, v.onnxDigest, v.platformState, v.platformReason, v.createdBy],
    );
    if (rows.length === 0) throw notFound(`registered model "${v.name}" does not exist`);
    for (const [key, value] of Object.entries(v.tags)) {
      await client.query('INSERT INTO mlflow_model_version_tags (name, version, key, value) VALUES ($1, $2, $3, $4) ON CONFLICT (name, version, key) DO UPDATE SET value = EXCLUDED.value', [v.name, rows[0].version, key, value]);
    }
    return rows[0].version as number;
  });
  return (await getModelVersion(pool, v.name, version))!;
}

/** Records how the hand-over to the import workflow went: its workflow id, or why it failed. */
export async function settleModelVersionImport(pool: Pool, name: string, version: number, s: { status: VersionStatus; state: PlatformState; reason: string | null; workflowId: string | null }): Promise<ModelVersionRecord> {
  await pool.query(
    `UPDATE mlflow_model_versions SET status = $3, platform_state = $4, platform_reason = $5, import_workflow_id = $6, updated_at = now() WHERE name = $1 AND version = $2`,
    [name, version, s.status, s.state, s.reason, s.workflowId],
  );
  return (await getModelVersion(pool, name, version))!;
}

export async function getModelVersion(pool: Pool, name: string, version: number): Promise<ModelVersionRecord | undefined> {
  const { rows } = await pool.query(`${VERSION_SELECT} WHERE v.name = $1 AND v.version = $2`, [name, version]);
  return (await withVersionData(pool, rows))[0];
}

export async function searchModelVersions(pool: Pool, o: SearchOptions): Promise<Page<ModelVersionRecord>> {
  const params = new SqlParams();
  const where = filterSql(VERSION_TARGET, o.clauses, params);
  const order = orderSql(VERSION_TARGET, o.orders, params, 'v.name, v.version DESC');
  const { rows } = await pool.query(`${VERSION_SELECT} WHERE ${where} ORDER BY ${order} OFFSET ${params.add(o.offset)} LIMIT ${params.add(o.limit + 1)}`, params.values);
  return page(await withVersionData(pool, rows), o.limit);
}

export async function updateModelVersion(pool: Pool, name: string, version: number, description: string): Promise<ModelVersionRecord> {
  const { rowCount } = await pool.query('UPDATE mlflow_model_versions SET description = $3, updated_at = now() WHERE name = $1 AND version = $2', [name, version, description]);
  if (rowCount === 0) throw notFound(`registered model "${name}" has no version ${version}`);
  return (await getModelVersion(pool, name, version))!;
}

export async function deleteModelVersion(pool: Pool, name: string, version: number): Promise<void> {
  const { rowCount } = await pool.query('DELETE FROM mlflow_model_versions WHERE name = $1 AND version = $2', [name, version]);
  if (rowCount === 0) throw notFound(`registered model "${name}" has no version ${version}`);
}

export async function setModelVersionTag(pool: Pool, name: string, version: number, key: string, value: string | null): Promise<void> {
  if (!(await pool.query('SELECT 1 FROM mlflow_model_versions WHERE name = $1 AND version = $2', [name, version])).rows.length) {
    throw notFound(`registered model "${name}" has no version ${version}`);
  }
  if (value === null) await pool.query('DELETE FROM mlflow_model_version_tags WHERE name = $1 AND version = $2 AND key = $3', [name, version, key]);
  else await pool.query('INSERT INTO mlflow_model_version_tags (name, version, key, value) VALUES ($1, $2, $3, $4) ON CONFLICT (name, version, key) DO UPDATE SET value = EXCLUDED.value', [name, version, key, value]);
}

/** The highest version of a registered model, if it has any. */
export async function latestModelVersion(pool: Pool, name: string): Promise<ModelVersionRecord | undefined> {
  const { rows } = await pool.query(`${VERSION_SELECT} WHERE v.name = $1 ORDER BY v.version DESC LIMIT 1`, [name]);
  return (await withVersionData(pool, rows))[0];
}

export async function setModelAlias(pool: Pool, name: string, alias: string, version: number): Promise<void> {
  if (!(await getModelVersion(pool, name, version))) throw notFound(`registered model "${name}" has no version ${version}`);
  await pool.query(
    `INSERT INTO mlflow_model_aliases (name, alias, version) VALUES ($1, $2, $3) ON CONFLICT (name, alias) DO UPDATE SET version = EXCLUDED.version, updated_at = now()`,
    [name, alias, version],
  );
}

export async function deleteModelAlias(pool: Pool, name: string, alias: string): Promise<void> {
  const { rowCount } = await pool.query('DELETE FROM mlflow_model_aliases WHERE name = $1 AND alias = $2', [name, alias]);
  if (rowCount === 0) throw notFound(`registered model "${name}" has no alias "${alias}"`);
}

export async function getVersionByAlias(pool: Pool, name: string, alias: string): Promise<ModelVersionRecord | undefined> {
  const { rows } = await pool.query(`${VERSION_SELECT} JOIN mlflow_model_aliases a ON a.name = v.name AND a.version = v.version WHERE a.name = $1 AND a.alias = $2`, [name, alias]);
  return (await withVersionData(pool, rows))[0];
}
