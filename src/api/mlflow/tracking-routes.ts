/**
 * MLflow tracking: experiments, runs, their params, metrics and tags (`/api/2.0/mlflow/experiments/...`,
 * `/runs/...`, `/metrics/get-history`). Reading is a viewer's, logging a scientist's.
 */
import { Pool } from 'pg';
import { parseFilter, parseOrder } from '../../store/mlflow-filter';
import * as store from '../../store/mlflow';
import { RUN_ID } from './artifact-paths';
import {
  asMap, checkKey, double, Fields, fieldsOf, integer, invalid, list, MAX_PARAM_VALUE, MAX_TAG_VALUE, missing, nextPage, offsetOf,
  pageSize, pairs, text, textList,
} from './protocol';
import type { MlflowRoutes } from './routes';
import { experimentJson, metricJson, runInfoJson, runJson } from './wire';

export const API = '/api/2.0/mlflow';

const VIEW_TYPES: Record<string, store.ViewType> = { ACTIVE_ONLY: 'ACTIVE_ONLY', DELETED_ONLY: 'DELETED_ONLY', ALL: 'ALL', 1: 'ACTIVE_ONLY', 2: 'DELETED_ONLY', 3: 'ALL' };

export function viewType(fields: Fields, name: string): store.ViewType {
  const value = fields[name];
  if (value === undefined || value === null || value === '') return 'ACTIVE_ONLY';
  const view = VIEW_TYPES[String(value)];
  if (!view) throw invalid(`${name} must be ACTIVE_ONLY, DELETED_ONLY or ALL, got ${JSON.stringify(value)}`);
  return view;
}

/** The run a request names (run_id, or the older run_uuid), checked to exist. */
async function runFor(pool: Pool, fields: Fields): Promise<store.MlflowRunInfo> {
  const runId = text(fields, 'run_id') || text(fields, 'run_uuid');
  if (!runId) throw invalid("missing value for required parameter 'run_id'");
  const run = RUN_ID.test(runId) ? await store.getRunInfo(pool, runId) : undefined;
  if (!run) throw missing(`run '${runId}' not found`);
  return run;
}

async function experimentFor(pool: Pool, id: string): Promise<store.MlflowExperiment> {
  const experiment = await store.getExperiment(pool, id);
  if (!experiment) throw missing(`no experiment with id ${id}`);
  return experiment;
}

/** A metric as the client sends it, checked. */
function metricOf(fields: Fields): store.MlflowMetric {
  const step = integer(fields, 'step') ?? 0;
  return {
    key: checkKey(fields.key, 'metric'),
    value: double(fields, 'value'),
    timestamp: integer(fields, 'timestamp') ?? Date.now(),
    step,
    ...(text(fields, 'model_id') ? { modelId: text(fields, 'model_id') } : {}),
    ...(text(fields, 'dataset_name') ? { datasetName: text(fields, 'dataset_name', { max: 500 }) } : {}),
    ...(text(fields, 'dataset_digest') ? { datasetDigest: text(fields, 'dataset_digest', { max: 500 }) } : {}),
  };
}

/** log-batch's limits, as MLflow's server sets them. */
const MAX_BATCH = { metrics: 1000, params: 100, tags: 100, total: 1000 };

export function trackingRoutes(routes: MlflowRoutes, pool: Pool): void {
  // ---- experiments

  routes.add('post', `${API}/experiments/create`, 'scientist', async ({ req, actor }) => {
    const fields = fieldsOf(req);
    const name = text(fields, 'name', { required: true, max: 500 });
    // the platform keeps artifacts in its own store; a location elsewhere would not be honoured
    if (text(fields, 'artifact_location')) throw invalid('artifact_location cannot be set: artifacts are kept in the platform\'s artifact store (mlflow-artifacts:/)');
    const tags = asMap(pairs(fields, 'tags', 'tag', MAX_TAG_VALUE));
    return { experiment_id: await store.createExperiment(pool, { name, tags, createdBy: actor }) };
  });
  routes.add('get', `${API}/experiments/get`, 'viewer', async ({ req }) => {
    return { experiment: experimentJson(await experimentFor(pool, text(fieldsOf(req), 'experiment_id', { required: true }))) };
  });
  routes.add('get', `${API}/experiments/get-by-name`, 'viewer', async ({ req }) => {
    const name = text(fieldsOf(req), 'experiment_name', { required: true });
    const experiment = await store.getExperimentByName(pool, name);
    if (!experiment) throw missing(`Could not find experiment with name '${name}'`);
    return { experiment: experimentJson(experiment) };
  });
  for (const method of ['get', 'post'] as const) {
    routes.add(method, `${API}/experiments/search`, 'viewer', async ({ req }) => {
      const fields = fieldsOf(req);
      const size = pageSize(fields, { default: 1000, max: 50_000 });
      const offset = offsetOf(text(fields, 'page_token'));
      const found = await store.searchExperiments(pool, {
        clauses: parseFilter(text(fields, 'filter')), orders: textList(fields, 'order_by').map(parseOrder), view: viewType(fields, 'view_type'), offset, limit: size,
      });
      return { experiments: found.items.map(experimentJson), ...nextPage(offset, size, found.more) };
    });
  }
  routes.add('post', `${API}/experiments/update`, 'scientist', async ({ req }) => {
    const fields = fieldsOf(req);
    const id = text(fields, 'experiment_id', { required: true });
    const name = text(fields, 'new_name', { max: 500 });
    if (name) await store.renameExperiment(pool, id, name);
    else await experimentFor(pool, id);
    return {};
  });
  for (const [action, stage] of [['delete', 'deleted'], ['restore', 'active']] as const) {
    routes.add('post', `${API}/experiments/${action}`, 'scientist', async ({ req }) => {
      await store.setExperimentLifecycle(pool, text(fieldsOf(req), 'experiment_id', { required: true }), stage);
      return {};
    });
  }
  routes.add('post', `${API}/experiments/set-experiment-tag`, 'scientist', async ({ req }) => {
    const fields = fieldsOf(req);
    const [tag] = pairs({ tags: [{ key: fields.key, value: fields.value }] }, 'tags', 'tag', MAX_TAG_VALUE);
    await store.setExperimentTag(pool, text(fields, 'experiment_id', { required: true }), tag.key, tag.value);
    return {};
  });

  // ---- runs

  routes.add('post', `${API}/runs/create`, 'scientist', async ({ req, actor }) => {
    const fields = fieldsOf(req);
    const run = await store.createRun(pool, {
      experimentId: text(fields, 'experiment_id') || '0',
      runName: text(fields, 'run_name', { max: 250 }),
      // who created the run is the key that signed the request; the client's own claim stays in its mlflow.user tag
      userId: actor,
      startTime: integer(fields, 'start_time') ?? Date.now(),
      tags: asMap(pairs(fields, 'tags', 'tag', MAX_TAG_VALUE)),
    });
    return { run: runJson(run) };
  });
  routes.add('get', `${API}/runs/get`, 'viewer', async ({ req }) => {
    const run = await store.getRun(pool, (await runFor(pool, fieldsOf(req))).runId);
    return { run: runJson(run!) };
  });
  routes.add('post', `${API}/runs/update`, 'scientist', async ({ req }) => {
    const fields = fieldsOf(req);
    const run = await runFor(pool, fields);
    const status = text(fields, 'status');
    if (status && !(store.RUN_STATUSES as readonly string[]).includes(status)) throw invalid(`status must be one of ${store.RUN_STATUSES.join(', ')}, got "${status}"`);
    const info = await store.updateRun(pool, run.runId, { status: (status || undefined) as store.RunStatus | undefined, endTime: integer(fields, 'end_time'), runName: text(fields, 'run_name', { max: 250 }) });
    return { run_info: runInfoJson(info) };
  });
  for (const [action, stage] of [['delete', 'deleted'], ['restore', 'active']] as const) {
    routes.add('post', `${API}/runs/${action}`, 'scientist', async ({ req }) => {
      await store.setRunLifecycle(pool, (await runFor(pool, fieldsOf(req))).runId, stage);
      return {};
    });
  }
  routes.add('post', `${API}/runs/search`, 'viewer', async ({ req }) => {
    const fields = fieldsOf(req);
    const size = pageSize(fields, { default: 1000, max: 50_000 });
    const offset = offsetOf(text(fields, 'page_token'));
    const found = await store.searchRuns(pool, {
      experimentIds: textList(fields, 'experiment_ids'), clauses: parseFilter(text(fields, 'filter')), orders: textList(fields, 'order_by').map(parseOrder),
      view: viewType(fields, 'run_view_type'), offset, limit: size,
    });
    return { runs: found.items.map(runJson), ...nextPage(offset, size, found.more) };
  });
  routes.add('post', `${API}/runs/log-metric`, 'scientist', async ({ req }) => {
    const fields = fieldsOf(req);
    await store.logRunData(pool, (await runFor(pool, fields)).runId, { metrics: [metricOf(fields)], params: [], tags: [] });
    return {};
  });
  routes.add('post', `${API}/runs/log-parameter`, 'scientist', async ({ req }) => {
    const fields = fieldsOf(req);
    const params = pairs({ params: [{ key: fields.key, value: fields.value }] }, 'params', 'param', MAX_PARAM_VALUE);
    await store.logRunData(pool, (await runFor(pool, fields)).runId, { metrics: [], params, tags: [] });
    return {};
  });
  routes.add('post', `${API}/runs/set-tag`, 'scientist', async ({ req }) => {
    const fields = fieldsOf(req);
    const tags = pairs({ tags: [{ key: fields.key, value: fields.value }] }, 'tags', 'tag', MAX_TAG_VALUE);
    await store.logRunData(pool, (await runFor(pool, fields)).runId, { metrics: [], params: [], tags });
    return {};
  });
  routes.add('post', `${API}/runs/delete-tag`, 'scientist', async ({ req }) => {
    const fields = fieldsOf(req);
    await store.deleteRunTag(pool, (await runFor(pool, fields)).runId, checkKey(fields.key, 'tag'));
    return {};
  });
  routes.add('post', `${API}/runs/log-batch`, 'scientist', async ({ req }) => {
    const fields = fieldsOf(req);
    const run = await runFor(pool, fields);
    const metrics = list(fields, 'metrics').map((m) => {
      if (!m || typeof m !== 'object') throw invalid('each metric must be an object');
      return metricOf(m as Fields);
    });
    const params = pairs(fields, 'params', 'param', MAX_PARAM_VALUE);
    const tags = pairs(fields, 'tags', 'tag', MAX_TAG_VALUE);
    if (metrics.length > MAX_BATCH.metrics || params.length > MAX_BATCH.params || tags.length > MAX_BATCH.tags || metrics.length + params.length + tags.length > MAX_BATCH.total) {
      throw invalid(`a batch holds at most ${MAX_BATCH.metrics} metrics, ${MAX_BATCH.params} params and ${MAX_BATCH.tags} tags, ${MAX_BATCH.total} in all`);
    }
    const keys = params.map((p) => p.key);
    const repeated = keys.find((k, i) => keys.indexOf(k) !== i);
    if (repeated) throw invalid(`param "${repeated}" appears twice in the batch`);
    await store.logRunData(pool, run.runId, { metrics, params, tags });
    return {};
  });
  routes.add('post', `${API}/runs/outputs`, 'scientist', async ({ req }) => {
    const fields = fieldsOf(req);
    const run = await runFor(pool, fields);
    const outputs = list(fields, 'models').map((m) => {
      const f = (m ?? {}) as Fields;
      return { modelId: text(f, 'model_id', { required: true }), step: integer(f, 'step') ?? 0 };
    });
    await store.logRunOutputs(pool, run.runId, outputs);
    return {};
  });
  routes.add('get', `${API}/metrics/get-history`, 'viewer', async ({ req }) => {
    const fields = fieldsOf(req);
    const run = await runFor(pool, fields);
    const key = checkKey(text(fields, 'metric_key', { required: true }), 'metric');
    const size = pageSize(fields, { default: 25_000, max: 25_000 });
    const offset = offsetOf(text(fields, 'page_token'));
    const history = await store.metricHistory(pool, run.runId, key);
    const slice = history.slice(offset, offset + size);
    return { metrics: slice.map((m) => metricJson({ ...m, runId: run.runId })), ...nextPage(offset, size, history.length > offset + size) };
  });
}
