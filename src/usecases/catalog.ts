/**
 * Reading the registry, the data and the runs: what the API (and through it the CLI) shows of models,
 * versions, datasets, lineage and experiment runs. Refusals are domain errors; routes only parse and answer.
 */
import { DomainError } from '../domain/errors';
import { redactUri } from '../ingest/sources';
import { diffStatistics } from '../ml/dataset-diff';
import type { Repositories } from '../store/repositories';

export type CatalogRepositories = Pick<Repositories, 'registry' | 'datasets' | 'lineage' | 'runs'>;

const DATASET_ID = /^[0-9a-f]{64}$/;

export function createCatalog(repos: CatalogRepositories, o: { uiUrl: (workflowId: string) => string }) {
  const dataset = async (id: string) => {
    const found = DATASET_ID.test(id) ? await repos.datasets.getDataset(id) : undefined;
    if (!found) throw new DomainError('not_found', `dataset version "${id}" does not exist`);
    return found;
  };
  const versionLineage = async (model: string, version: number) => {
    const lineage = await repos.lineage.versionLineage(model, version);
    if (!lineage) throw new DomainError('not_found', `model "${model}" has no version ${version}`);
    return lineage;
  };

  return {
    dataset,
    datasets: (q: { source?: string; limit?: number }) => repos.datasets.listDatasets(q),
    async diffDatasets(from: string, to: string) {
      const [a, b] = [await dataset(from), await dataset(to)];
      return { from: a.id, to: b.id, ...diffStatistics(a.statistics, b.statistics, { before: a.rowCount, after: b.rowCount }) };
    },
    async datasetLineage(id: string) {
      const lineage = DATASET_ID.test(id) ? await repos.lineage.datasetLineage(id) : undefined;
      if (!lineage) throw new DomainError('not_found', `dataset version "${id}" does not exist`);
      return lineage;
    },
    versionLineage,

    runs: (q: { model?: string; limit?: number }) => repos.runs.listRuns(q),
    /** A pipeline's training run with its tuning trials, or a run the MLflow client logged. */
    async run(id: string) {
      const run = await repos.runs.findRun(id);
      if (!run) throw new DomainError('not_found', `training run "${id}" does not exist`);
      return run;
    },

    models: () => repos.registry.listModels(),
    /** A model: its aliases, data schema, versions (without their records), deployments and history. */
    async model(name: string) {
      const versions = await repos.registry.listVersions(name);
      if (versions.length === 0) throw new DomainError('not_found', `model "${name}" does not exist`);
      return {
        name,
        aliases: await repos.registry.listAliases(name),
        schema: (await repos.registry.getModelSchema(name)) ?? null,
        versions: versions.map(({ modelName: _m, params: _p, artifacts: _a, recipe: _r, pipelineInput: _i, trigger: _t, ...v }) => v),
        deployments: await repos.registry.listDeployments(name),
        history: await repos.registry.listVersionEvents(name),
      };
    },
    /** One version, whole, with where it came from and where it went. */
    async version(name: string, number: number) {
      const version = await repos.registry.getVersion(name, number);
      if (!version) throw new DomainError('not_found', `model "${name}" has no version ${number}`);
      const dataset = version.datasetId ? await repos.datasets.getDataset(version.datasetId) : undefined;
      const lineage = await versionLineage(name, number);
      return {
        ...version,
        // the run keeps its source as given (retraining reads it again); what is shown masks its credentials
        pipelineInput: version.pipelineInput && withShownSource(version.pipelineInput),
        aliases: lineage.aliases,
        history: lineage.history,
        lineage: {
          dataset: dataset ?? (version.datasetId ? { id: version.datasetId } : null),
          run: { id: version.runId, uiUrl: o.uiUrl(version.runId) },
          artifact: { onnxSha256: version.onnxDigest },
          codeVersion: version.codeVersion,
          deployments: lineage.deployments,
          predictions: lineage.predictions,
        },
      };
    },
  };
}

export type Catalog = ReturnType<typeof createCatalog>;

/** A pipeline input as shown: a source URI with its password and credential-carrying query parameters masked. */
export function withShownSource<T extends { data?: unknown }>(input: T): T {
  const data = input.data as { uri?: unknown } | undefined;
  return data && typeof data.uri === 'string' ? { ...input, data: { ...data, uri: redactUri(data.uri) } } : input;
}
