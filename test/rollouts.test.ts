/**
 * Rollouts end to end on the real stack (Temporal, the metadata store, a worker, the API): blue-green,
 * canary promotion, canary rollback on a breach and shadow mode, each under constant load with zero
 * failed requests; corrupt and incompatible files stopped by the smoke test; and a second API process
 * that follows every change and whose death loses nothing.
 */
import assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { RunningApi, Stores } from '../src/stack/runtime';
import * as registry from '../src/store/registry';
import { ApiStack, startApiStack, TEST_ADMIN_KEY } from './helpers/api-stack';
import { TestDatabase } from './helpers/database';
import { BREAST_CANCER } from './helpers/pipeline-env';
import { eventually } from './helpers/eventually';
import { REPO_ROOT } from './helpers/temporal';

const CLI = path.join(REPO_ROOT, 'src', 'cli.ts');
const freePort = () => new Promise<number>((resolve) => { const s = net.createServer().listen(0, '127.0.0.1', () => { const { port } = s.address() as net.AddressInfo; s.close(() => resolve(port)); }); });

describe('rollouts', () => {
  let stack: ApiStack;
  let temporal: TestWorkflowEnvironment;
  let db: TestDatabase;
  let stores: Stores;
  let api: RunningApi;
  let dataDir: string;
  const header = fs.readFileSync(BREAST_CANCER, 'utf8').trim().split('\n');
  const names = header[0].split(',').slice(0, 30);
  const rows = header.slice(1).map((line) => Object.fromEntries(line.split(',').slice(0, 30).map((v, i) => [names[i], Number(v)])));

  const call = (method: string, url: string, body?: unknown, base = api.url, headers: Record<string, string> = {}) => stack.call(method, url, body, { base, headers });

  /** Trains a version of `model` (auto-approved, so it deploys), from `file` when given. */
  const train = async (model: string, seed: number, file = BREAST_CANCER, target = 'diagnosis') => {
    const started = await call('POST', '/v1/pipelines', { model, data: { uri: file }, target, approval: { mode: 'auto' }, seed });
    return (await stack.waitRun(started.body.id, ['deployed'])).modelVersion as number;
  };

  /** Steady predict traffic on a model until stopped: every answer's status and serving version. */
  const load = (model: string, base = () => api.url, workers = 3) => {
    let running = true;
    const seen: { status: number; version?: number; error?: string }[] = [];
    const loops = Array.from({ length: workers }, async (_, w) => {
      for (let i = 0; running; i++) {
        try {
          const r = await call('POST', `/v1/models/${model}/predict`, { instances: [rows[(i * workers + w) % rows.length]] }, base());
          seen.push({ status: r.status, version: r.body?.model?.version, ...(r.status !== 200 ? { error: JSON.stringify(r.body) } : {}) });
        } catch (err) {
          seen.push({ status: 0, error: (err as Error).message });
        }
      }
    });
    return { seen, stop: async () => { running = false; await Promise.all(loops); return seen; } };
  };

  const waitRollout = async (model: string, id: string, historyFile?: string) => {
    let last: any;
    const done = await eventually(() => `rollout ${id} of ${model} to end; last: ${JSON.stringify(last)}`, async () => {
      const r = await call('GET', `/v1/models/${model}/deployments/${id}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      last = r.body;
      return r.body.error || !['running', 'preparing'].includes(r.body.status?.state ?? r.body.state) ? r.body : undefined;
    }, { everyMs: 200 });
    // with RECORD_HISTORIES=1, keep the history for test/replay.test.ts
    if (historyFile && process.env.RECORD_HISTORIES) {
      fs.writeFileSync(path.join(__dirname, 'fixtures', 'histories', historyFile), historyToJSON(await temporal.client.workflow.getHandle(id).fetchHistory()));
    }
    return done;
  };

  const assertConflict = (r: { status: number; body: any }, message: RegExp) => {
    assert.equal(r.status, 409, JSON.stringify(r.body));
    assert.match(r.body.error.message, message);
  };

  /** Two approved versions with v1 in production: train both (each deploys), then roll back to v1. */
  const twoVersions = async (model: string) => {
    const v1 = await train(model, 1);
    const v2 = await train(model, 2);
    await call('POST', `/v1/models/${model}/rollback`, { toVersion: v1, by: 'test' });
    return { v1, v2 };
  };

  before(async () => {
    stack = await startApiStack({ env: { MLOPS_TASK_QUEUE: 'rollout-test', MLOPS_CODE_VERSION: 'rollout-test' } });
    ({ temporal, db, stores, api, dataDir } = stack);
  });
  after(() => stack.close());

  it('when a version is deployed blue-green under load, then the switch is atomic and no request fails', async () => {
    const { v2 } = await twoVersions('bg');
    const traffic = load('bg');
    // the previous version's traffic over the bake time before the switch is the baseline: let it cover
    // the dataset's rows (the load cycles through them) so the two output distributions compare fairly
    await new Promise((r) => setTimeout(r, 2500));
    const started = await call('POST', '/v1/models/bg/deployments', { version: v2, strategy: 'blue-green', bakeSeconds: 2, by: 'alice' });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    const done = await waitRollout('bg', started.body.id, 'blue-green-completed.json');
    await new Promise((r) => setTimeout(r, 300));
    const seen = await traffic.stop();
    assert.equal(done.status.state, 'completed', JSON.stringify(done));
    assert.deepEqual(seen.filter((s) => s.status !== 200), []);
    // before the switch only v1 answered, after it only v2: no interleaving back
    const versions = seen.map((s) => s.version);
    const firstV2 = versions.indexOf(v2);
    assert.ok(firstV2 > 0 && versions.slice(firstV2 + 3 * 3).every((v) => v === v2), 'after the switch every request goes to the new version');
    assert.equal((await registry.getAliasVersion(stores.pool, 'bg', 'production'))?.version, v2);
    const deployments = (await call('GET', '/v1/models/bg/deployments')).body;
    assert.equal(deployments.rollouts[0].state, 'completed');
    assert.ok(deployments.deployments.some((d: any) => d.strategy === 'blue-green' && d.version === v2 && d.actor === 'alice'));
    // the rollout is over: a late decision is refused
    assertConflict(await call('POST', `/v1/models/bg/deployments/${started.body.id}/promote`, { by: 'bob' }), /is not running \(state: completed\)/);
  });

  it('when a canary passes every step under load, then it is promoted with zero failed requests, routing each key to one version', async () => {
    const { v1, v2 } = await twoVersions('canary-good');
    const traffic = load('canary-good');
    const started = await call('POST', '/v1/models/canary-good/deployments', { version: v2, strategy: 'canary', steps: [30, 60, 100], bakeSeconds: 3 });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    // during a step, one routing key always sees one version
    await eventually('the canary at its first step, 30%', async () => (await call('GET', `/v1/models/canary-good/deployments/${started.body.id}`)).body.status?.percent === 30 || undefined);
    await api.refresh();
    const sticky = new Set<number>();
    for (let i = 0; i < 10; i++) sticky.add((await call('POST', '/v1/models/canary-good/predict', { instances: [rows[0]] }, api.url, { 'X-Routing-Key': 'user-42' })).body.model.version);
    assert.equal(sticky.size, 1, 'a routing key sticks to one version');
    const done = await waitRollout('canary-good', started.body.id, 'canary-promoted.json');
    const seen = await traffic.stop();
    assert.equal(done.status.state, 'promoted', JSON.stringify(done.status));
    assert.deepEqual(seen.filter((s) => s.status !== 200), []);
    assert.ok(seen.some((s) => s.version === v1) && seen.some((s) => s.version === v2), 'both versions answered during the canary');
    assert.equal(done.status.comparisons.length, 2);
    const last = done.status.comparisons[1];
    assert.ok(last.candidate.requests > 0 && last.production.requests > 0, JSON.stringify(last));
    assert.ok(last.psi !== null && last.psi < 0.2, `PSI ${last.psi}`);
    assert.equal((await registry.getAliasVersion(stores.pool, 'canary-good', 'production'))?.version, v2);
    const metrics = await (await fetch(`${api.url}/metrics`)).text();
    assert.match(metrics, new RegExp(`mlops_predict_requests_total\\{model="canary-good",version="${v2}",outcome="ok"\\} \\d+`));
    assert.match(metrics, /mlops_predict_latency_seconds_bucket\{le="0.005",model="canary-good"/);
    // rows per ONNX run (micro-batching), and the process's own health: event-loop delay and GC pauses
    assert.match(metrics, new RegExp(`mlops_inference_batch_rows_count\\{model="canary-good",version="${v2}"\\} [1-9]`));
    assert.match(metrics, /^nodejs_eventloop_lag_p99_seconds \d/m);
    assert.match(metrics, /^nodejs_gc_duration_seconds_count\{kind="minor"\} \d/m);
  });

  it('when a canary answers unlike production, then the analysis rolls it back and no request fails', async () => {
    // the same data with its labels swapped: a model that answers the opposite
    const swapped = path.join(dataDir, 'swapped.csv');
    fs.writeFileSync(swapped, fs.readFileSync(BREAST_CANCER, 'utf8').replace(/malignant|benign/g, (m) => (m === 'malignant' ? 'benign' : 'malignant')));
    const v1 = await train('canary-bad', 1);
    const bad = await train('canary-bad', 1, swapped);
    await call('POST', '/v1/models/canary-bad/rollback', { toVersion: v1 });
    const traffic = load('canary-bad');
    const started = await call('POST', '/v1/models/canary-bad/deployments', { version: bad, strategy: 'canary', steps: [50, 100], bakeSeconds: 3 });
    const done = await waitRollout('canary-bad', started.body.id, 'canary-rolled-back.json');
    await api.refresh(); // as every replica does on the notification, or at its next poll
    const reloaded = traffic.seen.length; // the few requests in flight were routed before the reload
    await eventually('requests answered after the reload', () => traffic.seen.length > reloaded + 10 || undefined, { everyMs: 20 });
    const seen = await traffic.stop();
    assert.equal(done.status.state, 'rolled_back', JSON.stringify(done.status));
    assert.match(done.status.reason, /output distribution shifted: PSI/);
    assert.deepEqual(seen.filter((s) => s.status !== 200), []);
    assert.equal((await registry.getAliasVersion(stores.pool, 'canary-bad', 'production'))?.version, v1);
    assert.equal(seen.at(-1)!.version, v1, 'production serves alone again');
    const audit = await stores.pool.query("SELECT actor, details FROM audit_events WHERE action = 'rollout.rolled_back' AND subject = 'canary-bad'");
    assert.equal(audit.rows[0].actor, 'canary-analysis');
  });

  it('when a version shadows production, then it never answers and its agreement is reported', async () => {
    const { v1, v2 } = await twoVersions('shadowed');
    const traffic = load('shadowed');
    const started = await call('POST', '/v1/models/shadowed/deployments', { version: v2, strategy: 'shadow', percent: 100, bakeSeconds: 3 });
    const done = await waitRollout('shadowed', started.body.id, 'shadow-completed.json');
    const seen = await traffic.stop();
    assert.equal(done.status.state, 'completed', JSON.stringify(done.status));
    assert.deepEqual([...new Set(seen.map((s) => s.version))], [v1], 'only production answers');
    const report = done.status.comparisons[0].candidate;
    assert.ok(report.shadowRows > 10 && report.agreement > 0.9, JSON.stringify(report));
    assert.equal((await registry.getAliasVersion(stores.pool, 'shadowed', 'production'))?.version, v1);
  });

  it('when a version is corrupt or takes other inputs, then the smoke test refuses it and the previous version keeps serving', async () => {
    const v1 = await train('guarded', 1);
    await train('iris-elsewhere', 1, path.join(path.dirname(BREAST_CANCER), 'iris.csv'), 'species');
    const good = await registry.getVersion(stores.pool, 'guarded', v1);
    const register = async (runId: string, onnxDigest: string) => {
      const v = await registry.registerVersion(stores.pool, { modelName: 'guarded', runId, onnxDigest, signature: good!.signature, metrics: {}, params: good!.params, datasetId: good!.datasetId });
      await registry.decideVersion(stores.pool, 'guarded', v.version, 'approved', { actor: 'test' });
      return v.version;
    };
    const corrupt = await register('corrupt-run', await stores.artifacts.put(Buffer.from('not an onnx file at all')));
    // a valid ONNX file that takes other inputs (iris's four features, not the thirty it claims)
    const otherIris = (await stores.pool.query("SELECT onnx_digest FROM model_versions WHERE model_name = 'iris-elsewhere'")).rows[0].onnx_digest;
    for (const [version, why] of [[corrupt, /does not load/], [await register('iris-run', otherIris), /cannot answer its own test rows/]] as [number, RegExp][]) {
      const started = await call('POST', '/v1/models/guarded/deployments', { version, strategy: 'blue-green', bakeSeconds: 0 });
      const done = await waitRollout('guarded', started.body.id);
      assert.equal(done.state, 'failed', JSON.stringify(done));
      assert.match(done.error, /failed its smoke test/);
      assert.match(done.error, why);
    }
    // refused rollouts are listed, as failed with their reason
    const listed = (await call('GET', '/v1/models/guarded/deployments')).body.rollouts;
    assert.deepEqual(listed.map((r: any) => r.state), ['failed', 'failed']);
    assert.ok(listed.every((r: any) => /failed its smoke test/.test(r.analysis.refused)), JSON.stringify(listed));
    // forced past the workflow straight into the registry, the replica still refuses it
    await registry.deployVersion(stores.pool, 'guarded', corrupt, 'forced', { actor: 'test' });
    await api.refresh();
    const r = await call('POST', '/v1/models/guarded/predict', { instances: [rows[0]] });
    assert.equal(r.status, 200);
    assert.equal(r.body.model.version, v1, 'the previous version keeps serving');
  });

  it('when a second API process runs, then it follows every change within a second, and killing one loses nothing', async () => {
    const port = await freePort();
    const second = `http://127.0.0.1:${port}`;
    const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', CLI, 'api'], {
      cwd: REPO_ROOT,
      env: { ...process.env, MLOPS_DATA_DIR: dataDir, MLOPS_API_PORT: String(port), TEMPORAL_ADDRESS: temporal.address, DATABASE_URL: db.url, MLOPS_TASK_QUEUE: 'rollout-test', MLOPS_ADMIN_KEY: TEST_ADMIN_KEY },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      for (let tries = 0; ; tries++) {
        if ((await fetch(`${second}/readyz`).then((r) => r.status, () => 0)) === 200) break;
        assert.ok(tries < 300, 'the second API did not start');
        await new Promise((r) => setTimeout(r, 100));
      }
      const { v1, v2 } = await twoVersions('replicated');
      const served = async (base: string) => (await call('POST', '/v1/models/replicated/predict', { instances: [rows[1]] }, base)).body.model.version;
      for (let tries = 0; (await served(second)) !== v1; tries++) { assert.ok(tries < 30); await new Promise((r) => setTimeout(r, 100)); }
      const moved = Date.now();
      await call('POST', '/v1/models/replicated/rollback', { toVersion: v2 });
      for (let tries = 0; (await served(second)) !== v2; tries++) { assert.ok(tries < 30, 'the second replica did not follow'); await new Promise((r) => setTimeout(r, 50)); }
      const lag = Date.now() - moved;
      assert.ok(lag < 1500, `the second replica followed after ${lag} ms`);
      // the first API dies; the second still serves v2, and the state is all in the store
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      assert.equal(await served(api.url), v2);
      assert.equal((await registry.getAliasVersion(stores.pool, 'replicated', 'production'))?.version, v2);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
