/**
 * The HTTP API over real HTTP, composed the way `mlops up` composes it: a real Temporal server, the
 * embedded PGlite store, a worker with the real activities, and the Express app on a free port.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import zlib from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { Client } from '@temporalio/client';
import { createApp } from '../src/api/app';
import { errorAnswer, toApiError } from '../src/api/http-errors';
import { BatchService } from '../src/usecases/batch-scoring';
import { PipelineService } from '../src/usecases/pipelines';
import { RegistryService } from '../src/usecases/registry-operations';
import { importWorkflowMissing } from '../src/api/mlflow/onnx-import';
import { RolloutService } from '../src/usecases/rollouts';
import { MonitoringService } from '../src/usecases/monitoring';
import { ModelServer } from '../src/serving/model-server';
import { createPool } from '../src/store/db';
import { toCanonicalCsv } from '../src/ml/csv';
import { RunningApi, Stores } from '../src/stack/runtime';
import { ADMIN_AUTH, ApiStack, Reply, startApiStack, TEST_ADMIN_KEY } from './helpers/api-stack';
import { AccessControl } from '../src/api/access';
import { TestDatabase } from './helpers/database';
import { BREAST_CANCER } from './helpers/pipeline-env';
import { syntheticLogistic } from './helpers/synthetic';
import { createRepositories } from '../src/store/repositories';

describe('HTTP API', () => {
  let stack: ApiStack;
  let db: TestDatabase;
  let stores: Stores;
  let api: RunningApi;
  let fileServer: http.Server;
  let fileServerUrl: string;

  const call = (method: string, url: string, body?: unknown, raw?: string, headers: Record<string, string> = {}): Promise<Reply> =>
    stack.call(method, url, body, { raw, headers });

  const waitFor = async (id: string, states: string[], timeoutMs = 60_000): Promise<any> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await call('GET', `/v1/pipelines/${id}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      if (states.includes(r.body.state)) return r.body;
      assert.ok(Date.now() < deadline, `pipeline ${id} stuck in ${r.body.state}/${r.body.stage}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  const assertError = (r: Reply, status: number, code: string, message?: RegExp) => {
    assert.equal(r.status, status, JSON.stringify(r.body));
    assert.equal(r.body.error.code, code);
    if (message) assert.match(r.body.error.message, message);
    assert.doesNotMatch(JSON.stringify(r.body), /\n\s+at |node_modules|\.ts:\d+/, 'no stack traces leave the server');
  };

  before(async () => {
    // An unseen dataset, served over HTTP: numeric target 0/1, some missing values.
    const { table } = syntheticLogistic({ rows: 2_000, weights: [1.2, -0.8, 0.6, 0], bias: -0.2, seed: 21, means: [50, 3, -10, 0], scales: [10, 1, 4, 2] });
    const label = table.columns.find((c) => c.name === 'label')!;
    if (label.kind === 'string') label.dictionary = ['0', '1'];
    const x1 = table.columns[0];
    if (x1.kind === 'number') for (let i = 0; i < x1.values.length; i += 17) x1.values[i] = NaN;
    const csv = toCanonicalCsv(table).replace(/^([^\n]*)label/, '$1churned');
    fileServer = http.createServer((req, res) => {
      if (req.url === '/churn.csv') { res.writeHead(200, { 'content-type': 'text/csv' }); res.end(csv); } else { res.writeHead(404); res.end(); }
    });
    await new Promise<void>((r) => fileServer.listen(0, '127.0.0.1', () => r()));
    fileServerUrl = `http://127.0.0.1:${(fileServer.address() as { port: number }).port}`;
    // loopback is an internal address: the file server's exact host and port are allowed, nothing else
    stack = await startApiStack({ backend: 'embedded', env: { MLOPS_TASK_QUEUE: 'api-test', MLOPS_MAX_BODY: '64kb', MLOPS_MAX_BATCH: '50', MLOPS_CODE_VERSION: 'api-test', MLOPS_URL_ALLOW: new URL(fileServerUrl).host } });
    ({ db, stores, api } = stack);

  });

  after(async () => {
    await stack.close();
    fileServer.close();
  });

  it('serves liveness, readiness and the OpenAPI document', async () => {
    assert.equal((await call('GET', '/healthz')).status, 200);
    const ready = await call('GET', '/readyz');
    assert.equal(ready.status, 200);
    assert.deepEqual(ready.body.checks, { database: 'ok', temporal: 'ok' });
    const doc = await call('GET', '/openapi.json');
    assert.equal(doc.body.openapi, '3.1.0');
    assert.ok(doc.body.paths['/v1/models/{name}/predict']);
    // every route the app serves is documented, with its method
    const routes = fs.readFileSync(path.join(__dirname, '..', 'src', 'api', 'app.ts'), 'utf8').matchAll(/app\.(get|post|put|delete)\('(\/v1\/[^']+)'/g);
    for (const [, method, route] of routes) {
      const documented = doc.body.paths[route.replace(/:(\w+)/g, '{$1}')];
      assert.ok(documented?.[method], `${method.toUpperCase()} ${route} is missing from the OpenAPI document`);
    }
    const docs = await fetch(`${api.url}/docs/`);
    assert.equal(docs.status, 200);
    assert.match(await docs.text(), /swagger-ui/i);
  });

  it('when a pipeline is started, approved and deployed, then the model answers predictions', async () => {
    const started = await call('POST', '/v1/pipelines', { model: 'cancer', data: { uri: BREAST_CANCER }, target: 'diagnosis', approval: { mode: 'manual', thresholds: { auc: 0.9 } } });
    assert.equal(started.status, 202);
    assert.match(started.body.id, /^train-cancer-[0-9a-f]{10}$/);
    assert.equal(started.headers.get('location'), `/v1/pipelines/${started.body.id}`);
    assert.equal(started.body.uiUrl, `http://ui.test/namespaces/default/workflows/${started.body.id}`);

    const waiting = await waitFor(started.body.id, ['awaiting_approval']);
    assert.equal(waiting.stage, 'approve');
    assert.ok(waiting.metrics.auc > 0.95);
    // the approver is whoever signed in: a key named "reviewer", not a name in the body
    const reviewer = await call('POST', '/v1/keys', { name: 'reviewer', role: 'approver' });
    const asReviewer = { authorization: `Bearer ${reviewer.body.token}` };
    assertError(await call('POST', `/v1/pipelines/${started.body.id}/approval`, { decision: 'approve', by: 'someone-else' }, undefined, asReviewer), 403, 'forbidden', /cannot name someone else/);
    const approved = await call('POST', `/v1/pipelines/${started.body.id}/approval`, { decision: 'approve', comment: 'ship it' }, undefined, asReviewer);
    assert.equal(approved.status, 202);
    const done = await waitFor(started.body.id, ['deployed', 'rejected', 'failed']);
    assert.equal(done.state, 'deployed');
    assert.equal(done.approval.decision.by, 'reviewer');

    const again = await call('POST', `/v1/pipelines/${started.body.id}/approval`, { decision: 'approve' });
    assertError(again, 409, 'conflict', /not awaiting approval \(state: deployed/);

    const models = await call('GET', '/v1/models');
    assert.deepEqual(models.body.models.map((m: any) => [m.name, m.productionVersion]), [['cancer', done.modelVersion]]);
    const model = await call('GET', '/v1/models/cancer');
    assert.equal(model.body.aliases.production, done.modelVersion);
    assert.equal(model.body.deployments.length, 1);
    const version = await call('GET', `/v1/models/cancer/versions/${done.modelVersion}`);
    assert.deepEqual([version.body.status, version.body.deployment], ['approved', 'production']);
    assert.deepEqual(Object.keys(version.body.artifacts), ['onnx', 'referenceProfile', 'smokeSet', 'evaluation']);
    assert.equal(version.body.pipelineInput.model, 'cancer');
    assert.equal(version.body.recipe.datasetId, version.body.datasetId);
    assert.equal(version.body.lineage.run.id, started.body.id);
    assert.equal(version.body.lineage.dataset.rowCount, 569);
    const dataset = await call('GET', `/v1/datasets/${version.body.datasetId}`);
    const radius = dataset.body.statistics.find((c: any) => c.name === 'radius_mean');
    assert.deepEqual([radius.count, radius.missing, radius.min, radius.max], [569, 0, 6.981, 28.11]);
    assert.deepEqual(dataset.body.statistics.find((c: any) => c.name === 'diagnosis').top, [{ value: 'benign', count: 357 }, { value: 'malignant', count: 212 }]);
    assertError(await call('GET', '/v1/datasets/abc'), 404, 'not_found');
    assert.equal(version.body.lineage.artifact.onnxSha256, done.onnxDigest);
    assert.equal(version.body.lineage.codeVersion, 'api-test');

    const runs = await call('GET', '/v1/runs?model=cancer');
    assert.equal(runs.body.runs.length, 1);
    const run = runs.body.runs[0];
    assert.deepEqual([run.runId, run.kind, run.task, run.datasetId, run.onnxDigest], [started.body.id, 'logistic', 'binary', version.body.datasetId, done.onnxDigest]);
    assert.equal(run.trials.length, 5);
    assert.equal(run.metrics.auc, done.metrics.auc);
    assert.ok(run.trainMs > 0);
    assert.equal((await call('GET', `/v1/runs/${started.body.id}`)).body.runId, started.body.id);
    assertError(await call('GET', '/v1/runs/nope'), 404, 'not_found');
    assertError(await call('GET', '/v1/runs?limit=0'), 400, 'invalid_request');

    const header = fs.readFileSync(BREAST_CANCER, 'utf8').split('\n')[0].split(',');
    const values = fs.readFileSync(BREAST_CANCER, 'utf8').split('\n')[1].split(',');
    const instance = Object.fromEntries(header.slice(0, 30).map((h, i) => [h, Number(values[i])]));
    // a row copied from the dataset, label included, is accepted: the label is not a feature and is ignored
    const predicted = await call('POST', '/v1/models/cancer/predict', { instances: [instance, { ...instance, radius_mean: null, diagnosis: 'malignant' }] });
    assert.equal(predicted.status, 200, JSON.stringify(predicted.body));
    assert.deepEqual(predicted.body.model, { name: 'cancer', version: done.modelVersion });
    assert.equal(predicted.body.predictions.length, 2);
    const p = predicted.body.predictions[0];
    assert.equal(p.label, 'malignant');
    // ground truth for a served prediction, by its id (the log is written within a second)
    // time-ordered (UUID version 7), so the log's primary key grows at one end
    assert.match(p.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.ok(Math.abs(parseInt(p.id.replaceAll('-', '').slice(0, 12), 16) - Date.now()) < 60_000, `${p.id} carries the time it was made`);
    let feedback: Reply;
    for (let tries = 0; ; tries++) {
      feedback = await call('POST', '/v1/feedback', { items: [{ predictionId: p.id, label: 'malignant' }, { predictionId: '00000000-0000-4000-8000-000000000000', label: 'benign' }] });
      if (feedback.status === 200 || tries > 40) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(feedback.body, { accepted: 1, unknown: ['00000000-0000-4000-8000-000000000000'] });
    const logged = await db.pool.query('SELECT p.model_name, p.version, p.output->>\'label\' AS label, f.label AS truth FROM prediction_log p JOIN feedback f ON f.prediction_id = p.id WHERE p.id = $1', [p.id]);
    assert.deepEqual(logged.rows, [{ model_name: 'cancer', version: done.modelVersion, label: 'malignant', truth: 'malignant' }]);
    assert.ok(Math.abs(p.probabilities.malignant + p.probabilities.benign - 1) < 1e-6);
  });

  it('when an unseen dataset arrives over HTTP with auto-approval, then it is deployed and served', async () => {
    const started = await call('POST', '/v1/pipelines', { model: 'churn', data: { uri: `${fileServerUrl}/churn.csv` }, target: 'churned', approval: { mode: 'auto', thresholds: { auc: 0.7 } } });
    assert.equal(started.status, 202);
    const done = await waitFor(started.body.id, ['deployed', 'rejected', 'failed']);
    assert.equal(done.state, 'deployed', JSON.stringify(done));
    const r = await call('POST', '/v1/models/churn/predict', { instances: [{ x1: 55, x2: 2.5, x3: -12, x4: 0.1 }, { x1: null, x2: 4, x3: -3, x4: 0 }] });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(Object.keys(r.body.predictions[0].probabilities).sort(), ['0', '1']);
  });

  it('when the target has three classes or is numeric, then softmax or ridge is trained and served', async () => {
    const iris = path.join(path.dirname(BREAST_CANCER), 'iris.csv');
    const species = await call('POST', '/v1/pipelines', { model: 'iris-species', data: { uri: iris }, target: 'species', approval: { mode: 'auto', thresholds: { macroF1: 0.8 } } });
    const width = await call('POST', '/v1/pipelines', { model: 'iris-width', data: { uri: iris }, target: 'petal_width', approval: { mode: 'auto', thresholds: { r2: 0.8, rmse: 0.5 } }, evaluation: { sliceBy: ['species'] } });
    const mlp = await call('POST', '/v1/pipelines', { model: 'iris-mlp', data: { uri: iris }, target: 'species', trainer: { kind: 'mlp', params: { hidden: [8] } }, approval: { mode: 'auto', thresholds: { macroF1: 0.8 } } });
    const sparse = await call('POST', '/v1/pipelines', { model: 'cancer-sparse', data: { uri: BREAST_CANCER }, target: 'diagnosis', trainer: { kind: 'logistic', params: { penalty: 'l1' }, search: { l2: [1e-2] } }, approval: { mode: 'auto', thresholds: { auc: 0.95 } } });
    const trees = await call('POST', '/v1/pipelines', { model: 'cancer-trees', data: { uri: BREAST_CANCER }, target: 'diagnosis', trainer: { kind: 'gbdt', params: { maxIter: 60, minSamplesLeaf: 10 }, search: { l2: [1] } }, approval: { mode: 'auto', thresholds: { auc: 0.95 } } });
    const a = await waitFor(species.body.id, ['deployed', 'rejected', 'failed']);
    const b = await waitFor(width.body.id, ['deployed', 'rejected', 'failed']);
    assert.deepEqual([a.state, a.task, a.kind], ['deployed', 'multiclass', 'softmax'], JSON.stringify(a));
    assert.equal(a.confusion.length, 3);
    assert.deepEqual([b.state, b.task, b.kind], ['deployed', 'regression', 'ridge'], JSON.stringify(b));
    // the text column species is a feature of the regression, one-hot encoded inside the graph
    const widthVersion = await call('GET', `/v1/models/iris-width/versions/${b.modelVersion}`);
    assert.deepEqual(widthVersion.body.signature.categorical, ['species']);
    assert.deepEqual(b.slices.map((x: any) => x.value), ['setosa', 'versicolor', 'virginica']);
    assert.equal(b.slices.reduce((sum: number, x: any) => sum + x.n, 0), b.metrics.n);
    assert.ok(b.slices.every((x: any) => typeof x.metrics.rmse === 'number'));

    const c = await waitFor(mlp.body.id, ['deployed', 'rejected', 'failed']);
    assert.deepEqual([c.state, c.task, c.kind], ['deployed', 'multiclass', 'mlp'], JSON.stringify(c));
    const flower = { sepal_length: 6.7, sepal_width: 3.0, petal_length: 5.2, petal_width: 2.3 };
    assert.equal((await call('POST', '/v1/models/iris-mlp/predict', { instances: [flower] })).body.predictions[0].label, 'virginica');
    const t = await waitFor(trees.body.id, ['deployed', 'rejected', 'failed']);
    assert.deepEqual([t.state, t.task, t.kind], ['deployed', 'binary', 'gbdt'], JSON.stringify(t));
    const treesVersion = await call('GET', `/v1/models/cancer-trees/versions/${t.modelVersion}`);
    const s = await waitFor(sparse.body.id, ['deployed', 'rejected', 'failed']);
    assert.equal(s.state, 'deployed', JSON.stringify(s));
    const sparseVersion = await call('GET', `/v1/models/cancer-sparse/versions/${s.modelVersion}`);
    assert.deepEqual([sparseVersion.body.params.modelParams, sparseVersion.body.params.l2], [{ penalty: 'l1' }, 1e-2]);
    assert.ok(treesVersion.body.params.search[0].iterations <= 60, 'the rounds kept are recorded');
    const p = await call('POST', '/v1/models/iris-species/predict', { instances: [flower] });
    assert.equal(p.body.predictions[0].label, 'virginica');
    assert.deepEqual(Object.keys(p.body.predictions[0].probabilities), ['setosa', 'versicolor', 'virginica']);
    const { petal_width: _w, ...rest } = flower;
    const v = await call('POST', '/v1/models/iris-width/predict', { instances: [{ ...rest, species: 'virginica' }] });
    assert.equal(v.status, 200, JSON.stringify(v.body));
    assert.ok(Math.abs(v.body.predictions[0].value - 2.0) < 0.5, `predicted width ${v.body.predictions[0].value}`);
    const unseen = await call('POST', '/v1/models/iris-width/predict', { instances: [{ ...rest, species: 'unknown-lily' }, { ...rest, species: null }] });
    assert.equal(unseen.status, 200, 'an unseen or missing category is answered, encoded as no category');
    assertError(await call('POST', '/v1/models/iris-width/predict', { instances: [{ ...rest, species: { name: 'x' } }] }), 400, 'invalid_request', /species must be a string \(a category\) or null, got object/);
  });

  it('when a model is versioned, aliased and rolled back under load, then serving follows at once and lineage tells the story', async () => {
    // under a data root (the temporary folder), never in the platform's data dir
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-fleet-')), 'fleet.csv');
    const original = fs.readFileSync(BREAST_CANCER, 'utf8');
    fs.writeFileSync(file, original);
    const train = async () => {
      const started = await call('POST', '/v1/pipelines', { model: 'fleet', data: { uri: file }, target: 'diagnosis', approval: { mode: 'auto', thresholds: { auc: 0.9 } }, seed: 3 });
      const done = await waitFor(started.body.id, ['deployed', 'rejected', 'failed']);
      assert.equal(done.state, 'deployed', JSON.stringify(done));
      return done;
    };
    const v1 = await train();
    // the same path with new content: a new dataset version whose parent is the first
    const [header, ...rows] = original.trim().split('\n');
    fs.writeFileSync(file, [header, ...rows.map((r) => { const cells = r.split(','); cells[0] = String(Number(cells[0]) * 1.5); return cells.join(','); })].join('\n') + '\n');
    const v2 = await train();
    assert.notEqual(v2.datasetId, v1.datasetId);

    // data versions: list, parent, diff
    const listed = await call('GET', `/v1/datasets?source=${encodeURIComponent(file)}`);
    assert.deepEqual(listed.body.datasets.map((d: any) => [d.id, d.parentId]), [[v2.datasetId, v1.datasetId], [v1.datasetId, null]]);
    const diff = await call('GET', `/v1/datasets/${v1.datasetId}/diff/${v2.datasetId}`);
    assert.equal(diff.status, 200, JSON.stringify(diff.body));
    const radius = diff.body.columns.find((c: any) => c.name === 'radius_mean');
    assert.ok(radius.notable && radius.mean.shiftInStd > 1, JSON.stringify(radius));
    assert.deepEqual([diff.body.added, diff.body.removed, diff.body.retyped], [[], [], []]);
    assert.equal(diff.body.columns.find((c: any) => c.name === 'texture_mean').notable, false);
    assertError(await call('GET', `/v1/datasets/${v1.datasetId}/diff/${'0'.repeat(64)}`), 404, 'not_found');

    // aliases: named ones point anywhere; production only at approved versions
    const aliased = await call('PUT', '/v1/models/fleet/aliases/champion', { version: v1.modelVersion, reason: 'best so far' });
    assert.equal(aliased.status, 200, JSON.stringify(aliased.body));
    assert.deepEqual(aliased.body.aliases, { champion: v1.modelVersion, production: v2.modelVersion });
    assertError(await call('PUT', '/v1/models/fleet/aliases/Bad%20Name', { version: 1 }), 400, 'invalid_request', /not a valid alias name/);
    assertError(await call('PUT', '/v1/models/fleet/aliases/champion', { version: 99 }), 404, 'not_found', /no version 99/);
    assertError(await call('PUT', '/v1/models/fleet/aliases/champion', { version: 'one' }), 400, 'invalid_request');

    // roll back while predictions keep coming: none fail, and the next ones come from version 1
    const instance = Object.fromEntries(header.split(',').slice(0, 30).map((h, i) => [h, Number(rows[0].split(',')[i])]));
    // this replica picks up version 2 by NOTIFY (or, failing that, within its one-second poll)
    for (let tries = 0; (await call('POST', '/v1/models/fleet/predict', { instances: [instance] })).body.model.version !== v2.modelVersion; tries++) {
      assert.ok(tries < 50, 'version 2 never served');
      await new Promise((r) => setTimeout(r, 100));
    }
    let stop = false;
    const seen: { status: number; version?: number }[] = [];
    const load = Array.from({ length: 4 }, async () => {
      while (!stop) {
        const r = await call('POST', '/v1/models/fleet/predict', { instances: [instance] });
        seen.push({ status: r.status, version: r.body?.model?.version });
      }
    });
    await new Promise((r) => setTimeout(r, 200));
    const rolled = await call('POST', '/v1/models/fleet/rollback', { reason: 'alerts fired' });
    assert.equal(rolled.status, 200, JSON.stringify(rolled.body));
    assert.deepEqual([rolled.body.deployment.version, rolled.body.deployment.previousVersion, rolled.body.deployment.strategy], [v1.modelVersion, v2.modelVersion, 'rollback']);
    assert.match(rolled.body.uiUrl, /rollback-fleet-/);
    const after = await call('POST', '/v1/models/fleet/predict', { instances: [instance] });
    assert.equal(after.body.model.version, v1.modelVersion, 'the first prediction after the rollback comes from the restored version');
    stop = true;
    await Promise.all(load);
    assert.ok(seen.length > 10, `only ${seen.length} predictions under load`);
    assert.deepEqual(seen.filter((s) => s.status !== 200), [], 'no prediction failed during the rollback');
    assert.deepEqual([...new Set(seen.map((s) => s.version))].sort(), [v1.modelVersion, v2.modelVersion]);

    const model = await call('GET', '/v1/models/fleet');
    assert.deepEqual(model.body.aliases, { champion: v1.modelVersion, production: v1.modelVersion });
    const v1History = model.body.history.filter((e: any) => e.version === v1.modelVersion).map((e: any) => [e.event, e.actor]);
    assert.deepEqual(v1History, [['registered', 'admin'], ['approved', 'policy:auto'], ['deployed', 'system'], ['retired', 'system'], ['alias_set', 'admin'], ['deployed', 'admin']]);
    assertError(await call('POST', '/v1/models/fleet/rollback', { toVersion: v1.modelVersion }), 409, 'conflict', /already in production/);
    assertError(await call('POST', '/v1/models/nobody/rollback', {}), 404, 'not_found');
    // archiving: never what serves; a scientist may not; an archived version is out of use for good
    assertError(await call('POST', `/v1/models/fleet/versions/${v1.modelVersion}/archive`, {}), 409, 'conflict', /is in production/);
    const scientist = await call('POST', '/v1/keys', { name: 'fleet-scientist', role: 'scientist' });
    assertError(await call('POST', `/v1/models/fleet/versions/${v2.modelVersion}/archive`, {}, undefined, { authorization: `Bearer ${scientist.body.token}` }), 403, 'forbidden');
    assert.equal((await call('GET', `/v1/models/fleet/versions/${v2.modelVersion}`)).body.status, 'approved', 'the refused request changed nothing');
    const archived = await call('POST', `/v1/models/fleet/versions/${v2.modelVersion}/archive`, { reason: 'superseded' });
    assert.deepEqual(archived.body, { model: 'fleet', version: v2.modelVersion, status: 'archived', deployment: 'retired' });
    assertError(await call('POST', '/v1/models/fleet/rollback', { toVersion: v2.modelVersion }), 409, 'conflict', /is archived; only approved versions/);
    assertError(await call('POST', '/v1/models/fleet/versions/999/archive', {}), 404, 'not_found');
    assertError(await call('POST', '/v1/models/fleet/rollback', { toVersion: 0 }), 400, 'invalid_request');

    // lineage both ways, with prediction counts (written every few seconds)
    let lineage: Reply;
    for (let tries = 0; ; tries++) {
      lineage = await call('GET', `/v1/lineage/models/fleet/versions/${v2.modelVersion}`);
      if (lineage.body.predictions.predictions > 0 || tries > 40) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(lineage.status, 200, JSON.stringify(lineage.body));
    assert.equal(lineage.body.dataset.id, v2.datasetId);
    assert.equal(lineage.body.dataset.parentId, v1.datasetId);
    assert.equal(lineage.body.run.runId, v2.id);
    assert.ok(lineage.body.predictions.predictions > 0, 'predictions served by version 2 are counted');
    assert.deepEqual(lineage.body.deployments.map((d: any) => d.strategy), ['direct']);
    const upstream = await call('GET', `/v1/lineage/datasets/${v1.datasetId}`);
    assert.deepEqual(upstream.body.children, [v2.datasetId]);
    // (other tests trained other models on the same bytes: one dataset version serves them all)
    assert.deepEqual(upstream.body.versions.filter((v: any) => v.model === 'fleet').map((v: any) => [v.version, v.aliases]), [[v1.modelVersion, ['champion', 'production']]]);
    assert.deepEqual(upstream.body.runs.filter((r: any) => r.model === 'fleet').map((r: any) => r.runId), [v1.id]);
    const events = (await call('GET', `/v1/lineage/models/fleet/versions/${v1.modelVersion}/openlineage`)).body.events;
    assert.deepEqual(events.map((e: any) => [e.eventType, e.job.name]), [['START', 'train.fleet'], ['COMPLETE', 'train.fleet'], ['COMPLETE', 'deploy.fleet'], ['COMPLETE', 'deploy.fleet']]);
    for (const e of events) {
      assert.match(e.run.runId, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.ok(!Number.isNaN(Date.parse(e.eventTime)) && e.producer && e.schemaURL.endsWith('#/$defs/RunEvent'));
    }
    assert.equal(events[1].inputs[0].name, v1.datasetId);
    assert.equal(events[1].outputs[0].name, `fleet/${v1.modelVersion}`);
    assertError(await call('GET', '/v1/lineage/models/fleet/versions/99'), 404, 'not_found');

    // reproduce over HTTP: byte-identical
    const reproduced = await call('POST', `/v1/models/fleet/versions/${v2.modelVersion}/reproduce`, {});
    assert.equal(reproduced.status, 200, JSON.stringify(reproduced.body));
    assert.deepEqual([reproduced.body.identical, reproduced.body.reproducedDigest], [true, v2.onnxDigest]);
    assertError(await call('POST', '/v1/models/fleet/versions/77/reproduce', {}), 404, 'not_found');
  });

  it('when the data cannot be read, then the run fails with a message that says why', async () => {
    assertError(await call('POST', '/v1/pipelines', { model: 'missing', data: { uri: '/no/such/file.csv' }, target: 'y' }), 400, 'invalid_request', /outside the folders this server reads data from \(MLOPS_DATA_ROOTS/);
    const missing = path.join(os.tmpdir(), 'mlops-no-such-folder', 'file.csv');
    const started = await call('POST', '/v1/pipelines', { model: 'missing', data: { uri: missing }, target: 'y' });
    const done = await waitFor(started.body.id, ['failed', 'deployed', 'rejected']);
    assert.equal(done.state, 'failed');
    assert.ok(done.error.includes(`data file not found: ${missing}`), done.error);
  });

  it('when the same Idempotency-Key is sent twice, even after its run ended, then one run is started', async () => {
    const body = { model: 'idem', data: { uri: BREAST_CANCER }, target: 'diagnosis', approval: { mode: 'manual', timeout: '1 hour' } };
    const a = await call('POST', '/v1/pipelines', body, undefined, { 'idempotency-key': 'k-123' });
    const b = await call('POST', '/v1/pipelines', body, undefined, { 'idempotency-key': 'k-123' });
    assert.equal(a.body.id, b.body.id);
    await waitFor(a.body.id, ['awaiting_approval']);
    assert.equal((await call('POST', `/v1/pipelines/${a.body.id}/approval`, { decision: 'reject' })).status, 202);
    assert.equal((await waitFor(a.body.id, ['rejected'])).state, 'rejected');
    // the key still means that run once it has ended: no second execution under its id, no second training
    const c = await call('POST', '/v1/pipelines', body, undefined, { 'idempotency-key': 'k-123' });
    assert.equal(c.status, 202, JSON.stringify(c.body));
    assert.equal(c.body.id, a.body.id);
    assert.equal((await waitFor(c.body.id, ['rejected'])).state, 'rejected', 'the ended run answers, not a new one');
    const executions = [];
    for await (const e of api.client.workflow.list({ query: `WorkflowId = '${a.body.id}'` })) executions.push(e.runId);
    assert.equal(executions.length, 1, `executions under ${a.body.id}: ${executions.join(', ')}`);
  });

  it('when the database is unreachable, then reads answer 503 and readiness says which check failed', async () => {
    const deadPool = createPool('postgres://postgres@127.0.0.1:1/none');
    const models = new ModelServer(deadPool, stores.artifacts, { maxBatch: 10 });
    const pipelines = new PipelineService(api.client, { taskQueue: 'api-test', uiUrl: (id) => id, useSearchAttributes: false, repos: createRepositories(deadPool), sources: stores.sources.policy });
    const server = http.createServer(createApp({ client: api.client, repos: createRepositories(deadPool), pool: deadPool, models, pipelines, registryOps: new RegistryService(api.client, { taskQueue: 'api-test', uiUrl: (id) => id }), rollouts: new RolloutService(api.client, createRepositories(deadPool), { taskQueue: 'api-test', uiUrl: (id) => id }), monitoring: new MonitoringService(api.client, createRepositories(deadPool), { taskQueue: 'api-test', uiUrl: (id) => id, every: '1h' }), batch: new BatchService(api.client, { taskQueue: 'api-test', uiUrl: (id) => id, repos: createRepositories(deadPool), sources: stores.sources.policy, checkSource: (data) => pipelines.checkSource(data) }), artifacts: stores.artifacts, access: new AccessControl({ repos: createRepositories(deadPool), adminKey: TEST_ADMIN_KEY, predict: 'open', feedback: 'key' }), secrets: stores.secrets, maxUploadBytes: 1024, slack: {}, privacy: { decryptionKeys: {} }, maxBody: '1kb', importOnnxVersion: importWorkflowMissing, uiUrl: (id) => id }));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const list = await fetch(`${url}/v1/models`, { headers: ADMIN_AUTH });
      assert.equal(list.status, 503);
      assert.equal(((await list.json()) as { error: { code: string } }).error.code, 'unavailable');
      const ready = await fetch(`${url}/readyz`);
      assert.equal(ready.status, 503);
      const checks = ((await ready.json()) as { checks: Record<string, string> }).checks;
      assert.equal(checks.temporal, 'ok');
      assert.notEqual(checks.database, 'ok');
    } finally {
      server.close();
      await deadPool.end();
    }
  });

  it('when Temporal does not know the namespace (as a cluster answers while its database restarts), then a start is a 503 naming it, not a 500', async () => {
    const elsewhere = new Client({ connection: api.client.connection, namespace: 'never-registered' });
    const pipelines = new PipelineService(elsewhere, { taskQueue: 'api-test', uiUrl: (id) => id, useSearchAttributes: false, repos: createRepositories(stores.pool), sources: stores.sources.policy });
    const err = await pipelines.start({ model: 'nowhere', data: { uri: BREAST_CANCER }, target: 'diagnosis' } as Parameters<PipelineService['start']>[0]).then(() => undefined, (e: unknown) => e);
    assert.ok(err, 'the start was accepted');
    const answer = errorAnswer(toApiError(err));
    assert.equal(answer.status, 503);
    assert.deepEqual(answer.body.error, { code: 'unavailable', message: 'Temporal does not know the namespace "never-registered" right now: it is not registered, or Temporal cannot read its own database; try again shortly' });
  });

  describe('bad input gets a clear 4xx', () => {
    const good = { model: 'm', data: { uri: BREAST_CANCER }, target: 'diagnosis' };

    it('refuses malformed JSON and oversized bodies', async () => {
      assertError(await call('POST', '/v1/pipelines', undefined, '{"model": '), 400, 'invalid_json');
      assertError(await call('POST', '/v1/pipelines', { ...good, padding: 'x'.repeat(70_000) }), 413, 'payload_too_large');
    });

    it('reads plain JSON bodies itself, leaves compressed ones and other charsets to body-parser, and keeps the connection after a 413', async () => {
      const base = stack.api.url;
      // not an object or an array
      assertError(await call('POST', '/v1/pipelines', undefined, '"just text"'), 400, 'invalid_json', /object or array/);
      // an empty body is an empty object, as express.json() reads it: the fields are then missing
      assertError(await call('POST', '/v1/pipelines', undefined, ''), 400, 'invalid_request', /model/);
      // gzip and a +json type go through body-parser, to the same validation
      const zipped = await fetch(`${base}/v1/pipelines`, { method: 'POST', headers: { ...ADMIN_AUTH, 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: zlib.gzipSync(JSON.stringify({ ...good, model: 'bad name!' })) });
      assertError({ status: zipped.status, body: await zipped.json(), headers: zipped.headers }, 400, 'invalid_request', /model/);
      assertError(await call('POST', '/v1/pipelines', undefined, JSON.stringify({ ...good, unexpected: 1 }), { 'content-type': 'application/vnd.api+json; charset=UTF-8' }), 400, 'invalid_request', /unexpected/i);
      const latin = await fetch(`${base}/v1/pipelines`, { method: 'POST', headers: { ...ADMIN_AUTH, 'content-type': 'application/json; charset=latin1' }, body: '{}' });
      assert.equal(latin.status, 400);
      // too large by its declared length (answered before the body is read) and by what is sent without one
      const chunked = await fetch(`${base}/v1/pipelines`, {
        method: 'POST', headers: { ...ADMIN_AUTH, 'content-type': 'application/json' }, duplex: 'half',
        body: new ReadableStream({ start(c) { for (let i = 0; i < 10; i++) c.enqueue(new TextEncoder().encode(' '.repeat(10_000))); c.close(); } }),
      } as RequestInit);
      assert.equal(chunked.status, 413);
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const send = (body: string, length = Buffer.byteLength(body)) => new Promise<{ status: number; text: string; socket: unknown }>((resolve, reject) => {
        const req = http.request(`${base}/v1/pipelines`, { method: 'POST', agent, headers: { ...ADMIN_AUTH, 'content-type': 'application/json', 'content-length': length } }, (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (d) => { text += d; }).on('end', () => resolve({ status: res.statusCode!, text, socket: req.socket }));
        });
        req.on('error', reject);
        req.end(body);
      });
      const big = JSON.stringify({ ...good, padding: 'x'.repeat(70_000) });
      const refused = await send(big);
      assert.equal(refused.status, 413, refused.text);
      assert.equal(JSON.parse(refused.text).error.code, 'payload_too_large');
      const next = await send(JSON.stringify({ ...good, model: 'bad name!' }));
      assert.equal(next.status, 400, next.text);
      assert.match(JSON.parse(next.text).error.message, /model/);
      assert.equal(next.socket, refused.socket, 'the refused body was read to its end, so the connection was reused');
      agent.destroy();
    });

    it('names each invalid or missing pipeline field', async () => {
      assertError(await call('POST', '/v1/pipelines', { model: 'm', data: { uri: 'x.csv' } }), 400, 'invalid_request', /target/);
      assertError(await call('POST', '/v1/pipelines', { ...good, model: 'bad name!' }), 400, 'invalid_request', /model/);
      assertError(await call('POST', '/v1/pipelines', { ...good, approval: { mode: 'sometimes' } }), 400, 'invalid_request', /approval\.mode/);
      assertError(await call('POST', '/v1/pipelines', { ...good, approval: { mode: 'manual', timeout: 'soon' } }), 400, 'invalid_request', /approval\.timeout/);
      assertError(await call('POST', '/v1/pipelines', { ...good, approval: { mode: 'auto', thresholds: { auc: 'high' } } }), 400, 'invalid_request', /thresholds/);
      assertError(await call('POST', '/v1/pipelines', { ...good, unexpected: 1 }), 400, 'invalid_request', /unexpected/i);
      assertError(await call('POST', '/v1/feedback', { predictionId: 'not-a-uuid', label: 'x' }), 400, 'invalid_request', /predictionId/);
      assertError(await call('POST', '/v1/feedback', { predictionId: '00000000-0000-4000-8000-000000000001', label: 'x' }), 404, 'not_found', /no served prediction has the id/);
      assertError(await call('POST', '/v1/feedback', { items: [] }), 400, 'invalid_request');
      assertError(await call('POST', '/v1/models/cancer/deployments', { version: 1, strategy: 'canary', steps: [50, 20, 100] }), 400, 'invalid_request', /steps must increase/);
      assertError(await call('POST', '/v1/models/cancer/deployments', { version: 1, strategy: 'canary', steps: [10, 50] }), 400, 'invalid_request', /the last step must be 100/);
      assertError(await call('POST', '/v1/models/cancer/deployments', { version: 1, strategy: 'blue-green', percent: 10 }), 400, 'invalid_request', /percent is for shadow/);
      assertError(await call('POST', '/v1/models/cancer/deployments', { version: 99, strategy: 'blue-green' }), 404, 'not_found', /no version 99/);
      assertError(await call('GET', '/v1/models/cancer/deployments/rollout-cancer-nope'), 404, 'not_found');
      assertError(await call('POST', '/v1/models/cancer/deployments/rollout-cancer-nope/abort', {}), 404, 'not_found');
      assertError(await call('POST', '/v1/models/cancer/deployments/rollout-cancer-nope/promote', { by: 7 }), 400, 'invalid_request', /by/);
      assertError(await call('GET', '/v1/datasets?limit=0'), 400, 'invalid_request', /limit/);
      assertError(await call('PUT', '/v1/models/cancer/aliases/champion', { version: 1, extra: true }), 400, 'invalid_request');
      assertError(await call('POST', '/v1/pipelines', { ...good, trainer: { kind: 'xgboost' } }), 400, 'invalid_request', /"xgboost" is not supported; available: logistic, softmax, ridge, mlp, gbdt/);
      assertError(await call('POST', '/v1/pipelines', { ...good, trainer: { kind: 'mlp', params: { hidden: [8, 8, 8] } } }), 400, 'invalid_request', /hidden/);
      assertError(await call('POST', '/v1/pipelines', { ...good, trainer: { kind: 'forest' } }), 400, 'invalid_request', /available: logistic/);
      assertError(await call('POST', '/v1/pipelines', [1, 2]), 400, 'invalid_request');
      assertError(await call('POST', '/v1/pipelines', { ...good, trainer: { search: { strategy: 'random', l2Range: [1, 0.1] } } }), 400, 'invalid_request', /range holds no value/);
      assertError(await call('POST', '/v1/pipelines', { ...good, trainer: { search: { strategy: 'halving', l2: [0.1] } } }), 400, 'invalid_request', /random and halving sample from l2Range/);
      assertError(await call('POST', '/v1/pipelines', { ...good, trainer: { search: { strategy: 'bayes' } } }), 400, 'invalid_request', /strategy/);
      assertError(await call('POST', '/v1/pipelines', { ...good, evaluation: { sliceBy: 'region' } }), 400, 'invalid_request', /evaluation\.sliceBy/);
    });

    it('answers 404 for unknown pipelines, models, versions and routes', async () => {
      assertError(await call('GET', '/v1/pipelines/train-nope-123'), 404, 'not_found', /does not exist/);
      assertError(await call('POST', '/v1/pipelines/train-nope-123/approval', { decision: 'approve' }), 404, 'not_found');
      assertError(await call('GET', '/v1/models/nope'), 404, 'not_found');
      assertError(await call('GET', '/v1/models/cancer/versions/999'), 404, 'not_found');
      assertError(await call('GET', '/v1/models/cancer/versions/abc'), 400, 'invalid_request');
      assertError(await call('POST', '/v1/models/nope/predict', { instances: [{}] }), 404, 'not_found', /no deployed version/);
      assertError(await call('GET', '/v1/nothing-here'), 404, 'not_found');
    });

    it('refuses a bad approval decision', async () => {
      assertError(await call('POST', '/v1/pipelines/x/approval', { decision: 'maybe' }), 400, 'invalid_request', /decision/);
    });

    it('answers predict alike in front of Express and through it, errors included', async () => {
      // the canonical form is answered by the fast path; a trailing slash or a query goes through Express
      const header = fs.readFileSync(BREAST_CANCER, 'utf8').split('\n')[0].split(',').slice(0, 30);
      const ok = Object.fromEntries(header.map((h) => [h, 1]));
      const bodies: [string, string | undefined, Record<string, string>?][] = [
        ['a valid row', JSON.stringify({ instances: [ok] })],
        ['not JSON', '{"instances": ['],
        ['not an object', '"text"'],
        ['an array', JSON.stringify([ok])],
        ['a missing feature', JSON.stringify({ instances: [{ ...ok, radius_mean: undefined }] })],
        ['NUL in a key', JSON.stringify({ instances: [{ ...ok, 'bad\u0000key': 1 }] })],
        ['too large', JSON.stringify({ instances: [ok], padding: 'x'.repeat(70_000) })],
      ];
      for (const [what, raw] of bodies) {
        const fast = await call('POST', '/v1/models/cancer/predict', undefined, raw);
        const viaExpress = await call('POST', '/v1/models/cancer/predict?via=express', undefined, raw);
        assert.equal(fast.status, viaExpress.status, `${what}: ${JSON.stringify(fast.body)} / ${JSON.stringify(viaExpress.body)}`);
        if (fast.status === 200) {
          assert.deepEqual(fast.body.predictions.map((p: { probabilities: unknown }) => p.probabilities), viaExpress.body.predictions.map((p: { probabilities: unknown }) => p.probabilities), what);
        } else {
          assert.equal(fast.body.error.code, viaExpress.body.error.code, what);
          assert.equal(fast.body.error.message, viaExpress.body.error.message, what);
        }
        assert.equal(fast.headers.get('content-type'), 'application/json; charset=utf-8', what);
      }
      for (const path of ['/v1/models/no-such-model/predict', '/v1/models/no-such-model/predict/']) {
        assertError(await call('POST', path, { instances: [ok] }), 404, 'not_found', /no deployed version/);
      }
      // a client that leaves half-way through its body: the server lets go of it and keeps answering
      const socket = net.connect(Number(new URL(stack.api.url).port), '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.write('POST /v1/models/cancer/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"instances": [');
      await new Promise((resolve) => setTimeout(resolve, 50));
      socket.destroy();
      // a routing key reaches the model server either way
      const keyed = await call('POST', '/v1/models/cancer/predict', { instances: [ok] }, undefined, { 'x-routing-key': 'user-7' });
      assert.equal(keyed.status, 200);
    });

    it('checks prediction requests against the model signature', async () => {
      const header = fs.readFileSync(BREAST_CANCER, 'utf8').split('\n')[0].split(',').slice(0, 30);
      const ok = Object.fromEntries(header.map((h) => [h, 1]));
      const { radius_mean: _dropped, ...missing } = ok;
      const predict = (body: unknown) => call('POST', '/v1/models/cancer/predict', body);
      assertError(await predict([ok]), 400, 'invalid_request', /JSON object/);
      assertError(await predict({}), 400, 'invalid_request', /"instances" must be an array/);
      assertError(await predict({ instances: [] }), 400, 'invalid_request', /empty/);
      assertError(await predict({ instances: Array(51).fill(ok) }), 400, 'invalid_request', /51 rows; at most 50/);
      assertError(await predict({ instances: [missing] }), 400, 'invalid_request', /missing feature\(s\): radius_mean/);
      assertError(await predict({ instances: [{ ...ok, shoe_size: 44 }] }), 400, 'invalid_request', /unknown feature\(s\): shoe_size/);
      assertError(await predict({ instances: [{ ...ok, radius_mean: '17.9' }] }), 400, 'invalid_request', /radius_mean must be a number or null, got string/);
      assertError(await predict({ instances: [ok, 'row'] }), 400, 'invalid_request', /instances\[1\] must be an object/);
      const many = await predict({ instances: [missing, { ...ok, area_mean: true }] });
      assert.equal(many.body.error.details.problems.length, 2);
      // one row with every kind of problem: what is missing and unknown first, then each wrong value
      const { texture_mean: _also, ...twoMissing } = missing;
      const all = await predict({ instances: [ok, { ...twoMissing, shoe_size: 44, area_mean: 'big', perimeter_mean: { value: 1 } }] });
      assert.deepEqual(all.body.error.details.problems, [
        'instances[1] is missing feature(s): radius_mean, texture_mean',
        `instances[1] has unknown feature(s): shoe_size (the model takes ${header.join(', ')})`,
        'instances[1].perimeter_mean must be a number or null, got object',
        'instances[1].area_mean must be a number or null, got string',
      ]);
    });
  });
});
