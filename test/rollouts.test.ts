/**
 * Rollouts end to end on the real stack (Temporal, the metadata store, a worker, the API): blue-green,
 * canary promotion, canary rollback on a breach and shadow mode, each under constant load with zero
 * failed requests; a rollback for each kind of breach (errors, p99 latency, output distribution, live
 * accuracy from labelled feedback), each with real inference (ONNX files that fail or are slow in
 * serving: test/onnx-variants.ts); a step that bakes longer for want of traffic, then holds and alerts;
 * a person promoting or aborting a running rollout; blue-green switching back; corrupt and incompatible
 * files stopped by the smoke test; and a second API process that follows every change and whose death,
 * under traffic, loses no request.
 */
import assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { RunningApi, Stores } from '../src/stack/runtime';
import * as registry from '../src/store/registry';
import { fixedBatch, slow } from './onnx-variants';
import { ApiStack, startApiStack, TEST_ADMIN_KEY } from './helpers/api-stack';
import { TestDatabase } from './helpers/database';
import { BREAST_CANCER } from './helpers/pipeline-env';
import { eventually } from './helpers/eventually';
import { REPO_ROOT } from './helpers/temporal';
import type { ModelVersion } from '../src/domain/model-version';

const CLI = path.join(REPO_ROOT, 'src', 'cli.ts');
const freePort = () => new Promise<number>((resolve) => { const s = net.createServer().listen(0, '127.0.0.1', () => { const { port } = s.address() as net.AddressInfo; s.close(() => resolve(port)); }); });

describe('rollouts', () => {
  let stack: ApiStack;
  let temporal: TestWorkflowEnvironment;
  let db: TestDatabase;
  let stores: Stores;
  let api: RunningApi;
  let dataDir: string;
  let sourceDir: string;
  const header = fs.readFileSync(BREAST_CANCER, 'utf8').trim().split('\n');
  const names = header[0].split(',').slice(0, 30);
  const rows = header.slice(1).map((line) => Object.fromEntries(line.split(',').slice(0, 30).map((v, i) => [names[i], Number(v)])));

  const call = (method: string, url: string, body?: unknown, base = api.url, headers: Record<string, string> = {}) => stack.call(method, url, body, { base, headers });

  /** Trains a version of `model` (auto-approved, so it deploys), from `file` when given. */
  const train = async (model: string, seed: number, file = BREAST_CANCER, target = 'diagnosis') => {
    const started = await call('POST', '/v1/pipelines', { model, data: { uri: file }, target, approval: { mode: 'auto' }, seed });
    return (await stack.waitRun(started.body.id, ['deployed'])).modelVersion as number;
  };

  const labels = header.slice(1).map((line) => line.split(',')[30]);

  /**
   * Steady predict traffic on a model until stopped: every answer's status and serving version. With
   * `feedback`, every prediction's true label is sent to POST /v1/feedback once the prediction is logged.
   */
  const load = (model: string, base = () => api.url, workers = 3, o: { feedback?: boolean } = {}) => {
    let running = true;
    const seen: { status: number; version?: number; error?: string }[] = [];
    const unlabelled: { predictionId: string; label: string; at: number }[] = [];
    const loops = Array.from({ length: workers }, async (_, w) => {
      for (let i = 0; running; i++) {
        const row = (i * workers + w) % rows.length;
        try {
          const r = await call('POST', `/v1/models/${model}/predict`, { instances: [rows[row]] }, base());
          seen.push({ status: r.status, version: r.body?.model?.version, ...(r.status !== 200 ? { error: JSON.stringify(r.body) } : {}) });
          if (o.feedback && r.status === 200) unlabelled.push({ predictionId: r.body.predictions[0].id, label: labels[row], at: Date.now() });
        } catch (err) {
          seen.push({ status: 0, error: (err as Error).message });
        }
      }
    });
    // a prediction is logged within a flush (200 ms): label those older than that, and again any not yet logged
    const labelling = (async () => {
      while (running && o.feedback) {
        await new Promise((r) => setTimeout(r, 300));
        const ready = unlabelled.filter((u) => Date.now() - u.at > 400);
        if (ready.length === 0) continue;
        const r = await call('POST', '/v1/feedback', { items: ready.map(({ predictionId, label }) => ({ predictionId, label })) });
        const unknown = new Set<string>(r.body?.unknown ?? r.body?.error?.details?.unknown ?? []);
        for (const u of ready) if (!unknown.has(u.predictionId) || Date.now() - u.at > 5000) unlabelled.splice(unlabelled.indexOf(u), 1);
      }
    })();
    const traffic = { seen, stop: async () => { running = false; loads.delete(traffic); await Promise.all([...loops, labelling]); return seen; } };
    loads.add(traffic);
    return traffic;
  };
  /** Traffic still running when a test ends (it failed before stopping it) is stopped, so the file can end. */
  const loads = new Set<{ stop(): Promise<unknown> }>();
  afterEach(async () => { await Promise.all([...loads].map((t) => t.stop())); });

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
    await call('POST', `/v1/models/${model}/rollback`, { toVersion: v1 });
    return { v1, v2 };
  };

  /** Registers a trained version's files (or other ONNX bytes with the same signature) as an approved version of `model`. */
  const copyVersion = async (model: string, source: ModelVersion, tag: string, onnxBytes?: Uint8Array) => {
    const onnxDigest = onnxBytes ? await stores.artifacts.put(onnxBytes) : source.onnxDigest;
    const v = await registry.registerVersion(stores.pool, { modelName: model, runId: `${model}-${tag}`, onnxDigest, signature: source.signature, metrics: source.metrics, params: source.params, artifacts: { smokeSet: source.artifacts.smokeSet }, datasetId: source.datasetId });
    await registry.transitionVersion(stores.pool, model, v.version, 'approved', { actor: 'test' });
    return v.version;
  };

  /** Trained once for the tests that need them: a good version, and one trained on swapped labels. */
  let sources: Promise<{ good: ModelVersion; swapped: ModelVersion }> | undefined;
  const trained = () => sources ??= (async () => {
    const swappedFile = path.join(sourceDir, 'swapped-source.csv');
    fs.writeFileSync(swappedFile, fs.readFileSync(BREAST_CANCER, 'utf8').replace(/malignant|benign/g, (m) => (m === 'malignant' ? 'benign' : 'malignant')));
    const good = await registry.getVersion(stores.pool, 'source', await train('source', 1));
    const swapped = await registry.getVersion(stores.pool, 'source', await train('source', 1, swappedFile));
    return { good: good!, swapped: swapped! };
  })();

  /** A model with a copy of the good version in production and `candidate` (bytes or a version) registered beside it. */
  const productionAnd = async (model: string, candidate: (s: { good: ModelVersion; swapped: ModelVersion }) => Promise<Uint8Array> | ModelVersion) => {
    const s = await trained();
    const production = await copyVersion(model, s.good, 'production');
    await registry.deployVersion(stores.pool, model, production, `${model}:production`, { actor: 'test' });
    const made = await candidate(s);
    const next = made instanceof Uint8Array ? await copyVersion(model, s.good, 'candidate', made) : await copyVersion(model, made, 'candidate');
    await api.refresh();
    return { production, candidate: next };
  };
  const goodBytes = async (s: { good: ModelVersion }) => stores.artifacts.get(s.good.onnxDigest);

  const start = async (model: string, body: Record<string, unknown>) => {
    const started = await call('POST', `/v1/models/${model}/deployments`, body);
    assert.equal(started.status, 202, JSON.stringify(started.body));
    return started.body.id as string;
  };
  const statusOf = async (model: string, id: string) => (await call('GET', `/v1/models/${model}/deployments/${id}`)).body;
  const alertsOf = async (model: string) => (await call('GET', `/v1/alerts?model=${model}`)).body.alerts as { severity: string; title: string; summary: string }[];

  before(async () => {
    // data written by the tests, under a data root but outside the platform's data dir (never a source)
    sourceDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rollout-sources-'));
    stack = await startApiStack({ env: { MLOPS_TASK_QUEUE: 'rollout-test', MLOPS_CODE_VERSION: 'rollout-test' } });
    ({ temporal, db, stores, api, dataDir } = stack);
  });
  after(async () => { await stack.close(); fs.rmSync(sourceDir, { recursive: true, force: true }); });

  it('when a version is deployed blue-green under load, then the switch is atomic and no request fails', async () => {
    const { v2 } = await twoVersions('bg');
    const traffic = load('bg');
    // the previous version's traffic before the switch is the baseline (as long before it as the new one
    // has served since): let it cover the dataset's rows (the load cycles through them) so the two output
    // distributions compare fairly, and the minimum sample
    await new Promise((r) => setTimeout(r, 4000));
    const started = await call('POST', '/v1/models/bg/deployments', { version: v2, strategy: 'blue-green', bakeSeconds: 2 });
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
    assert.ok(deployments.deployments.some((d: any) => d.strategy === 'blue-green' && d.version === v2 && d.actor === 'admin'), 'the actor is the key that started it');
    // the rollout is over: a late decision is refused
    assertConflict(await call('POST', `/v1/models/bg/deployments/${started.body.id}/promote`, {}), /is not running \(state: completed\)/);
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
    // each step judged once, on its minimum sample (inconclusive bakes before it only extend the step)
    const judged = done.status.comparisons.filter((c: any) => c.conclusive);
    assert.equal(judged.length, 2, JSON.stringify(done.status.comparisons));
    assert.ok(judged.every((c: any) => c.candidate.requests >= 300 && c.production.requests >= 300), JSON.stringify(judged));
    const last = judged[1];
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
    const swapped = path.join(sourceDir, 'swapped.csv');
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

  /** Waits for a rollback, then checks production serves alone again with no failures after the reload. */
  const rolledBack = async (model: string, id: string, traffic: ReturnType<typeof load>, production: number, reason: RegExp, historyFile?: string) => {
    const done = await waitRollout(model, id, historyFile);
    await api.refresh();
    const reloaded = traffic.seen.length;
    await eventually('requests answered after the reload', () => traffic.seen.length > reloaded + 10 || undefined, { everyMs: 20 });
    const seen = await traffic.stop();
    assert.equal(done.status.state, 'rolled_back', JSON.stringify(done.status));
    assert.match(done.status.reason, reason);
    assert.equal((await registry.getAliasVersion(stores.pool, model, 'production'))?.version, production);
    assert.ok(seen.slice(reloaded + 5).every((s) => s.status === 200 && s.version === production), 'production serves alone again');
    const alerts = await alertsOf(model);
    assert.ok(alerts.some((a) => a.severity === 'critical' && /rolled back/.test(a.title) && reason.test(a.summary)), JSON.stringify(alerts));
    return { done, seen };
  };

  it('when a canary fails requests, then the error-rate check rolls it back and alerts', async () => {
    // an ONNX file that takes exactly 20 rows: its smoke test passes, serving's smaller runs fail in onnxruntime
    const { production, candidate } = await productionAnd('canary-errors', async (s) => fixedBatch(await goodBytes(s), 20));
    const traffic = load('canary-errors');
    const id = await start('canary-errors', { version: candidate, strategy: 'canary', steps: [50, 100], bakeSeconds: 2 });
    const { done, seen } = await rolledBack('canary-errors', id, traffic, production, /^at 50%: error rate \d+\.\d% against production's 0\.0% \(p = /);
    const failed = seen.filter((s) => s.status !== 200);
    assert.ok(failed.length > 0 && failed.every((s) => s.status === 500 && s.error!.includes(`version ${candidate} failed to answer`)), JSON.stringify(failed.slice(0, 3)));
    const judged = done.status.comparisons.at(-1);
    assert.ok(judged.conclusive && judged.candidate.errorRate > 0.9 && judged.production.errorRate === 0, JSON.stringify(judged));
  });

  it('when a canary is slower, then the p99 latency check rolls it back', async () => {
    // the same answers after about 30 ms of matrix products that onnxruntime cannot skip
    const { production, candidate } = await productionAnd('canary-slow', async (s) => slow(await goodBytes(s), { rounds: 20 }));
    // one client at a time, so production's requests never wait behind the slow version's
    const traffic = load('canary-slow', () => api.url, 1);
    const id = await start('canary-slow', { version: candidate, strategy: 'canary', steps: [50, 100], bakeSeconds: 3, thresholds: { minLatencyIncreaseMs: 5 } });
    const { done } = await rolledBack('canary-slow', id, traffic, production, /^at 50%: p99 latency \d+ ms against production's [\d.]+ ms \(p = /);
    const judged = done.status.comparisons.at(-1);
    assert.ok(judged.candidate.p99Ms >= 2 * judged.production.p99Ms, JSON.stringify(judged));
    assert.ok(!/error rate|output distribution/.test(done.status.reason), done.status.reason);
  });

  it('when a canary is less accurate on labelled feedback, then the live accuracy check rolls it back', async () => {
    // the swapped-label version; its output shift is tolerated here (maxPsi), so only accuracy can breach
    const { production, candidate } = await productionAnd('canary-wrong', (s) => s.swapped);
    const traffic = load('canary-wrong', () => api.url, 3, { feedback: true });
    const id = await start('canary-wrong', { version: candidate, strategy: 'canary', steps: [50, 100], bakeSeconds: 3, thresholds: { maxPsi: 100, minLabels: 50 } });
    const { done } = await rolledBack('canary-wrong', id, traffic, production, /^at 50%: live accuracy \d+\.\d% against production's 9\d\.\d% \(p = /);
    const judged = done.status.comparisons.at(-1);
    assert.ok(judged.candidate.labelled >= 50 && judged.production.labelled >= 50 && judged.candidate.accuracy < 0.2, JSON.stringify(judged));
    assert.doesNotMatch(done.status.reason, /output distribution/);
    // the record keeps every check with its p-value and level
    const record = await statusOf('canary-wrong', id);
    const accuracy = record.analysis.checks.find((c: any) => c.check === 'accuracy');
    assert.ok(accuracy.breach && accuracy.p < accuracy.level, JSON.stringify(record.analysis.checks));
    const outputs = record.analysis.checks.find((c: any) => c.check === 'outputs');
    assert.ok(outputs.significant && !outputs.breach, 'a significant output shift under maxPsi is not a breach');
  });

  it('when a step has too little traffic, then it bakes longer and is judged once the minimum sample is in', async () => {
    const { candidate } = await productionAnd('canary-quiet', (s) => s.good);
    const id = await start('canary-quiet', { version: candidate, strategy: 'canary', steps: [50, 100], bakeSeconds: 1 });
    // no traffic yet: each bake ends inconclusive and the step waits
    const waiting = await eventually('the step to wait for traffic', async () => {
      const r = await statusOf('canary-quiet', id);
      return r.status?.comparisons.length >= 2 ? r : undefined;
    });
    assert.equal(waiting.status.state, 'running');
    assert.equal(waiting.status.percent, 50);
    assert.match(waiting.status.reason, /^waiting for traffic at 50%: too little traffic to judge after \d+ bakes/);
    assert.ok(waiting.status.comparisons.every((c: any) => !c.conclusive && c.breaches.length === 0));
    const traffic = load('canary-quiet');
    const done = await waitRollout('canary-quiet', id, 'canary-bake-extended.json');
    const seen = await traffic.stop();
    assert.equal(done.status.state, 'promoted', JSON.stringify(done.status));
    assert.deepEqual(seen.filter((s) => s.status !== 200), []);
    const judged = done.status.comparisons.at(-1);
    assert.ok(judged.conclusive && judged.candidate.requests >= 300 && judged.production.requests >= 300, JSON.stringify(judged));
  });

  it('when a step never gets enough traffic, then the rollout holds and alerts, and a person promotes it', async () => {
    const { candidate } = await productionAnd('canary-held', (s) => s.good);
    const id = await start('canary-held', { version: candidate, strategy: 'canary', steps: [50, 100], bakeSeconds: 1, maxExtensions: 1 });
    const held = await eventually('the rollout to hold', async () => {
      const r = await statusOf('canary-held', id);
      return /^held:/.test(r.status?.reason ?? '') ? r : undefined;
    });
    assert.equal(held.status.state, 'running', 'held, not rolled back');
    assert.match(held.status.reason, /^held: at 50%: too little traffic to judge after 2 bakes \(\d+ and \d+ requests\); promote or abort it$/);
    await eventually('the hold alert', async () => (await alertsOf('canary-held')).find((a) => a.severity === 'warning' && /rollout held/.test(a.title)));
    const audit = await stores.pool.query("SELECT actor FROM audit_events WHERE action = 'rollout.held' AND subject = 'canary-held'");
    assert.equal(audit.rows[0]?.actor, 'rollout-analysis');
    // it waits for a person: still held a few seconds on, with no further comparisons
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal((await statusOf('canary-held', id)).status.comparisons.length, held.status.comparisons.length);
    const promoted = await call('POST', `/v1/models/canary-held/deployments/${id}/promote`, { reason: 'a quiet model; looked fine' });
    assert.equal(promoted.status, 202, JSON.stringify(promoted.body));
    const done = await waitRollout('canary-held', id, 'canary-held-promoted-update.json');
    assert.equal(done.status.state, 'promoted');
    assert.deepEqual(done.status.decision, { by: 'admin', reason: 'a quiet model; looked fine', action: 'promote' });
    assert.equal((await registry.getAliasVersion(stores.pool, 'canary-held', 'production'))?.version, candidate);
  });

  it('when a person aborts a running canary, then production alone serves again with no failed request', async () => {
    const { production, candidate } = await productionAnd('canary-stopped', (s) => s.good);
    const traffic = load('canary-stopped');
    const id = await start('canary-stopped', { version: candidate, strategy: 'canary', steps: [25, 100], bakeSeconds: 600 });
    await eventually('the new version answering at 25%', async () => {
      await api.refresh();
      return (await statusOf('canary-stopped', id)).status?.percent === 25 && traffic.seen.some((s) => s.version === candidate) ? true : undefined;
    });
    const aborted = await call('POST', `/v1/models/canary-stopped/deployments/${id}/abort`, { reason: 'a customer complained' });
    assert.equal(aborted.status, 202, JSON.stringify(aborted.body));
    const done = await waitRollout('canary-stopped', id, 'canary-aborted-update.json');
    await api.refresh();
    const reloaded = traffic.seen.length;
    await eventually('requests answered after the reload', () => traffic.seen.length > reloaded + 20 || undefined, { everyMs: 20 });
    const seen = await traffic.stop();
    assert.equal(done.status.state, 'aborted');
    assert.equal(done.state, 'aborted');
    assert.deepEqual(seen.filter((s) => s.status !== 200), []);
    assert.ok(seen.slice(reloaded + 5).every((s) => s.version === production), 'production serves alone again');
    assert.equal((await registry.getAliasVersion(stores.pool, 'canary-stopped', 'production'))?.version, production);
    assert.equal((await call('GET', '/v1/models/canary-stopped/deployments')).body.serving.candidate, undefined, 'the route is gone');
    const audit = await stores.pool.query("SELECT actor, details FROM audit_events WHERE action = 'rollout.aborted' AND subject = 'canary-stopped'");
    assert.equal(audit.rows[0].actor, 'admin');
    assert.equal(audit.rows[0].details.reason, 'a customer complained');
  });

  it('when a person aborts while a step is being judged, then the rollout aborts instead of passing the step, and a late decision is refused', async () => {
    const { production, candidate } = await productionAnd('canary-judged', (s) => s.good);
    const traffic = load('canary-judged');
    const id = await start('canary-judged', { version: candidate, strategy: 'canary', steps: [50, 100], bakeSeconds: 2 });
    // enough traffic at 50% for the next analysis to be conclusive, then that analysis in flight
    // (it waits for the serving statistics to land first, so the abort arrives while it runs)
    await eventually('the candidate to have its minimum sample', async () => {
      await api.refresh();
      return traffic.seen.filter((s) => s.version === candidate).length >= 500 || undefined;
    });
    const handle = temporal.client.workflow.getHandle(id);
    await eventually('an analysis in flight', async () => ((await handle.describe()).raw.pendingActivities ?? []).some((a) => a.activityType?.name === 'analyzeRollout') || undefined, { everyMs: 20 });
    const aborted = await call('POST', `/v1/models/canary-judged/deployments/${id}/abort`, { reason: 'seen enough' });
    assert.equal(aborted.status, 202, JSON.stringify(aborted.body));
    const done = await waitRollout('canary-judged', id, 'canary-aborted-during-analysis.json');
    await traffic.stop();
    assert.equal(done.status.state, 'aborted', JSON.stringify(done.status));
    assert.deepEqual(done.status.decision, { by: 'admin', reason: 'seen enough', action: 'abort' });
    assert.equal((await registry.getAliasVersion(stores.pool, 'canary-judged', 'production'))?.version, production, 'not promoted');
    // once ended, a decision is refused rather than taken and dropped
    const late = await call('POST', `/v1/models/canary-judged/deployments/${id}/promote`, {});
    assert.equal(late.status, 409, JSON.stringify(late.body));
  });

  it('when a blue-green version breaches during its bake, then it switches straight back to the previous version', async () => {
    const { production, candidate } = await productionAnd('bg-back', async (s) => fixedBatch(await goodBytes(s), 20));
    const traffic = load('bg-back');
    await new Promise((r) => setTimeout(r, 4000)); // the baseline: the previous version before the switch
    const id = await start('bg-back', { version: candidate, strategy: 'blue-green', bakeSeconds: 2 });
    const { seen } = await rolledBack('bg-back', id, traffic, production, /^error rate \d+\.\d% against production's 0\.0% \(p = /, 'blue-green-switched-back.json');
    // the new version's failures, from the switch until the switch back, and none before or after
    const failed = seen.map((s, i) => [s, i] as const).filter(([s]) => s.status !== 200);
    assert.ok(failed.length > 0 && failed.every(([s]) => s.error!.includes(`version ${candidate} failed to answer`)), JSON.stringify(failed.slice(0, 3)));
    assert.ok(seen.slice(0, failed[0][1]).every((s) => s.version === production), 'the previous version served until the switch');
    const deployments = (await call('GET', '/v1/models/bg-back/deployments')).body.deployments;
    assert.ok(deployments.some((d: any) => d.strategy === 'blue-green' && d.version === candidate), JSON.stringify(deployments));
    assert.ok(deployments.some((d: any) => d.strategy === 'rollback' && d.version === production && d.actor === 'blue-green-analysis'), JSON.stringify(deployments));
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
      const v = await registry.registerVersion(stores.pool, { modelName: 'guarded', runId, onnxDigest, signature: good!.signature, metrics: {}, params: good!.params, artifacts: { smokeSet: good!.artifacts.smokeSet }, datasetId: good!.datasetId });
      await registry.transitionVersion(stores.pool, 'guarded', v.version, 'approved', { actor: 'test' });
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

  it('when a second API process runs, then it follows every change within a second, and killing one under traffic loses no request', async () => {
    const port = await freePort();
    const second = `http://127.0.0.1:${port}`;
    let running = false;
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
      // traffic through both replicas, as a load balancer sends it: turn by turn, and a request whose
      // replica does not answer is sent to the other one
      const replicas = [second, api.url];
      running = true;
      const answered: { replica: string; status: number; version?: number; id?: string; at: number }[] = [];
      const clients = Array.from({ length: 4 }, async (_, c) => {
        for (let i = c; running; i++) {
          for (let attempt = 0; attempt < replicas.length; attempt++) {
            const replica = replicas[(i + attempt) % replicas.length];
            const r = await call('POST', '/v1/models/replicated/predict', { instances: [rows[i % rows.length]] }, replica).catch(() => undefined);
            if (!r) continue; // connection refused or reset: the balancer tries the next replica
            answered.push({ replica, status: r.status, version: r.body?.model?.version, id: r.body?.predictions?.[0]?.id, at: Date.now() });
            break;
          }
        }
      });
      await eventually('both replicas answering', () => (answered.some((a) => a.replica === second) && answered.some((a) => a.replica === api.url)) || undefined, { everyMs: 20 });
      await new Promise((r) => setTimeout(r, 500));
      // the second API dies under that traffic
      const sent = answered.length;
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      const killedAt = Date.now();
      try {
        await eventually('requests answered after the kill', () => answered.filter((a) => a.at > killedAt).length >= 50 || undefined, { everyMs: 20, timeoutMs: 30_000 });
      } finally {
        running = false;
        await Promise.all(clients);
      }
      // no request was lost: every one was answered, by v2, and the survivor took the traffic after the kill
      assert.ok(answered.slice(0, sent).some((a) => a.replica === second), 'the killed replica answered before');
      assert.deepEqual(answered.filter((a) => a.status !== 200 || a.version !== v2), []);
      assert.ok(answered.filter((a) => a.at > killedAt + 100).every((a) => a.replica === api.url), 'after the kill the survivor answers');
      // and every prediction the survivor answered is logged for feedback
      const survivor = answered.filter((a) => a.replica === api.url).map((a) => a.id!);
      await eventually('the survivor\'s predictions in the log', async () => {
        const { rows: logged } = await stores.pool.query('SELECT count(*)::int AS n FROM prediction_log WHERE id = ANY($1::uuid[])', [survivor]);
        return logged[0].n === survivor.length || undefined;
      }, { timeoutMs: 10_000 });
      assert.equal(await served(api.url), v2);
      assert.equal((await registry.getAliasVersion(stores.pool, 'replicated', 'production'))?.version, v2);
    } finally {
      running = false; // the clients stop even when the test failed midway
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
