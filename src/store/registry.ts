/**
 * Model registry: registered models, immutable numbered versions, and aliases as the only mutable
 * pointers (one version per alias per model). Writes are keyed by natural keys (the pipeline's run id,
 * a deployment key) so a retried activity finds its earlier work instead of repeating it.
 */
import { Pool } from 'pg';
import { DomainError } from '../domain/errors';
import {
  DEPLOYABLE_STATUS, Deployment, DeploymentStrategy, GOVERNANCE_TRANSITIONS, GovernanceStatus, ModelSignature, ModelVersion, NewModelVersion,
  PRODUCTION_ALIAS, VersionEvent,
} from '../domain/model-version';
import type { DataSchema } from '../ml/schema';
import { appendAudit, NewAuditEvent } from './audit';

/** Channel on which deployments are announced to API replicas. */
export const DEPLOYMENTS_CHANNEL = 'mlops_deployments';

/**
 * A version's columns and its deployment state, derived where it is read: production holds the alias,
 * a running rollout's candidate is rolling out, a version deployed before and no longer is retired.
 */
const VERSION_COLUMNS = `v.*,
  CASE WHEN EXISTS (SELECT 1 FROM model_aliases a WHERE a.model_name = v.model_name AND a.alias = '${PRODUCTION_ALIAS}' AND a.version = v.version) THEN 'production'
       WHEN EXISTS (SELECT 1 FROM rollouts r WHERE r.model_name = v.model_name AND r.version = v.version AND r.state = 'running') THEN 'rolling_out'
       WHEN EXISTS (SELECT 1 FROM deployments d WHERE d.model_name = v.model_name AND d.version = v.version) THEN 'retired'
       ELSE 'none' END AS deployment`;

function toVersion(r: any): ModelVersion {
  return {
    modelName: r.model_name,
    version: r.version,
    runId: r.run_id,
    onnxDigest: r.onnx_digest,
    signature: r.signature,
    metrics: r.metrics,
    params: r.params,
    artifacts: { onnx: r.onnx_digest, referenceProfile: r.reference_digest, smokeSet: r.smoke_digest, evaluation: r.evaluation_digest },
    recipe: r.recipe,
    pipelineInput: r.pipeline_input,
    trigger: r.trigger,
    datasetId: r.dataset_id,
    codeVersion: r.code_version,
    status: r.status,
    deployment: r.deployment ?? 'none',
    createdAt: new Date(r.created_at).toISOString(),
  };
}

/** Thrown when a registry change is not allowed (wrong status, no such version, nothing to roll back to). */
export class RegistryError extends DomainError {
  constructor(override readonly code: 'not_found' | 'conflict', message: string) {
    super(code, message);
  }
}

const UNIQUE_VIOLATION = '23505';

/**
 * Registers a version as pending approval, numbered one past the model's last number. The number is
 * bumped in the same statement that inserts the version, so concurrent runs queue on the model's row
 * and get consecutive numbers, and a failed insert gives its number back: no gaps. A second call for
 * the same run returns the version the first one created.
 */
export async function registerVersion(pool: Pool, v: NewModelVersion, actor = 'system'): Promise<ModelVersion> {
  await pool.query('INSERT INTO registered_models (name) VALUES ($1) ON CONFLICT DO NOTHING', [v.modelName]);
  const json = (value: unknown) => (value === undefined ? null : JSON.stringify(value));
  for (let attempt = 0; ; attempt++) {
    try {
      const { rows } = await pool.query(
        `WITH existing AS (
            SELECT * FROM model_versions WHERE model_name = $1 AND run_id = $2
         ), bumped AS (
            UPDATE registered_models SET last_version = last_version + 1
             WHERE name = $1 AND NOT EXISTS (SELECT 1 FROM existing)
            RETURNING last_version
         ), inserted AS (
            INSERT INTO model_versions (model_name, version, run_id, onnx_digest, signature, metrics, params, dataset_id, code_version, status,
                                        reference_digest, smoke_digest, evaluation_digest, recipe, pipeline_input, trigger)
            SELECT $1, last_version, $2, $3, $4, $5, $6, $7, $8, 'pending_approval', $10, $11, $12, $13, $14, $15 FROM bumped
            RETURNING *
         ), event AS (
            INSERT INTO model_version_events (model_name, version, event, to_status, actor)
            SELECT $1, version, 'registered', 'pending_approval', $9 FROM inserted
         )
         SELECT * FROM inserted UNION ALL SELECT * FROM existing`,
        [
          v.modelName, v.runId, v.onnxDigest, JSON.stringify(v.signature), JSON.stringify(v.metrics), JSON.stringify(v.params), v.datasetId, v.codeVersion ?? null, actor,
          v.artifacts?.referenceProfile ?? null, v.artifacts?.smokeSet ?? null, v.artifacts?.evaluation ?? null, json(v.recipe), json(v.pipelineInput), json(v.trigger),
        ],
      );
      return toVersion(rows[0]);
    } catch (err) {
      // the same run registering twice at once: the loser's statement is undone whole; it finds the winner's
      if ((err as { code?: string }).code !== UNIQUE_VIOLATION || attempt >= 5) throw err;
    }
  }
}

export async function getVersion(pool: Pool, modelName: string, version: number): Promise<ModelVersion | undefined> {
  const { rows } = await pool.query(`SELECT ${VERSION_COLUMNS} FROM model_versions v WHERE v.model_name = $1 AND v.version = $2`, [modelName, version]);
  return rows[0] && toVersion(rows[0]);
}

export async function listVersions(pool: Pool, modelName: string): Promise<ModelVersion[]> {
  const { rows } = await pool.query(`SELECT ${VERSION_COLUMNS} FROM model_versions v WHERE v.model_name = $1 ORDER BY v.version`, [modelName]);
  return rows.map(toVersion);
}

/** The version the alias points at, if any. */
export async function getAliasVersion(pool: Pool, modelName: string, alias: string): Promise<ModelVersion | undefined> {
  const { rows } = await pool.query(
    `SELECT ${VERSION_COLUMNS} FROM model_aliases al JOIN model_versions v ON v.model_name = al.model_name AND v.version = al.version
      WHERE al.model_name = $1 AND al.alias = $2`,
    [modelName, alias],
  );
  return rows[0] && toVersion(rows[0]);
}

/**
 * Moves a version's governance status along one edge of GOVERNANCE_TRANSITIONS, recording who and why.
 * The move is a compare-and-set on the status the caller saw (`from`), so two deciders cannot both
 * win; repeating a move already made changes nothing. An edge not in the table, or a version in
 * another status, is a conflict. (The database's trigger refuses the same edges to any other writer.)
 */
export async function transitionVersion(pool: Pool, modelName: string, version: number, to: GovernanceStatus, o: { actor?: string; reason?: string } = {}): Promise<ModelVersion> {
  const current = await getVersion(pool, modelName, version);
  if (!current) throw new RegistryError('not_found', `model "${modelName}" has no version ${version}`);
  if (current.status === to) return current;
  if (!GOVERNANCE_TRANSITIONS[current.status].includes(to)) {
    const allowed = GOVERNANCE_TRANSITIONS[current.status];
    throw new RegistryError('conflict', `version ${version} of "${modelName}" is ${current.status}: it ${allowed.length ? `may move only to ${allowed.join(' or ')}` : 'may not move'}, not to ${to}`);
  }
  if (to === 'archived' && (current.deployment === 'production' || current.deployment === 'rolling_out')) {
    throw new RegistryError('conflict', `version ${version} of "${modelName}" is ${current.deployment === 'production' ? 'in production' : 'rolling out'}; deploy or roll back to another version before archiving it`);
  }
  const { rowCount } = await pool.query(
    `WITH moved AS (
        UPDATE model_versions SET status = $4 WHERE model_name = $1 AND version = $2 AND status = $3
        RETURNING version
     )
     INSERT INTO model_version_events (model_name, version, event, from_status, to_status, actor, reason)
     SELECT $1, version, $4, $3, $4, $5, $6 FROM moved`,
    [modelName, version, current.status, to, o.actor ?? 'system', o.reason ?? null],
  );
  if (rowCount === 0) return transitionVersion(pool, modelName, version, to, o); // another writer moved it first: judge again
  return (await getVersion(pool, modelName, version))!;
}

function toDeployment(r: any): Deployment {
  return {
    id: Number(r.id),
    deployKey: r.deploy_key,
    modelName: r.model_name,
    version: r.version,
    previousVersion: r.previous_version,
    strategy: r.strategy,
    actor: r.actor,
    reason: r.reason,
    createdAt: new Date(r.created_at).toISOString(),
  };
}

export interface DeployOptions {
  actor?: string;
  reason?: string;
  strategy?: DeploymentStrategy;
}

/**
 * Deploys an approved version: records the deployment under `deployKey`, points `production` at it,
 * records the move in the version's history, and notifies API replicas — all in one statement, so it
 * happens entirely or not at all. Governance status does not change: deployment is derived from the
 * alias. Repeating it with the same key changes nothing and returns the first deployment.
 */
export async function deployVersion(pool: Pool, modelName: string, version: number, deployKey: string, o: DeployOptions = {}): Promise<Deployment> {
  const earlier = await getDeployment(pool, deployKey);
  if (earlier) return earlier;
  const target = await getVersion(pool, modelName, version);
  if (!target) throw new RegistryError('not_found', `model "${modelName}" has no version ${version}`);
  if (target.status !== DEPLOYABLE_STATUS) {
    throw new RegistryError('conflict', `model ${modelName} version ${version} is ${target.status}; only approved versions can take the production alias`);
  }
  await pool.query(
    `WITH fresh AS (
        INSERT INTO deployments (deploy_key, model_name, version, previous_version, strategy, actor, reason)
        SELECT $3, $1, $2, (SELECT version FROM model_aliases WHERE model_name = $1 AND alias = '${PRODUCTION_ALIAS}'), $4, $5, $6
          FROM model_versions WHERE model_name = $1 AND version = $2 AND status = '${DEPLOYABLE_STATUS}'
        ON CONFLICT (deploy_key) DO NOTHING
        RETURNING id, previous_version
     ), moved AS (
        INSERT INTO model_aliases (model_name, alias, version) SELECT $1, '${PRODUCTION_ALIAS}', $2 FROM fresh
        ON CONFLICT (model_name, alias) DO UPDATE SET version = EXCLUDED.version, updated_at = now()
        RETURNING version
     ), events AS (
        INSERT INTO model_version_events (model_name, version, event, alias, actor, reason)
        SELECT $1, $2, 'deployed', '${PRODUCTION_ALIAS}', $5, $6 FROM fresh
        UNION ALL
        SELECT $1, previous_version, 'retired', '${PRODUCTION_ALIAS}', $5, $6 FROM fresh WHERE previous_version IS NOT NULL AND previous_version <> $2
     )
     SELECT pg_notify('${DEPLOYMENTS_CHANNEL}', json_build_object('model', $1::text, 'version', $2::int)::text)
       FROM fresh`,
    [modelName, version, deployKey, o.strategy ?? 'direct', o.actor ?? 'system', o.reason ?? null],
  );
  const deployment = await getDeployment(pool, deployKey);
  // archived between the check and the statement: nothing was written
  if (!deployment) throw new RegistryError('conflict', `model ${modelName} version ${version} is no longer approved; it was not deployed`);
  return deployment;
}

async function getDeployment(pool: Pool, deployKey: string): Promise<Deployment | undefined> {
  const { rows } = await pool.query('SELECT * FROM deployments WHERE deploy_key = $1', [deployKey]);
  return rows[0] && toDeployment(rows[0]);
}

/**
 * Moves production back: to `toVersion` if given, else to the version production held before the
 * current one took it. Recorded as a deployment with strategy `rollback`; idempotent per key.
 */
export async function rollbackProduction(pool: Pool, modelName: string, deployKey: string, o: { toVersion?: number; actor?: string; reason?: string } = {}): Promise<Deployment> {
  const earlier = await getDeployment(pool, deployKey);
  if (earlier) return earlier;
  const current = await getAliasVersion(pool, modelName, PRODUCTION_ALIAS);
  if (!current) throw new RegistryError((await listVersions(pool, modelName)).length ? 'conflict' : 'not_found', `model "${modelName}" has no production version to roll back from`);
  let target = o.toVersion;
  if (target === undefined) {
    const { rows } = await pool.query(
      'SELECT previous_version FROM deployments WHERE model_name = $1 AND version = $2 ORDER BY id DESC LIMIT 1',
      [modelName, current.version],
    );
    target = rows[0]?.previous_version ?? undefined;
    if (target === undefined || target === current.version) {
      throw new RegistryError('conflict', `version ${current.version} of "${modelName}" was its first production version: there is nothing to roll back to`);
    }
  }
  if (target === current.version) throw new RegistryError('conflict', `version ${target} of "${modelName}" is already in production`);
  return deployVersion(pool, modelName, target, deployKey, { strategy: 'rollback', actor: o.actor, reason: o.reason ?? `rollback from version ${current.version}` });
}

/** Names an alias may take: lower-case words such as champion, challenger, staging. */
export const ALIAS_NAME = /^[a-z][a-z0-9_-]{0,62}$/;

/**
 * Points a non-production alias at a version and records it; `production` goes through
 * deployVersion, since it changes what is served.
 */
export async function setAlias(pool: Pool, modelName: string, alias: string, version: number, o: { actor?: string; reason?: string } = {}): Promise<void> {
  if (alias === PRODUCTION_ALIAS) throw new RegistryError('conflict', 'the production alias moves by deployment (deployVersion)');
  if (!ALIAS_NAME.test(alias)) throw new RegistryError('conflict', `"${alias}" is not a valid alias name (lower-case letters, digits, - and _)`);
  const target = await getVersion(pool, modelName, version);
  if (!target) throw new RegistryError('not_found', `model "${modelName}" has no version ${version}`);
  await pool.query(
    `WITH moved AS (
        INSERT INTO model_aliases (model_name, alias, version) VALUES ($1, $2, $3)
        ON CONFLICT (model_name, alias) DO UPDATE SET version = EXCLUDED.version, updated_at = now()
        RETURNING version
     )
     INSERT INTO model_version_events (model_name, version, event, alias, actor, reason)
     SELECT $1, version, 'alias_set', $2, $4, $5 FROM moved`,
    [modelName, alias, version, o.actor ?? 'system', o.reason ?? null],
  );
}

/** Every alias of a model and the version it points at. */
export async function listAliases(pool: Pool, modelName: string): Promise<Record<string, number>> {
  const { rows } = await pool.query('SELECT alias, version FROM model_aliases WHERE model_name = $1 ORDER BY alias', [modelName]);
  return Object.fromEntries(rows.map((r) => [r.alias, r.version]));
}

/** The history of a model (or one of its versions), oldest first. */
export async function listVersionEvents(pool: Pool, modelName: string, version?: number): Promise<VersionEvent[]> {
  const { rows } = await pool.query(
    `SELECT * FROM model_version_events WHERE model_name = $1 AND ($2::int IS NULL OR version = $2) ORDER BY id`,
    [modelName, version ?? null],
  );
  return rows.map((r) => ({ version: r.version, event: r.event, fromStatus: r.from_status, toStatus: r.to_status, alias: r.alias, actor: r.actor, reason: r.reason, at: new Date(r.at).toISOString() }));
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

/** What a serving replica needs of a version: the file, the signature, and its smoke-test sample. */
export interface ServableVersion {
  modelName: string;
  version: number;
  onnxDigest: string;
  signature: ModelSignature;
  smokeDigest: string | null;
}

const servable = (r: any): ServableVersion => ({ modelName: r.model_name, version: r.version, onnxDigest: r.onnx_digest, signature: r.signature, smokeDigest: r.smoke_digest ?? null });

/** Every production alias, for serving replicas that refresh their routing table. */
export async function listProductionVersions(pool: Pool): Promise<ServableVersion[]> {
  const { rows } = await pool.query(
    `SELECT v.model_name, v.version, v.onnx_digest, v.signature, v.smoke_digest FROM model_aliases a
       JOIN model_versions v ON v.model_name = a.model_name AND v.version = a.version
      WHERE a.alias = '${PRODUCTION_ALIAS}'`,
  );
  return rows.map(servable);
}

export async function getServableVersion(pool: Pool, modelName: string, version: number): Promise<ServableVersion | undefined> {
  const { rows } = await pool.query(
    `SELECT model_name, version, onnx_digest, signature, smoke_digest FROM model_versions WHERE model_name = $1 AND version = $2`,
    [modelName, version],
  );
  return rows[0] && servable(rows[0]);
}

/**
 * Appends an audit event once per key, to the hash chain of audit.ts (the log is append-only and
 * tamper-evident; `verifyAuditChain` checks it).
 */
export async function recordAudit(pool: Pool, e: NewAuditEvent): Promise<void> {
  await appendAudit(pool, e);
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

export async function modelExists(pool: Pool, modelName: string): Promise<boolean> {
  const { rows } = await pool.query('SELECT 1 FROM registered_models WHERE name = $1', [modelName]);
  return rows.length > 0;
}
