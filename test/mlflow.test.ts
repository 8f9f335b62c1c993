/**
 * The MLflow-compatible API (/mlflow) driven by the official client: test/fixtures/mlflow/client_flow.py
 * runs with mlflow 3.x from PyPI (test/helpers/mlflow-client.ts) against a real stack, as a user's
 * unchanged script would, and what it logged is then checked through the platform's own API. Then the
 * attacks: anonymous callers, keys below the role a route needs, artifact paths that climb, start at the
 * root or forge another experiment's run, oversized uploads, reserved tags, the production alias.
 *
 * Most versions here stop at the import seam: the stack's `importOnnxVersion` records each request in the
 * audit log and answers with a workflow id. The `served*` models go through the real import pipeline
 * (src/usecases/mlflow-import.ts): evaluated on the data the run names, or imported unscored when it
 * names none; then approved and served.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AccessControl } from '../src/api/access';
import type { ImportOnnxVersion } from '../src/api/mlflow/onnx-import';
import { MLFLOW_MOUNT, mlflowRouteTable, mlflowRouter } from '../src/api/mlflow/router';
import { runListSchema, runSchema } from '../src/api/response-schemas';
import { DomainError } from '../src/domain/errors';
import { filterSql, parseFilter, parseOrder, SqlParams } from '../src/store/mlflow-filter';
import { recordAudit } from '../src/store/registry';
import { ApiStack, Reply, startApiStack } from './helpers/api-stack';
import { mlopsCli } from './helpers/cli';
import { findMlflowClient, MLFLOW_VERSION, PythonWithMlflow } from './helpers/mlflow-client';
import { REPO_ROOT } from './helpers/temporal';
import { createRepositories } from '../src/store/repositories';

const SCRIPT = path.join(REPO_ROOT, 'test', 'fixtures', 'mlflow', 'client_flow.py');
const API = `${MLFLOW_MOUNT}/api/2.0/mlflow`;
const ARTIFACTS = `${MLFLOW_MOUNT}/api/2.0/mlflow-artifacts/artifacts`;

/** Runs the client script and returns the JSON it prints last. */
function runClient(client: PythonWithMlflow, env: Record<string, string>): Promise<any> {
  return new Promise((resolve, reject) => {
    execFile(client.python, [SCRIPT], { cwd: path.dirname(SCRIPT), env: { ...process.env, ...client.env, ...env }, encoding: 'utf8', timeout: 300_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) { reject(new Error(`the MLflow client script failed: ${err.message}\n${stderr}`)); return; }
        const last = stdout.trim().split('\n').pop() ?? '';
        try {
          resolve(JSON.parse(last));
        } catch {
          reject(new Error(`the MLflow client script printed no JSON:\n${stdout}\n${stderr}`));
        }
      });
  });
}

/**
 * A request whose path is sent exactly as written: fetch (WHATWG URLs) would resolve `..` and `%2e%2e`
 * before sending, and an attacker's client does not.
 */
function rawRequest(base: string, method: string, rawPath: string, token: string, body?: string): Promise<{ status: number; text: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, method, path: rawPath, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-length': Buffer.byteLength(body) }) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe(`the official MLflow client (${MLFLOW_VERSION}) against /mlflow`, () => {
  let stack: ApiStack;
  let client: PythonWithMlflow;
  let flow: any;
  const keys: Record<string, string> = {};
  const as = (who: string) => ({ headers: { authorization: `Bearer ${keys[who]}` } });
  const mlflowError = (r: Reply, status: number, code: string, pattern?: RegExp) => {
    assert.equal(r.status, status, JSON.stringify(r.body));
    assert.equal(r.body.error_code, code, JSON.stringify(r.body));
    if (pattern) assert.match(r.body.message, pattern);
  };
  const count = async (table: string) => (await stack.stores.pool.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n as number;

  // what the real import workflow will do behind this seam is the import engineer's; here each request is recorded in the store
  let realImport: ImportOnnxVersion;
  const importOnnxVersion = (real: ImportOnnxVersion): ImportOnnxVersion => { realImport = real; return recordImport; };
  const recordImport: ImportOnnxVersion = async (request) => {
    // the served flow goes through the platform's own import, evaluation and approval
    if (request.model.startsWith('served')) return realImport(request);
    if (request.model === 'import-refused') throw new DomainError('invalid', 'the ONNX graph has no output the platform can read');
    if (request.model === 'import-breaks') throw new Error('connect ECONNREFUSED 10.0.0.7:7233 (internal detail)');
    const workflowId = `import-${request.model}-${request.onnxDigest.slice(0, 12)}`;
    await recordAudit(stack.stores.pool, { key: `test-import:${workflowId}`, actor: request.uploadedBy, action: 'test.onnx_import_requested', subject: request.model, details: { ...request, workflowId } });
    return { workflowId };
  };

  before(async () => {
    [client, stack] = await Promise.all([
      findMlflowClient(),
      startApiStack({ env: { MLOPS_TASK_QUEUE: 'mlflow-test', MLOPS_MAX_UPLOAD: '1mb' }, api: { importOnnxVersion } }),
    ]);
    for (const role of ['viewer', 'scientist', 'approver'] as const) {
      const created = await stack.call('POST', '/v1/keys', { name: `${role}-mlflow`, role });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      keys[role] = created.body.token;
    }
    flow = await runClient(client, { MLFLOW_TRACKING_URI: `${stack.api.url}${MLFLOW_MOUNT}`, MLFLOW_TRACKING_TOKEN: keys.approver, MODEL_NAME: 'fraud', EXPERIMENT_NAME: 'fraud-detection' });
  });
  after(async () => {
    await stack?.close();
  });

  describe('the client, unchanged', () => {
    it('logs a run with params, a metric over steps, tags and artifacts, and reads them back', () => {
      assert.equal(flow.run_status, 'FINISHED');
      assert.deepEqual(flow.params, { C: '1.0', solver: 'lbfgs', features: '3' });
      assert.equal(flow.metrics.loss, 0.3, 'the latest step');
      assert.ok(flow.metrics.accuracy > 0.9);
      assert.deepEqual(flow.loss_history, [[0, 0.9], [1, 0.5], [2, 0.3]]);
      assert.deepEqual(flow.tags, { team: 'fraud', purpose: 'mlflow-compatibility' });
      assert.deepEqual(flow.artifacts, ['notes.txt', 'reports']);
      assert.deepEqual(flow.reports, ['reports/notes.txt']);
      assert.equal(flow.notes_back, 'trained on synthetic data\n');
      assert.deepEqual(flow.found_runs, [flow.run_id], 'search by param and metric finds the run');
    });

    it('logs and registers an ONNX model: READY, from its run, handed to the import', () => {
      assert.ok(flow.model_files.includes('MLmodel') && flow.model_files.includes('model.onnx'), flow.model_files.join(', '));
      assert.equal(flow.onnx_registered_version, '1');
      const v = flow.onnx_version;
      assert.equal(v.status, 'READY');
      assert.equal(v.run_id, flow.run_id);
      assert.equal(v.source, `models:/${flow.onnx_model_id}`);
      assert.equal(v.tags['mlops.deployable'], 'pending_approval');
      assert.match(v.tags['mlops.import_workflow_id'], /^import-fraud-[0-9a-f]{12}$/);
      assert.match(v.status_message, /ONNX import .*waits for approval/);
    });

    it('keeps a model of another flavour, refused for deployment with the reason', () => {
      const v = flow.sklearn_version;
      assert.equal(flow.sklearn_registered_version, '2');
      assert.equal(v.status, 'READY');
      assert.equal(v.run_id, flow.other_run_id);
      assert.equal(v.tags['mlops.deployable'], 'false');
      assert.match(v.tags['mlops.reason'], /ONNX models only; this one's flavors are python_function, sklearn/);
      assert.match(v.status_message, /not deployable/);
    });

    it('searches versions, sets an alias and finds the version by it; production is refused', () => {
      assert.deepEqual(flow.versions.map((v: any) => v.version), ['2', '1']);
      assert.equal(flow.by_alias.version, '1');
      assert.deepEqual(flow.by_alias.aliases, ['challenger']);
      assert.deepEqual(flow.registered_aliases, { challenger: '1' });
      assert.equal(flow.production_refusal?.code, 'PERMISSION_DENIED');
      assert.match(flow.production_refusal.message, /moves only by deploying an approved version/);
    });
  });

  describe('what the client logged, through the platform\'s API', () => {
    it('GET /v1/runs shows the MLflow runs with their params and metrics', async () => {
      const list = await stack.call('GET', '/v1/runs', undefined, as('viewer'));
      assert.equal(list.status, 200);
      runListSchema.parse(list.body); // as the OpenAPI document describes it, strictly
      const run = list.body.runs.find((r: any) => r.runId === flow.run_id);
      assert.ok(run, JSON.stringify(list.body.runs.map((r: any) => r.runId)));
      assert.equal(run.source, 'mlflow');
      assert.deepEqual(run.experiment, { id: flow.experiment_id, name: 'fraud-detection' });
      assert.equal(run.runName, 'sklearn-onnx');
      assert.equal(run.status, 'FINISHED');
      assert.equal(run.user, 'approver-mlflow', 'the key that logged it, not what the client claims');
      assert.deepEqual(run.params, { C: '1.0', features: '3', solver: 'lbfgs' });
      assert.equal(run.metrics.loss, 0.3);
      assert.deepEqual(run.modelVersions, [{ name: 'fraud', version: 1 }]);
      const byModel = await stack.call('GET', '/v1/runs?model=fraud', undefined, as('viewer'));
      assert.deepEqual(byModel.body.runs.map((r: any) => r.runId).sort(), [flow.run_id, flow.other_run_id].sort());

      const one = await stack.call('GET', `/v1/runs/${flow.run_id}`, undefined, as('viewer'));
      assert.equal(one.status, 200);
      runSchema.parse(one.body);
      assert.deepEqual(one.body.metricHistory.loss.map((m: any) => [m.step, m.value]), [[0, 0.9], [1, 0.5], [2, 0.3]]);
    });

    it('mlops runs lists them', async () => {
      const out = await mlopsCli(stack.api.url, keys.viewer)('runs');
      assert.equal(out.status, 0, out.stderr);
      const line = out.stdout.split('\n').find((l) => l.startsWith(flow.run_id));
      assert.ok(line, out.stdout);
      assert.match(line, /mlflow\s+fraud\s+experiment fraud-detection\s+finished\s+C=1\.0 features=3 solver=lbfgs\s+accuracy=0\.975 loss=0\.3/);
    });

    it('handed the ONNX file to the import seam by digest, with the run and who registered it', async () => {
      const file = await fetch(`${stack.api.url}${ARTIFACTS}/${flow.experiment_id}/models/${flow.onnx_model_id}/artifacts/model.onnx`, as('viewer'));
      assert.equal(file.status, 200);
      const bytes = Buffer.from(await file.arrayBuffer());
      const digest = createHash('sha256').update(bytes).digest('hex');
      assert.ok(await stack.stores.artifacts.has(digest), 'the ONNX file is in the artifact store under its digest');
      const { rows } = await stack.stores.pool.query("SELECT actor, details FROM audit_events WHERE action = 'test.onnx_import_requested'");
      assert.equal(rows.length, 1, 'only the ONNX version was handed over');
      assert.deepEqual(rows[0].details, { model: 'fraud', onnxDigest: digest, mlflowRunId: flow.run_id, uploadedBy: 'approver-mlflow', workflowId: flow.onnx_version.tags['mlops.import_workflow_id'] });
      const registered = await stack.stores.pool.query("SELECT details FROM audit_events WHERE action = 'mlflow.version_registered' ORDER BY id");
      assert.deepEqual(registered.rows.map((r) => r.details.onnxDigest ?? null), [digest, null]);
    });
  });

  it('registers a version from another one, by number or alias: same files, same run, handed to the import again', async () => {
    for (const source of ['models:/fraud/1', 'models:/fraud@challenger']) {
      const created = await stack.call('POST', `${API}/model-versions/create`, { name: 'fraud', source }, as('scientist'));
      assert.equal(created.status, 200, JSON.stringify(created.body));
      const v = created.body.model_version;
      assert.equal(v.status, 'READY');
      assert.equal(v.run_id, flow.run_id);
      assert.equal(v.source, source);
      assert.equal(v.tags.find((t: any) => t.key === 'mlops.import_workflow_id').value, flow.onnx_version.tags['mlops.import_workflow_id']);
    }
    const unknown = await stack.call('POST', `${API}/model-versions/create`, { name: 'fraud', source: 'models:/fraud@nobody' }, as('scientist'));
    mlflowError(unknown, 404, 'RESOURCE_DOES_NOT_EXIST', /names no logged model or registered model version/);
  });

  describe('attacks', () => {
    /** A run of its own experiment with one file, made through the raw API as a scientist. */
    const makeRun = async (experiment: string) => {
      const exp = await stack.call('POST', `${API}/experiments/create`, { name: experiment }, as('scientist'));
      assert.equal(exp.status, 200, JSON.stringify(exp.body));
      const run = await stack.call('POST', `${API}/runs/create`, { experiment_id: exp.body.experiment_id }, as('scientist'));
      const id = run.body.run.info.run_id as string;
      const put = await stack.call('PUT', `${ARTIFACTS}/${exp.body.experiment_id}/${id}/artifacts/secret.txt`, undefined, { ...as('scientist'), raw: 'only mine' });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      return { experimentId: exp.body.experiment_id as string, runId: id };
    };
    const tables = ['mlflow_experiments', 'mlflow_runs', 'mlflow_run_params', 'mlflow_run_tags', 'mlflow_metrics', 'mlflow_logged_models', 'mlflow_artifacts', 'mlflow_registered_models', 'mlflow_model_versions', 'mlflow_model_aliases'];
    const snapshot = async () => Object.fromEntries(await Promise.all(tables.map(async (t) => [t, await count(t)])));

    const routeTable = () => mlflowRouteTable(mlflowRouter({
      pool: stack.stores.pool, artifacts: stack.stores.artifacts, access: new AccessControl({ repos: createRepositories(stack.stores.pool), adminKey: 'unused', predict: 'open', feedback: 'key' }),
      maxUploadBytes: 1, maxBody: '1kb', importOnnxVersion: recordImport,
    }));
    const concrete = (p: string) => p.replace(':modelId', 'm-00000000000000000000000000000000').replace(':key', 'k').replace('*path', '0/00000000000000000000000000000000/artifacts/x');

    it('an anonymous caller gets 401 on every MLflow route, in MLflow\'s error shape', async () => {
      const routes = routeTable();
      assert.ok(routes.length > 40, `${routes.length} routes`);
      for (const r of routes) {
        const reply = await stack.call(r.method.toUpperCase(), `${MLFLOW_MOUNT}${concrete(r.path)}`, r.method === 'get' ? undefined : {}, { anonymous: true });
        mlflowError(reply, 401, 'UNAUTHENTICATED');
      }
      const bad = await stack.call('GET', `${API}/experiments/get?experiment_id=0`, undefined, { headers: { authorization: 'Bearer mlk_notakey_0000' } });
      mlflowError(bad, 401, 'UNAUTHENTICATED', /not valid/);
    });

    it('a viewer key reads but cannot log, upload, register or move aliases: every write route is 403 and nothing is written', async () => {
      const before = await snapshot();
      const writes = routeTable().filter((r) => r.role !== 'viewer');
      assert.ok(writes.some((r) => r.path.endsWith('/runs/log-batch')) && writes.some((r) => r.method === 'put'));
      for (const r of writes) {
        const reply = await stack.call(r.method.toUpperCase(), `${MLFLOW_MOUNT}${concrete(r.path)}`, r.method === 'get' ? undefined : { experiment_id: '0', name: 'viewer-model', run_id: flow.run_id, key: 'k', value: 'v' }, as('viewer'));
        mlflowError(reply, 403, 'PERMISSION_DENIED', /needs the (scientist|approver) role/);
      }
      assert.deepEqual(await snapshot(), before);
      const read = await stack.call('GET', `${API}/runs/get?run_id=${flow.run_id}`, undefined, as('viewer'));
      assert.equal(read.status, 200);
    });

    it('a scientist logs and registers but cannot move aliases or delete registry records (approver)', async () => {
      const alias = await stack.call('POST', `${API}/registered-models/alias`, { name: 'fraud', alias: 'champion', version: '1' }, as('scientist'));
      mlflowError(alias, 403, 'PERMISSION_DENIED', /approver/);
      const del = await stack.call('DELETE', `${API}/registered-models/delete`, { name: 'fraud' }, as('scientist'));
      mlflowError(del, 403, 'PERMISSION_DENIED');
      assert.deepEqual((await stack.call('GET', `${API}/registered-models/get?name=fraud`, undefined, as('viewer'))).body.registered_model.aliases, [{ alias: 'challenger', version: '1' }]);
    });

    it('the production alias cannot be set or removed through MLflow, not even by the admin key', async () => {
      for (const alias of ['production', 'Production', 'PRODUCTION']) {
        const set = await stack.call('POST', `${API}/registered-models/alias`, { name: 'fraud', alias, version: '1' });
        mlflowError(set, 403, 'PERMISSION_DENIED', /only by deploying an approved version/);
        const del = await stack.call('DELETE', `${API}/registered-models/alias`, { name: 'fraud', alias });
        mlflowError(del, 403, 'PERMISSION_DENIED');
      }
      const stage = await stack.call('POST', `${API}/model-versions/transition-stage`, { name: 'fraud', version: '1', stage: 'Production' });
      mlflowError(stage, 403, 'PERMISSION_DENIED', /stages are not used/);
      assert.equal((await stack.stores.pool.query("SELECT count(*)::int AS n FROM model_aliases WHERE alias = 'production'")).rows[0].n, 0);
      assert.equal((await stack.stores.pool.query("SELECT count(*)::int AS n FROM mlflow_model_aliases WHERE lower(alias) = 'production'")).rows[0].n, 0);
    });

    it('artifact paths that climb, start at the root or hide separators cannot read or write outside their run', async () => {
      const mine = await makeRun('paths-mine');
      const theirs = await makeRun('paths-theirs');
      const before = await snapshot();
      const root = `${mine.experimentId}/${mine.runId}/artifacts`;
      const climbing = [
        `${root}/../../${theirs.runId}/artifacts/secret.txt`,
        `${root}/%2e%2e/%2e%2e/${theirs.runId}/artifacts/secret.txt`,
        `${root}/..%2F..%2F${theirs.runId}%2Fartifacts%2Fsecret.txt`,
        `${root}/a%5C..%5C..%5Cx`,
        `/etc/passwd`,
        `/${theirs.experimentId}/${theirs.runId}/artifacts/secret.txt`,
        `${root}//etc/passwd`,
        `${root}/./x`,
        `${root}/x%00.txt`,
      ];
      for (const p of climbing) {
        const write = await rawRequest(stack.api.url, 'PUT', `${ARTIFACTS}/${p}`, keys.scientist, 'overwritten');
        assert.equal(write.status, 400, `PUT ${p}: ${write.status} ${write.text}`);
        assert.equal(JSON.parse(write.text).error_code, 'INVALID_PARAMETER_VALUE');
        for (const method of ['GET', 'DELETE']) {
          const other = await rawRequest(stack.api.url, method, `${ARTIFACTS}/${p}`, keys.scientist);
          assert.equal(other.status, 400, `${method} ${p}: ${other.status} ${other.text}`);
          assert.doesNotMatch(other.text, /only mine|root:/);
        }
      }
      for (const listed of [`${root}/../..`, `${root}/../../${theirs.runId}/artifacts`, '/etc', '']) {
        const list = await stack.call('GET', `${ARTIFACTS}?path=${encodeURIComponent(listed)}`, undefined, as('viewer'));
        mlflowError(list, 400, 'INVALID_PARAMETER_VALUE');
      }
      assert.deepEqual(await snapshot(), before);
      const theirsNow = await fetch(`${stack.api.url}${ARTIFACTS}/${theirs.experimentId}/${theirs.runId}/artifacts/secret.txt`, { headers: { authorization: `Bearer ${keys.viewer}` } });
      assert.equal(await theirsNow.text(), 'only mine');
    });

    it('a run of another experiment cannot be written or read through a forged path', async () => {
      const mine = await makeRun('forged-mine');
      const theirs = await makeRun('forged-theirs');
      const model = await stack.call('POST', `${API}/logged-models`, { experiment_id: theirs.experimentId, name: 'm' }, as('scientist'));
      const before = await snapshot();
      const forged = `${ARTIFACTS}/${mine.experimentId}/${theirs.runId}/artifacts/secret.txt`;
      const write = await stack.call('PUT', forged, undefined, { ...as('scientist'), raw: 'forged' });
      mlflowError(write, 404, 'RESOURCE_DOES_NOT_EXIST', /does not exist in experiment/);
      mlflowError(await stack.call('GET', forged, undefined, as('viewer')), 404, 'RESOURCE_DOES_NOT_EXIST');
      const list = await stack.call('GET', `${ARTIFACTS}?path=${encodeURIComponent(`${mine.experimentId}/${theirs.runId}/artifacts`)}`, undefined, as('viewer'));
      mlflowError(list, 404, 'RESOURCE_DOES_NOT_EXIST');
      // a logged model's folder, under the wrong experiment, alike
      const modelForged = await stack.call('PUT', `${ARTIFACTS}/${mine.experimentId}/models/${model.body.model.info.model_id}/artifacts/MLmodel`, undefined, { ...as('scientist'), raw: 'flavors: {}' });
      mlflowError(modelForged, 404, 'RESOURCE_DOES_NOT_EXIST');
      assert.deepEqual(await snapshot(), before);
      const theirsNow = await fetch(`${stack.api.url}${ARTIFACTS}/${theirs.experimentId}/${theirs.runId}/artifacts/secret.txt`, { headers: { authorization: `Bearer ${keys.viewer}` } });
      assert.equal(await theirsNow.text(), 'only mine');
    });

    it('an artifact larger than MLOPS_MAX_UPLOAD is refused with a 413, declared or streamed, and nothing is stored', async () => {
      const mine = await makeRun('oversized');
      const before = await snapshot();
      const big = Buffer.alloc(1024 * 1024 + 1, 7);
      const url = `${stack.api.url}${ARTIFACTS}/${mine.experimentId}/${mine.runId}/artifacts/big.bin`;
      const declared = await fetch(url, { method: 'PUT', headers: { authorization: `Bearer ${keys.scientist}` }, body: big });
      assert.equal(declared.status, 413);
      assert.equal(((await declared.json()) as { error_code: string }).error_code, 'RESOURCE_EXHAUSTED');
      // no content-length: the body is counted as it arrives
      const streamed = await fetch(url, {
        method: 'PUT', headers: { authorization: `Bearer ${keys.scientist}` }, duplex: 'half',
        body: new ReadableStream({ start(c) { for (let i = 0; i < 5; i++) c.enqueue(new Uint8Array(300_000)); c.close(); } }),
      } as RequestInit);
      assert.equal(streamed.status, 413);
      assert.deepEqual(await snapshot(), before);
      assert.equal(await stack.stores.artifacts.has(createHash('sha256').update(big).digest('hex')), false);
    });

    it('tags of the platform, impossible names and injected filters are refused without reaching SQL', async () => {
      const tag = await stack.call('POST', `${API}/model-versions/set-tag`, { name: 'fraud', version: '2', key: 'mlops.deployable', value: 'true' }, as('scientist'));
      mlflowError(tag, 400, 'INVALID_PARAMETER_VALUE', /are the platform's/);
      const model = await stack.call('POST', `${API}/registered-models/create`, { name: 'drop table; --' }, as('scientist'));
      mlflowError(model, 400, 'INVALID_PARAMETER_VALUE', /platform's model name/);
      for (const filter of ["params.C = '1' OR 1=1", "attributes.`status) OR (1=1` = 'x'", "metrics.loss < 1; DROP TABLE mlflow_runs", "tags.x LIKE 5"]) {
        const search = await stack.call('POST', `${API}/runs/search`, { experiment_ids: [flow.experiment_id], filter }, as('viewer'));
        mlflowError(search, 400, 'INVALID_PARAMETER_VALUE');
      }
      const key = await stack.call('POST', `${API}/runs/log-parameter`, { run_id: flow.run_id, key: '../../etc', value: 'x' }, as('scientist'));
      mlflowError(key, 400, 'INVALID_PARAMETER_VALUE');
      const changed = await stack.call('POST', `${API}/runs/log-parameter`, { run_id: flow.run_id, key: 'C', value: '2.0' }, as('scientist'));
      mlflowError(changed, 400, 'INVALID_PARAMETER_VALUE', /params cannot change/);
      assert.equal(await count('mlflow_runs') > 0, true);
    });

    it('an import that cannot start leaves the version FAILED_REGISTRATION with the import\'s own reason, never an internal detail', async () => {
      const run = await makeRun('imports');
      const logged = await stack.call('POST', `${API}/logged-models`, { experiment_id: run.experimentId, name: 'model', source_run_id: run.runId }, as('scientist'));
      const folder = `${ARTIFACTS}/${run.experimentId}/models/${logged.body.model.info.model_id}/artifacts`;
      assert.equal((await stack.call('PUT', `${folder}/MLmodel`, undefined, { ...as('scientist'), raw: 'flavors:\n  onnx:\n    data: model.onnx\n' })).status, 200);
      assert.equal((await stack.call('PUT', `${folder}/model.onnx`, undefined, { ...as('scientist'), raw: 'onnx bytes' })).status, 200);
      for (const [name, message] of [['import-refused', /could not start: the ONNX graph has no output/], ['import-breaks', /could not start: internal error \(see the server log\)/]] as const) {
        assert.equal((await stack.call('POST', `${API}/registered-models/create`, { name }, as('scientist'))).status, 200);
        const created = await stack.call('POST', `${API}/model-versions/create`, { name, source: `models:/${logged.body.model.info.model_id}` }, as('scientist'));
        assert.equal(created.status, 200, JSON.stringify(created.body));
        const v = created.body.model_version;
        assert.equal(v.status, 'FAILED_REGISTRATION');
        assert.equal(v.run_id, run.runId);
        assert.match(v.status_message, message);
        assert.doesNotMatch(v.status_message, /ECONNREFUSED|10\.0\.0\.7/);
      }
      // and an ONNX flavour naming a file that climbs out of its folder is not followed
      assert.equal((await stack.call('PUT', `${folder}/MLmodel`, undefined, { ...as('scientist'), raw: `flavors:\n  onnx:\n    data: ../../../${run.runId}/artifacts/secret.txt\n` })).status, 200);
      const climbing = await stack.call('POST', `${API}/model-versions/create`, { name: 'fraud', source: `models:/${logged.body.model.info.model_id}` }, as('scientist'));
      assert.equal(climbing.body.model_version.tags.find((t: any) => t.key === 'mlops.deployable').value, 'false');
      assert.match(climbing.body.model_version.status_message, /may not contain "\." or "\.\." segments/);
      // nor is an MLmodel that would expand without bound, or smuggle NUL into what is stored
      const laughs = ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...'bcdefghij'.split('').map((c, i) => `${c}: &${c} [${Array(10).fill(`*${'abcdefghij'[i]}`).join(', ')}]`), 'flavors: *j'].join('\n');
      for (const [mlmodel, reason] of [[laughs, /not valid YAML/], ['flavors:\n  "on\\0nx": {}\n  onnx:\n    data: "model\\0.onnx"\n', /has a separator, backslash or control character/]] as const) {
        assert.equal((await stack.call('PUT', `${folder}/MLmodel`, undefined, { ...as('scientist'), raw: mlmodel })).status, 200);
        const odd = await stack.call('POST', `${API}/model-versions/create`, { name: 'fraud', source: `models:/${logged.body.model.info.model_id}` }, as('scientist'));
        assert.equal(odd.status, 200, JSON.stringify(odd.body));
        assert.equal(odd.body.model_version.status, 'READY');
        assert.match(odd.body.model_version.status_message, reason);
        assert.ok(!odd.body.model_version.status_message.includes('\u0000'), 'no NUL in what is stored');
      }
    });

    it('unknown routes answer ENDPOINT_NOT_FOUND, malformed bodies MALFORMED_REQUEST', async () => {
      mlflowError(await stack.call('GET', `${API}/no-such-thing`, undefined, as('viewer')), 404, 'ENDPOINT_NOT_FOUND');
      mlflowError(await stack.call('POST', `${API}/runs/create`, undefined, { ...as('scientist'), raw: '{"experiment_id": ' }), 400, 'MALFORMED_REQUEST');
      mlflowError(await stack.call('GET', `${API}/runs/get?run_id=${'f'.repeat(32)}`, undefined, as('viewer')), 404, 'RESOURCE_DOES_NOT_EXIST');
    });
  });

  /** Runs served_flow.py (train, log, register through the client) and finds the platform's pipeline for it. */
  async function servedFlow(model: string, env: Record<string, string> = {}): Promise<{ served: any; workflowId: string }> {
    const served = await new Promise<any>((resolve, reject) => {
      execFile(client.python, [path.join(REPO_ROOT, 'test', 'fixtures', 'mlflow', 'served_flow.py')], {
        env: { ...process.env, ...client.env, MLFLOW_TRACKING_URI: `${stack.api.url}${MLFLOW_MOUNT}`, MLFLOW_TRACKING_TOKEN: keys.scientist, MODEL_NAME: model, PLATFORM_URL: stack.api.url, ...env },
        encoding: 'utf8', timeout: 300_000, maxBuffer: 16 * 1024 * 1024,
      }, (err, stdout, stderr) => (err ? reject(new Error(`served_flow.py failed: ${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout.trim().split('\n').pop()!))));
    });
    // the platform's pipeline for it: found by the MLflow version's record of its workflow
    const record = (await stack.stores.pool.query('SELECT import_workflow_id FROM mlflow_model_versions WHERE name = $1', [model])).rows[0];
    assert.ok(record?.import_workflow_id, 'the import started');
    return { served, workflowId: record.import_workflow_id };
  }

  it('an ONNX version registered by the client, its run naming evaluation data, is imported, evaluated, approved and served', async () => {
    const { served, workflowId } = await servedFlow('served');
    const record = { import_workflow_id: workflowId };
    const waiting = await stack.waitRun(record.import_workflow_id, ['awaiting_approval']);
    assert.equal(waiting.kind, 'import');
    assert.equal(waiting.unscored, undefined);
    assert.ok(waiting.metrics.auc > 0.9, JSON.stringify(waiting.metrics));
    const approved = await stack.call('POST', `/v1/pipelines/${record.import_workflow_id}/approval`, { decision: 'approve', comment: 'checked in MLflow' }, { headers: { authorization: `Bearer ${keys.approver}` } });
    assert.equal(approved.status, 202, JSON.stringify(approved.body));
    await stack.waitRun(record.import_workflow_id, ['deployed']);
    const answer = await stack.call('POST', '/v1/models/served/predict', { instances: served.instances });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    answer.body.predictions.forEach((p: { probabilities: Record<string, number> }, i: number) => {
      served.classes.forEach((label: string, k: number) => assert.ok(Math.abs(p.probabilities[label] - served.probabilities[i][k]) <= 1e-5, `row ${i} ${label}`));
    });
  });
  it('an ONNX version whose run names no evaluation data is imported unscored: no metrics, the approval request says so, and it serves once approved', async () => {
    const { served, workflowId } = await servedFlow('served-unscored', { UNSCORED: '1' });
    const waiting = await stack.waitRun(workflowId, ['awaiting_approval']);
    assert.equal(waiting.kind, 'import');
    assert.match(waiting.unscored, /not scored: the model came without evaluation data/);
    assert.deepEqual(waiting.metrics ?? {}, {});
    assert.equal(waiting.datasetId, undefined);
    // the request in the audit trail carries the reason; the version has no data, no drift reference and its own smoke rows
    const requested = (await stack.stores.pool.query("SELECT details FROM audit_events WHERE action = 'approval.requested' AND details->>'runId' = $1", [workflowId])).rows[0];
    assert.match(requested?.details.unscored ?? '', /not scored/);
    const version = await stack.call('GET', `/v1/models/served-unscored/versions/${waiting.modelVersion}`, undefined, as('viewer'));
    assert.equal(version.status, 200, JSON.stringify(version.body));
    assert.equal(version.body.datasetId, null);
    assert.equal(version.body.lineage.dataset, null);
    assert.match(version.body.params.evaluation, /not scored/);
    assert.equal(version.body.artifacts.referenceProfile, null);
    assert.match(version.body.artifacts.smokeSet, /^[0-9a-f]{64}$/);
    assert.deepEqual(version.body.signature.features, ['X_0', 'X_1', 'X_2']);
    const approved = await stack.call('POST', `/v1/pipelines/${workflowId}/approval`, { decision: 'approve', comment: 'evaluated in MLflow' }, { headers: { authorization: `Bearer ${keys.approver}` } });
    assert.equal(approved.status, 202, JSON.stringify(approved.body));
    await stack.waitRun(workflowId, ['deployed']);
    const answer = await stack.call('POST', '/v1/models/served-unscored/predict', { instances: served.instances });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    answer.body.predictions.forEach((p: { probabilities: Record<string, number> }, i: number) => {
      served.classes.forEach((label: string, k: number) => assert.ok(Math.abs(p.probabilities[label] - served.probabilities[i][k]) <= 1e-5, `row ${i} ${label}`));
    });
  });
});

describe('MLflow search filters', () => {
  it('reads what the client and UI send: prefixes, quoted keys, numbers, lists, AND', () => {
    assert.deepEqual(parseFilter("metrics.loss < 0.5 and params.C = '1.0' AND tags.`mlflow.runName` LIKE 'sk%'"), [
      { kind: 'metric', key: 'loss', op: '<', value: 0.5 },
      { kind: 'param', key: 'C', op: '=', value: '1.0' },
      { kind: 'tag', key: 'mlflow.runName', op: 'LIKE', value: 'sk%' },
    ]);
    assert.deepEqual(parseFilter('tags."my key" != "x" and attributes.status IN (\'FINISHED\', "FAILED") and run_id NOT IN (\'a\')'), [
      { kind: 'tag', key: 'my key', op: '!=', value: 'x' },
      { kind: 'attribute', key: 'status', op: 'IN', value: ['FINISHED', 'FAILED'] },
      { kind: 'attribute', key: 'run_id', op: 'NOT IN', value: ['a'] },
    ]);
    assert.deepEqual(parseFilter("name='it''s'"), [{ kind: 'attribute', key: 'name', op: '=', value: "it's" }]);
    assert.deepEqual(parseOrder('metrics.`val loss` DESC'), { kind: 'metric', key: 'val loss', descending: true });
    assert.deepEqual(parseFilter(''), []);
  });

  it('refuses what it cannot read, and names only what an entity lists', () => {
    for (const bad of ["params.C = '1' OR params.D = '2'", 'metrics.loss <', "params.C == '1'", "nope.C = '1'", "params.C = 'open", 'metrics.loss = abc', "params.C IN 'a'"]) {
      assert.throws(() => parseFilter(bad), DomainError, bad);
    }
    const target = { entity: 'runs', attributes: { status: { sql: 'r.status', type: 'text' as const } }, param: { table: 'mlflow_run_params', join: 'kv.run_id = r.run_id', type: 'text' as const } };
    const params = new SqlParams();
    assert.equal(filterSql(target, parseFilter("status = 'x' and params.C LIKE '1%'"), params), "r.status = $1::text AND EXISTS (SELECT 1 FROM mlflow_run_params kv WHERE kv.run_id = r.run_id AND kv.key = $2 AND kv.value LIKE $3::text)");
    assert.deepEqual(params.values, ['x', 'C', '1%']);
    assert.throws(() => filterSql(target, parseFilter("run_name = 'x'"), new SqlParams()), /cannot be searched or ordered by "run_name"/);
    assert.throws(() => filterSql(target, parseFilter('status > 3'), new SqlParams()), /> does not apply to status/);
    assert.throws(() => filterSql(target, parseFilter("metrics.loss < 1"), new SqlParams()), /have no metrics/);
  });
});
