/**
 * Model registry: registered models, immutable numbered versions, and aliases as the only mutable
 * pointers (one version per alias per model). Writes are keyed by natural keys (the pipeline's run id,
 * a deployment key) so a retried activity finds its earlier work instead of repeating it.
 */
import { Pool } from 'pg';
import type { DataSchema } from '../ml/schema';
import type { Task } from '../ml/task';

export type VersionStatus = 'pending_approval' | 'approved' | 'rejected' | 'deployed' | 'archived';

export const PRODUCTION_ALIAS = 'production';
/** Channel on which deployments are announced to API replicas. */
export const DEPLOYMENTS_CHANNEL = 'mlops_deployments';

export interface ModelSignature {
  /** binary, multiclass or regression; absent on versions registered before the task was recorded (binary). */
  task?: Task;
  /** Raw feature names a request sends: numeric ones (the `numeric` input, in this order), then text ones. */
  features: string[];
  /** Numeric features, in the column order of the ONNX `numeric` input; absent on old versions (= features). */
  numeric?: string[];
  /** Text features, one-hot encoded in the graph; the i-th feeds ONNX input `categorical_<i>`. */
  categorical?: string[];
  /** Class labels, in the column order of the ONNX output tensor; empty for regression. */
  classes: string[];
  /** ONNX input name of versions registered before text features existed. */
  input?: string;
  output: string;
  /**
   * Columns of the training data the model does not use (the target, ignored text columns).
   * Predict accepts and ignores them, so a row copied from the dataset can be sent as it is.
   */
  unused?: string[];
}

export interface ModelVersion {
  modelName: string;
  version: number;
  runId: string;
  onnxDigest: string;
  signature: ModelSignature;
  metrics: Record<string, unknown>;
  params: Record<string, unknown>;
  datasetId: string;
  codeVersion: string | null;
  status: VersionStatus;
  createdAt: string;
}

export type NewModelVersion = Omit<ModelVersion, 'version' | 'status' | 'createdAt' | 'codeVersion'> & { codeVersion?: string };

function toVersion(r: any): ModelVersion {
  return {
    modelName: r.model_name,
    version: r.version,
    runId: r.run_id,
    onnxDigest: r.onnx_digest,
    signature: r.signature,
    metrics: r.metrics,
    params: r.params,
    datasetId: r.dataset_id,
    codeVersion: r.code_version,
    status: r.status,
    createdAt: new Date(r.created_at).toISOString(),
  };
}

const UNIQUE_VIOLATION = '23505';

/**
 * Registers a version as pending approval. A second call for the same run returns the version the
 * first one created. Concurrent runs of one model race for the next number; the loser retries.
 */
export async function registerVersion(pool: Pool, v: NewModelVersion): Promise<ModelVersion> {
  await pool.query('INSERT INTO registered_models (name) VALUES ($1) ON CONFLICT DO NOTHING', [v.modelName]);
  for (let attempt = 0; ; attempt++) {
    try {
      const { rows } = await pool.query(
        `INSERT INTO model_versions (model_name, version, run_id, onnx_digest, signature, metrics, params, dataset_id, code_version, status)
         SELECT $1, COALESCE(MAX(version), 0) + 1, $2, $3, $4, $5, $6, $7, $8, 'pending_approval'
           FROM model_versions WHERE model_name = $1
         ON CONFLICT (model_name, run_id) DO UPDATE SET run_id = EXCLUDED.run_id
         RETURNING *`,
        [v.modelName, v.runId, v.onnxDigest, JSON.stringify(v.signature), JSON.stringify(v.metrics), JSON.stringify(v.params), v.datasetId, v.codeVersion ?? null],
      );
      return toVersion(rows[0]);
    } catch (err) {
      if ((err as { code?: string }).code !== UNIQUE_VIOLATION || attempt >= 5) throw err;
    }
  }
}

export async function getVersion(pool: Pool, modelName: string, version: number): Promise<ModelVersion | undefined> {
  const { rows } = await pool.query('SELECT * FROM model_versions WHERE model_name = $1 AND version = $2', [modelName, version]);
  return rows[0] && toVersion(rows[0]);
}

export async function listVersions(pool: Pool, modelName: string): Promise<ModelVersion[]> {
  const { rows } = await pool.query('SELECT * FROM model_versions WHERE model_name = $1 ORDER BY version', [modelName]);
  return rows.map(toVersion);
}

/** The version the alias points at, if any. */
export async function getAliasVersion(pool: Pool, modelName: string, alias: string): Promise<ModelVersion | undefined> {
  const { rows } = await pool.query(
    `SELECT v.* FROM model_aliases a JOIN model_versions v ON v.model_name = a.model_name AND v.version = a.version
      WHERE a.model_name = $1 AND a.alias = $2`,
    [modelName, alias],
  );
  return rows[0] && toVersion(rows[0]);
}

/** Moves a version to approved or rejected; only a version still pending approval moves. */
export async function decideVersion(pool: Pool, modelName: string, version: number, status: 'approved' | 'rejected'): Promise<void> {
  await pool.query(
    `UPDATE model_versions SET status = $3 WHERE model_name = $1 AND version = $2 AND status = 'pending_approval'`,
    [modelName, version, status],
  );
}

export interface Deployment {
  id: number;
  deployKey: string;
  modelName: string;
  version: number;
  previousVersion: number | null;
  strategy: string;
  createdAt: string;
}

function toDeployment(r: any): Deployment {
  return {
    id: Number(r.id),
    deployKey: r.deploy_key,
    modelName: r.model_name,
    version: r.version,
    previousVersion: r.previous_version,
    strategy: r.strategy,
    createdAt: new Date(r.created_at).toISOString(),
  };
}

/**
 * Deploys an approved version: records the deployment under `deployKey`, points `production` at it,
 * marks it deployed and the version it replaces archived, and notifies API replicas — all in one
 * statement, so it happens entirely or not at all. Repeating it with the same key changes nothing.
 */
export async function deployVersion(pool: Pool, modelName: string, version: number, deployKey: string): Promise<Deployment> {
  const current = await getVersion(pool, modelName, version);
  if (!current) throw new Error(`model ${modelName} has no version ${version}`);
  if (current.status !== 'approved' && current.status !== 'deployed') {
    throw new Error(`model ${modelName} version ${version} is ${current.status}; only approved versions can take the production alias`);
  }
  await pool.query(
    `WITH previous AS (
        SELECT version FROM model_aliases WHERE model_name = $1 AND alias = '${PRODUCTION_ALIAS}'
     ), fresh AS (
        INSERT INTO deployments (deploy_key, model_name, version, previous_version)
        VALUES ($3, $1, $2, (SELECT version FROM previous))
        ON CONFLICT (deploy_key) DO NOTHING
        RETURNING id
     ), moved AS (
        INSERT INTO model_aliases (model_name, alias, version) SELECT $1, '${PRODUCTION_ALIAS}', $2 WHERE EXISTS (SELECT 1 FROM fresh)
        ON CONFLICT (model_name, alias) DO UPDATE SET version = EXCLUDED.version, updated_at = now()
        RETURNING version
     ), statuses AS (
        UPDATE model_versions SET status = CASE WHEN version = $2 THEN 'deployed' ELSE 'archived' END
         WHERE EXISTS (SELECT 1 FROM fresh) AND model_name = $1
           AND (version = $2 OR version IN (SELECT version FROM previous WHERE version <> $2))
        RETURNING version
     )
     SELECT pg_notify('${DEPLOYMENTS_CHANNEL}', json_build_object('model', $1::text, 'version', $2::int)::text)
       FROM fresh`,
    [modelName, version, deployKey],
  );
  const { rows } = await pool.query('SELECT * FROM deployments WHERE deploy_key = $1', [deployKey]);
  return toDeployment(rows[0]);
}

export async function listDeployments(pool: Pool, modelName: string): Promise<Deployment[]> {
  const { rows } = await pool.query('SELECT * FROM deployments WHERE model_name = $1 ORDER BY id', [modelName]);
  return rows.map(toDeployment);
}

export interface ModelSummary {
  name: string;
  createdAt: string;
  latestVersion: number | null;
  productionVersion: number | null;
  versionCount: number;
}

export async function listModels(pool: Pool): Promise<ModelSummary[]> {
  const { rows } = await pool.query(
    `SELECT m.name, m.created_at,
            (SELECT MAX(version) FROM model_versions v WHERE v.model_name = m.name) AS latest,
            (SELECT COUNT(*) FROM model_versions v WHERE v.model_name = m.name) AS count,
            (SELECT version FROM model_aliases a WHERE a.model_name = m.name AND a.alias = '${PRODUCTION_ALIAS}') AS production
       FROM registered_models m ORDER BY m.name`,
  );
  return rows.map((r) => ({
    name: r.name,
    createdAt: new Date(r.created_at).toISOString(),
    latestVersion: r.latest ?? null,
    productionVersion: r.production ?? null,
    versionCount: Number(r.count),
  }));
}

/** Every production alias, for serving replicas that refresh their routing table. */
export async function listProductionVersions(pool: Pool): Promise<{ modelName: string; version: number; onnxDigest: string; signature: ModelSignature }[]> {
  const { rows } = await pool.query(
    `SELECT v.model_name, v.version, v.onnx_digest, v.signature FROM model_aliases a
       JOIN model_versions v ON v.model_name = a.model_name AND v.version = a.version
      WHERE a.alias = '${PRODUCTION_ALIAS}'`,
  );
  return rows.map((r) => ({ modelName: r.model_name, version: r.version, onnxDigest: r.onnx_digest, signature: r.signature }));
}

/** Appends an audit event once per key. */
export async function recordAudit(pool: Pool, e: { key?: string; actor: string; action: string; subject: string; details?: unknown }): Promise<void> {
  await pool.query(
    `INSERT INTO audit_events (event_key, actor, action, subject, details) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (event_key) DO NOTHING`,
    [e.key ?? null, e.actor, e.action, e.subject, JSON.stringify(e.details ?? {})],
  );
}

/** The data schema kept with a model (inferred from its first registered version's dataset). */
export async function getModelSchema(pool: Pool, modelName: string): Promise<DataSchema | undefined> {
  const { rows } = await pool.query('SELECT schema FROM registered_models WHERE name = $1', [modelName]);
  return rows[0]?.schema ?? undefined;
}

/** Keeps the schema unless the model already has one: the first registered version defines it. */
export async function setModelSchemaOnce(pool: Pool, modelName: string, schema: DataSchema): Promise<void> {
  await pool.query('UPDATE registered_models SET schema = $2 WHERE name = $1 AND schema IS NULL', [modelName, JSON.stringify(schema)]);
}
