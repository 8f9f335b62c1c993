/**
 * The lineage graph, read from the registry's own tables: dataset version -> training run -> model
 * version -> deployments -> prediction counts, navigable from either end.
 */
import { Pool } from 'pg';
import { DatasetVersion, getDataset, listChildDatasets } from './datasets';
import * as registry from './registry';
import { getRun, TrainingRun } from './runs';
import type { Deployment, DeploymentState, GovernanceStatus, VersionEvent } from '../domain/model-version';

export interface PredictionCount {
  predictions: number;
  requests: number;
  lastAt: string | null;
}

export interface VersionLineage {
  model: string;
  version: number;
  status: GovernanceStatus;
  deployment: DeploymentState;
  onnxDigest: string;
  codeVersion: string | null;
  createdAt: string;
  /** Upstream: the data (and the version of the same source before it) and the run that trained it. */
  /** null for a model imported without evaluation data. */
  dataset: Omit<DatasetVersion, 'statistics'> | { id: string } | null;
  run: Pick<TrainingRun, 'runId' | 'kind' | 'task' | 'seed' | 'trainMs' | 'createdAt'> & { cachedFrom?: string } | { runId: string };
  /** Downstream: where it was deployed, which aliases hold it, what it has answered. */
  deployments: Deployment[];
  aliases: string[];
  predictions: PredictionCount;
  history: VersionEvent[];
  /** Downstream: the batch scoring jobs it ran, each with its input dataset version and its output's digest. */
  batchJobs?: BatchLineage[];
}

export interface BatchLineage {
  id: string;
  datasetId: string | null;
  output: { uri: string; format: string; digest: string | null };
  rows: number | null;
  state: string;
  createdAt: string;
}

export async function batchLineage(pool: Pool, model: string, version: number): Promise<BatchLineage[]> {
  const { rows } = await pool.query(
    'SELECT id, dataset_id, output_uri, format, output_digest, rows, state, created_at FROM batch_jobs WHERE model_name = $1 AND version = $2 ORDER BY created_at, id',
    [model, version],
  );
  return rows.map((r) => ({
    id: r.id, datasetId: r.dataset_id, output: { uri: r.output_uri, format: r.format, digest: r.output_digest },
    rows: r.rows === null ? null : Number(r.rows), state: r.state, createdAt: new Date(r.created_at).toISOString(),
  }));
}

export async function predictionCount(pool: Pool, model: string, version: number): Promise<PredictionCount> {
  const { rows } = await pool.query('SELECT predictions, requests, last_at FROM prediction_counts WHERE model_name = $1 AND version = $2', [model, version]);
  const r = rows[0];
  return { predictions: Number(r?.predictions ?? 0), requests: Number(r?.requests ?? 0), lastAt: r ? new Date(r.last_at).toISOString() : null };
}

export async function versionLineage(pool: Pool, model: string, number: number): Promise<VersionLineage | undefined> {
  const v = await registry.getVersion(pool, model, number);
  if (!v) return undefined;
  const dataset = v.datasetId ? await getDataset(pool, v.datasetId) : undefined;
  const run = await getRun(pool, v.runId);
  const aliases = Object.entries(await registry.listAliases(pool, model)).filter(([, n]) => n === number).map(([a]) => a);
  return {
    model, version: number, status: v.status, deployment: v.deployment, onnxDigest: v.onnxDigest, codeVersion: v.codeVersion, createdAt: v.createdAt,
    dataset: dataset ? (({ statistics: _s, ...rest }) => rest)(dataset) : v.datasetId ? { id: v.datasetId } : null,
    run: run
      ? { runId: run.runId, kind: run.kind, task: run.task, seed: run.seed, trainMs: run.trainMs, createdAt: run.createdAt, ...(run.params.cachedFrom ? { cachedFrom: String(run.params.cachedFrom) } : {}) }
      : { runId: v.runId },
    deployments: (await registry.listDeployments(pool, model)).filter((d) => d.version === number),
    aliases,
    predictions: await predictionCount(pool, model, number),
    history: await registry.listVersionEvents(pool, model, number),
    batchJobs: await batchLineage(pool, model, number),
  };
}

export interface DatasetLineage {
  dataset: Omit<DatasetVersion, 'statistics'>;
  /** Later versions of the same source. */
  children: string[];
  /** Downstream: runs trained on it and the versions they registered, with where those serve. */
  runs: { runId: string; model: string; kind: string; createdAt: string; cachedFrom?: string }[];
  versions: { model: string; version: number; status: string; aliases: string[]; predictions: number }[];
}

export async function datasetLineage(pool: Pool, id: string): Promise<DatasetLineage | undefined> {
  const dataset = await getDataset(pool, id);
  if (!dataset) return undefined;
  const { statistics: _s, ...summary } = dataset;
  const runs = await pool.query(`SELECT run_id, model_name, kind, created_at, params->>'cachedFrom' AS cached_from FROM training_runs WHERE dataset_id = $1 ORDER BY created_at`, [id]);
  const versions = await pool.query(
    `SELECT v.model_name, v.version, v.status,
            COALESCE((SELECT array_agg(a.alias ORDER BY a.alias) FROM model_aliases a WHERE a.model_name = v.model_name AND a.version = v.version), '{}') AS aliases,
            COALESCE((SELECT predictions FROM prediction_counts p WHERE p.model_name = v.model_name AND p.version = v.version), 0) AS predictions
       FROM model_versions v WHERE v.dataset_id = $1 ORDER BY v.model_name, v.version`,
    [id],
  );
  return {
    dataset: summary,
    children: await listChildDatasets(pool, id),
    runs: runs.rows.map((r) => ({ runId: r.run_id, model: r.model_name, kind: r.kind, createdAt: new Date(r.created_at).toISOString(), ...(r.cached_from ? { cachedFrom: r.cached_from } : {}) })),
    versions: versions.rows.map((r) => ({ model: r.model_name, version: r.version, status: r.status, aliases: r.aliases, predictions: Number(r.predictions) })),
  };
}
