/**
 * MLflow's model registry: registered models, model versions and aliases
 * (`/api/2.0/mlflow/registered-models/...`, `/model-versions/...`). A registered model's name is a model
 * name of the platform's, so its ONNX versions join the platform's model through the import and its
 * approval. Registering is a scientist's; moving aliases and deleting registry records an approver's.
 * The `production` alias is the platform's own (what it serves): it moves only by deploying an approved
 * version, never from here. Stage transitions, which MLflow itself deprecates, are refused for the
 * same reason.
 */
import { Pool } from 'pg';
import { ArtifactStore } from '../../store/artifacts';
import { parseFilter, parseOrder } from '../../store/mlflow-filter';
import * as store from '../../store/mlflow';
import { recordAudit } from '../../store/registry';
import { PRODUCTION_ALIAS } from '../../domain/model-version';
import { MODEL_NAME } from '../../domain/model-version';
import { artifactUri } from './artifact-paths';
import { ImportOnnxVersion } from './onnx-import';
import {
  asMap, checkKey, Fields, fieldsOf, integer, invalid, MAX_TAG_VALUE, missing, MlflowError, nextPage, offsetOf, pageSize, pairs, text, textList,
} from './protocol';
import type { MlflowRoutes } from './routes';
import { API } from './tracking-routes';
import { registerVersion } from './version-registration';
import { modelVersionJson, registeredModelJson } from './wire';

export interface RegistryDeps {
  pool: Pool;
  artifacts: ArtifactStore;
  importOnnxVersion: ImportOnnxVersion;
  log?: (line: string) => void;
}

/** Tags under this prefix are the platform's word on a version (wire.ts); clients cannot write them. */
const PLATFORM_TAG_PREFIX = 'mlops.';

/** MLflow's alias rule, kept: not `latest`, not a version-like `v<digits>`, letters, digits, `_` and `-`. */
const ALIAS = /^[A-Za-z0-9_-]{1,255}$/;

function nameOf(fields: Fields): string {
  return text(fields, 'name', { required: true, max: 256 });
}

function versionOf(fields: Fields): number {
  const version = integer(fields, 'version', { required: true })!;
  if (version < 1 || version > 2 ** 31 - 1) throw invalid(`version must be a positive whole number, got ${version}`);
  return version;
}

async function versionFor(pool: Pool, fields: Fields): Promise<store.ModelVersionRecord> {
  const name = nameOf(fields);
  const version = versionOf(fields);
  const found = await store.getModelVersion(pool, name, version);
  if (!found) throw missing(`Model Version (name=${name}, version=${version}) not found`);
  return found;
}

async function modelFor(pool: Pool, name: string): Promise<store.RegisteredModel> {
  const model = await store.getRegisteredModel(pool, name);
  if (!model) throw missing(`Registered Model with name=${name} not found`);
  return model;
}

function userTags(fields: Fields): store.Tags {
  const tags = pairs(fields, 'tags', 'tag', MAX_TAG_VALUE);
  const reserved = tags.find((t) => t.key.startsWith(PLATFORM_TAG_PREFIX));
  if (reserved) throw invalid(`tag "${reserved.key}": tags starting with "${PLATFORM_TAG_PREFIX}" are the platform's and cannot be set`);
  return asMap(tags);
}

function aliasOf(fields: Fields): string {
  const alias = text(fields, 'alias', { required: true });
  if (!ALIAS.test(alias) || alias.toLowerCase() === 'latest' || /^v\d+$/i.test(alias)) {
    throw invalid(`"${alias}" is not a valid alias: letters, digits, "_" and "-", and neither "latest" nor "v<number>"`);
  }
  return alias;
}

/** `production` in any case: what the platform serves moves by deployment of an approved version only. */
function refuseProduction(alias: string): void {
  if (alias.toLowerCase() === PRODUCTION_ALIAS) {
    throw new MlflowError('PERMISSION_DENIED', `the "${PRODUCTION_ALIAS}" alias is what the platform serves: it moves only by deploying an approved version (POST /v1/models/:name/deployments or PUT /v1/models/:name/aliases/production), not through MLflow`);
  }
}

export function registryRoutes(routes: MlflowRoutes, deps: RegistryDeps): void {
  const { pool } = deps;

  // ---- registered models

  routes.add('post', `${API}/registered-models/create`, 'scientist', async ({ req, actor }) => {
    const fields = fieldsOf(req);
    const name = nameOf(fields);
    if (!MODEL_NAME.test(name)) throw invalid(`"${name}" cannot be a registered model here: its name is also the platform's model name, 1-63 letters, digits, "-" or "_", starting with a letter or digit`);
    const model = await store.createRegisteredModel(pool, { name, description: text(fields, 'description', { max: 100_000 }), tags: asMap(pairs(fields, 'tags', 'tag', MAX_TAG_VALUE)), createdBy: actor });
    return { registered_model: registeredModelJson(model) };
  });
  routes.add('get', `${API}/registered-models/get`, 'viewer', async ({ req }) => {
    return { registered_model: registeredModelJson(await modelFor(pool, nameOf(fieldsOf(req)))) };
  });
  routes.add('get', `${API}/registered-models/search`, 'viewer', async ({ req }) => {
    const fields = fieldsOf(req);
    const size = pageSize(fields, { default: 100, max: 1000 });
    const offset = offsetOf(text(fields, 'page_token'));
    const found = await store.searchRegisteredModels(pool, { clauses: parseFilter(text(fields, 'filter')), orders: textList(fields, 'order_by').map(parseOrder), offset, limit: size });
    return { registered_models: found.items.map(registeredModelJson), ...nextPage(offset, size, found.more) };
  });
  routes.add('patch', `${API}/registered-models/update`, 'scientist', async ({ req }) => {
    const fields = fieldsOf(req);
    return { registered_model: registeredModelJson(await store.updateRegisteredModel(pool, nameOf(fields), text(fields, 'description', { max: 100_000 }))) };
  });
  routes.add('post', `${API}/registered-models/rename`, 'scientist', async () => {
    throw invalid('registered models cannot be renamed here: the name is also the platform\'s model name, which its imported versions keep');
  });
  routes.add('delete', `${API}/registered-models/delete`, 'approver', async ({ req, actor }) => {
    const name = nameOf(fieldsOf(req));
    await store.deleteRegisteredModel(pool, name);
    await recordAudit(pool, { actor, action: 'mlflow.model_deleted', subject: `mlflow:${name}`, details: {} });
    return {};
  });
  for (const method of ['get', 'post'] as const) {
    routes.add(method, `${API}/registered-models/get-latest-versions`, 'viewer', async ({ req }) => {
      const fields = fieldsOf(req);
      const name = nameOf(fields);
      await modelFor(pool, name);
      const stages = textList(fields, 'stages');
      // every version's stage is None here: other stages have nothing in them
      if (stages.length > 0 && !stages.some((s) => s.toLowerCase() === 'none')) return { model_versions: [] };
      const latest = await store.latestModelVersion(pool, name);
      return { model_versions: latest ? [modelVersionJson(latest)] : [] };
    });
  }
  routes.add('post', `${API}/registered-models/set-tag`, 'scientist', async ({ req }) => {
    const fields = fieldsOf(req);
    const [tag] = pairs({ tags: [{ key: fields.key, value: fields.value }] }, 'tags', 'tag', MAX_TAG_VALUE);
    await store.setRegisteredModelTag(pool, nameOf(fields), tag.key, tag.value);
    return {};
  });
  routes.add('delete', `${API}/registered-models/delete-tag`, 'scientist', async ({ req }) => {
    const fields = fieldsOf(req);
    await store.setRegisteredModelTag(pool, nameOf(fields), checkKey(fields.key, 'tag'), null);
    return {};
  });

  // ---- aliases

  routes.add('post', `${API}/registered-models/alias`, 'approver', async ({ req, actor }) => {
    const fields = fieldsOf(req);
    const alias = aliasOf(fields);
    refuseProduction(alias);
    const name = nameOf(fields);
    const version = versionOf(fields);
    await store.setModelAlias(pool, name, alias, version);
    await recordAudit(pool, { actor, action: 'mlflow.alias_set', subject: `mlflow:${name}@${version}`, details: { alias } });
    return {};
  });
  routes.add('delete', `${API}/registered-models/alias`, 'approver', async ({ req, actor }) => {
    const fields = fieldsOf(req);
    const alias = aliasOf(fields);
    refuseProduction(alias);
    const name = nameOf(fields);
    await store.deleteModelAlias(pool, name, alias);
    await recordAudit(pool, { actor, action: 'mlflow.alias_deleted', subject: `mlflow:${name}`, details: { alias } });
    return {};
  });
  routes.add('get', `${API}/registered-models/alias`, 'viewer', async ({ req }) => {
    const fields = fieldsOf(req);
    const name = nameOf(fields);
    const alias = text(fields, 'alias', { required: true });
    const version = await store.getVersionByAlias(pool, name, alias);
    if (!version) throw missing(`Registered model alias ${alias} not found on model ${name}`);
    return { model_version: modelVersionJson(version) };
  });

  // ---- model versions

  routes.add('post', `${API}/model-versions/create`, 'scientist', async ({ req, actor }) => {
    const fields = fieldsOf(req);
    const version = await registerVersion(deps, {
      name: nameOf(fields),
      source: text(fields, 'source', { required: true, max: 2000 }),
      runId: text(fields, 'run_id'),
      modelId: text(fields, 'model_id'),
      description: text(fields, 'description', { max: 100_000 }),
      tags: userTags(fields),
      actor,
    });
    return { model_version: modelVersionJson(version) };
  });
  routes.add('get', `${API}/model-versions/get`, 'viewer', async ({ req }) => {
    return { model_version: modelVersionJson(await versionFor(pool, fieldsOf(req))) };
  });
  routes.add('get', `${API}/model-versions/search`, 'viewer', async ({ req }) => {
    const fields = fieldsOf(req);
    const size = pageSize(fields, { default: 10_000, max: 10_000 });
    const offset = offsetOf(text(fields, 'page_token'));
    const found = await store.searchModelVersions(pool, { clauses: parseFilter(text(fields, 'filter')), orders: textList(fields, 'order_by').map(parseOrder), offset, limit: size });
    return { model_versions: found.items.map(modelVersionJson), ...nextPage(offset, size, found.more) };
  });
  routes.add('patch', `${API}/model-versions/update`, 'scientist', async ({ req }) => {
    const fields = fieldsOf(req);
    const version = await versionFor(pool, fields);
    return { model_version: modelVersionJson(await store.updateModelVersion(pool, version.name, version.version, text(fields, 'description', { max: 100_000 }))) };
  });
  routes.add('delete', `${API}/model-versions/delete`, 'approver', async ({ req, actor }) => {
    const version = await versionFor(pool, fieldsOf(req));
    await store.deleteModelVersion(pool, version.name, version.version);
    await recordAudit(pool, { actor, action: 'mlflow.version_deleted', subject: `mlflow:${version.name}@${version.version}`, details: { importWorkflowId: version.platform.importWorkflowId } });
    return {};
  });
  routes.add('get', `${API}/model-versions/get-download-uri`, 'viewer', async ({ req }) => {
    const version = await versionFor(pool, fieldsOf(req));
    return { artifact_uri: version.storagePath ? artifactUri(version.storagePath) : version.source };
  });
  routes.add('post', `${API}/model-versions/set-tag`, 'scientist', async ({ req }) => {
    const fields = fieldsOf(req);
    const version = await versionFor(pool, fields);
    const tags = userTags({ tags: [{ key: fields.key, value: fields.value }] });
    const [key, value] = Object.entries(tags)[0];
    await store.setModelVersionTag(pool, version.name, version.version, key, value);
    return {};
  });
  routes.add('delete', `${API}/model-versions/delete-tag`, 'scientist', async ({ req }) => {
    const fields = fieldsOf(req);
    const version = await versionFor(pool, fields);
    await store.setModelVersionTag(pool, version.name, version.version, checkKey(fields.key, 'tag'), null);
    return {};
  });
  routes.add('post', `${API}/model-versions/transition-stage`, 'scientist', async () => {
    throw new MlflowError('PERMISSION_DENIED', 'stages are not used here (MLflow deprecates them too): a version serves once the platform approves and deploys it (POST /v1/models/:name/deployments); use aliases for other labels');
  });
}
