/**
 * MLflow 3's logged models (`/api/2.0/mlflow/logged-models...`): what `log_model` creates before it
 * uploads the model's files to the model's own artifact folder, and finalizes after.
 */
import type { Request } from 'express';
import { Pool } from 'pg';
import { OrderClause, parseFilter } from '../../store/mlflow-filter';
import * as store from '../../store/mlflow';
import { LOGGED_MODEL_ID } from './artifact-paths';
import { asMap, checkKey, Fields, fieldsOf, invalid, list, MAX_PARAM_VALUE, MAX_TAG_VALUE, missing, nextPage, offsetOf, pageSize, pairs, text, textList } from './protocol';
import type { MlflowRoutes } from './routes';
import { API } from './tracking-routes';
import { loggedModelJson } from './wire';

const STATUSES: Record<string, store.LoggedModelStatus> = {
  LOGGED_MODEL_PENDING: 'LOGGED_MODEL_PENDING', LOGGED_MODEL_READY: 'LOGGED_MODEL_READY', LOGGED_MODEL_UPLOAD_FAILED: 'LOGGED_MODEL_UPLOAD_FAILED',
  1: 'LOGGED_MODEL_PENDING', 2: 'LOGGED_MODEL_READY', 3: 'LOGGED_MODEL_UPLOAD_FAILED',
};

async function modelFor(pool: Pool, req: Request): Promise<store.LoggedModel> {
  const id = String(req.params.modelId);
  const model = LOGGED_MODEL_ID.test(id) ? await store.getLoggedModel(pool, id) : undefined;
  if (!model) throw missing(`logged model '${id}' not found`);
  return model;
}

/** search's `order_by`: `[{field_name, ascending}]` rather than the strings of the other searches. */
function ordersOf(fields: Fields): OrderClause[] {
  return list(fields, 'order_by').map((o) => {
    const entry = (o ?? {}) as Fields;
    const name = text(entry, 'field_name', { required: true });
    const dot = name.indexOf('.');
    const prefix = dot < 0 ? 'attributes' : name.slice(0, dot);
    const kind = ({ attributes: 'attribute', attribute: 'attribute', params: 'param', tags: 'tag' } as const)[prefix];
    if (!kind) throw invalid(`logged models can be ordered by attributes, params and tags, not "${name}"`);
    return { kind, key: dot < 0 ? name : name.slice(dot + 1), descending: entry.ascending === false };
  });
}

export function loggedModelRoutes(routes: MlflowRoutes, pool: Pool): void {
  routes.add('post', `${API}/logged-models`, 'scientist', async ({ req, actor }) => {
    const fields = fieldsOf(req);
    const model = await store.createLoggedModel(pool, {
      experimentId: text(fields, 'experiment_id', { required: true }),
      name: text(fields, 'name', { max: 500 }),
      modelType: text(fields, 'model_type', { max: 500 }) || undefined,
      sourceRunId: text(fields, 'source_run_id') || undefined,
      params: asMap(pairs(fields, 'params', 'param', MAX_PARAM_VALUE)),
      tags: asMap(pairs(fields, 'tags', 'tag', MAX_TAG_VALUE)),
      createdBy: actor,
    });
    return { model: loggedModelJson(model) };
  });
  routes.add('post', `${API}/logged-models/search`, 'viewer', async ({ req }) => {
    const fields = fieldsOf(req);
    const size = pageSize(fields, { default: 100, max: 50_000 });
    const offset = offsetOf(text(fields, 'page_token'));
    const found = await store.searchLoggedModels(pool, {
      experimentIds: textList(fields, 'experiment_ids'), clauses: parseFilter(text(fields, 'filter')), orders: ordersOf(fields), offset, limit: size,
    });
    return { models: found.items.map(loggedModelJson), ...nextPage(offset, size, found.more) };
  });
  routes.add('get', `${API}/logged-models/:modelId`, 'viewer', async ({ req }) => {
    return { model: loggedModelJson(await modelFor(pool, req)) };
  });
  routes.add('patch', `${API}/logged-models/:modelId`, 'scientist', async ({ req }) => {
    const model = await modelFor(pool, req);
    const status = STATUSES[String(fieldsOf(req).status)];
    if (!status) throw invalid(`status must be LOGGED_MODEL_READY, LOGGED_MODEL_UPLOAD_FAILED or LOGGED_MODEL_PENDING, got ${JSON.stringify(fieldsOf(req).status)}`);
    return { model: loggedModelJson(await store.finalizeLoggedModel(pool, model.modelId, status)) };
  });
  routes.add('delete', `${API}/logged-models/:modelId`, 'scientist', async ({ req }) => {
    await store.setLoggedModelLifecycle(pool, (await modelFor(pool, req)).modelId, 'deleted');
    return {};
  });
  routes.add('patch', `${API}/logged-models/:modelId/tags`, 'scientist', async ({ req }) => {
    const model = await modelFor(pool, req);
    await store.setLoggedModelPairs(pool, model.modelId, 'tags', asMap(pairs(fieldsOf(req), 'tags', 'tag', MAX_TAG_VALUE)));
    return { model: loggedModelJson((await store.getLoggedModel(pool, model.modelId))!) };
  });
  routes.add('delete', `${API}/logged-models/:modelId/tags/:key`, 'scientist', async ({ req }) => {
    const model = await modelFor(pool, req);
    await store.deleteLoggedModelTag(pool, model.modelId, checkKey(String(req.params.key), 'tag'));
    return {};
  });
  routes.add('post', `${API}/logged-models/:modelId/params`, 'scientist', async ({ req }) => {
    const model = await modelFor(pool, req);
    await store.setLoggedModelPairs(pool, model.modelId, 'params', asMap(pairs(fieldsOf(req), 'params', 'param', MAX_PARAM_VALUE)));
    return {};
  });
}
