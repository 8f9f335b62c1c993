/**
 * Scale-out on one machine, process by process as a deployment runs them: two `mlops worker` and two
 * `mlops api` processes against one Temporal server and one PostgreSQL. Pipelines spread over both
 * workers; both API replicas serve the same deployment and follow a rollback; SIGTERM drains a worker
 * (its running activity finishes or is handed over, the run completes once) and an API replica
 * (requests in flight are answered) within a bounded time. A worker killed outright is covered by
 * test/worker-crash.test.ts.
 */
import assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { toCanonicalCsv } from '../src/ml/csv';
import { TEST_DATA_ROOTS } from './helpers/sources';
import { ADMIN_AUTH, TEST_ADMIN_KEY } from './helpers/api-stack';
import { createTestDatabase, TestDatabase } from './helpers/database';
import { BREAST_CANCER } from './helpers/pipeline-env';
import { eventually } from './helpers/eventually';
import { syntheticLogistic } from './helpers/synthetic';
import { REPO_ROOT, startTemporal } from './helpers/temporal';

const IRIS = path.join(REPO_ROOT, 'datasets', 'iris.csv');
const freePort = () => new Promise<number>((resolve) => { const s = net.createServer().listen(0, '127.0.0.1', () => { const { port } = s.address() as net.AddressInfo; s.close(() => resolve(port)); }); });

interface Proc { child: ChildProcess; output: () => string; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> }

describe('two workers and two API replicas on one Temporal server and one PostgreSQL', () => {
  let temporal: TestWorkflowEnvironment;
  let db: TestDatabase;
  let dataDir: string;
  const procs: Proc[] = [];
  const apis: string[] = [];
  const workers: Proc[] = [];
  const taskQueue = 'scale-test';

  function start(command: 'worker' | 'api', extra: Record<string, string> = {}): Proc {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'src', 'cli.ts'), command], {
      cwd: REPO_ROOT,
      env: { ...process.env, TEMPORAL_ADDRESS: temporal.address, DATABASE_URL: db.url, MLOPS_DATA_DIR: dataDir, MLOPS_DATA_ROOTS: TEST_DATA_ROOTS.join(','), MLOPS_TASK_QUEUE: taskQueue, MLOPS_CODE_VERSION: 'scale-test', MLOPS_ADMIN_KEY: TEST_ADMIN_KEY, ...extra },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (d) => { out += d; });
    child.stderr!.on('data', (d) => { out += d; });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const p = { child, output: () => out, exited };
    procs.push(p);
    return p;
  }

  const call = async (base: string, method: string, url: string, body?: unknown) => {
    const r = await fetch(`${base}${url}`, { method, headers: { ...ADMIN_AUTH, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : undefined };
  };
  const waitFor = async (id: string, states: string[], base = apis[0]) => {
    let last: any;
    const s = await eventually(() => `run ${id} to be ${states.join(' or ')}; last: ${JSON.stringify(last)}`, async () => {
      last = (await call(base, 'GET', `/v1/pipelines/${id}`)).body;
      return states.includes(last?.state) || last?.state === 'failed' ? last : undefined;
    }, { everyMs: 200 });
    assert.ok(states.includes(s.state), JSON.stringify(s));
    return s;
  };
  const servedVersion = async (base: string, model: string, instance: Record<string, number>) => (await call(base, 'POST', `/v1/models/${model}/predict`, { instances: [instance] })).body?.model?.version;
  const flower = { sepal_length: 6.9, sepal_width: 3.1, petal_length: 5.4, petal_width: 2.1 };

  before(async () => {
    temporal = await startTemporal();
    db = await createTestDatabase();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-scale-'));
    workers.push(start('worker'), start('worker'));
    for (let i = 0; i < 2; i++) {
      const port = await freePort();
      start('api', { MLOPS_API_PORT: String(port) });
      apis.push(`http://127.0.0.1:${port}`);
    }
    // both workers polling before any work arrives, so both can take it
    for (const w of workers) {
      for (let tries = 0; !/worker polling task queue/.test(w.output()); tries++) {
        assert.ok(tries < 600 && w.child.exitCode === null, `a worker did not start:\n${w.output()}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    for (const base of apis) {
      for (let tries = 0; ; tries++) {
        if ((await fetch(`${base}/readyz`).then((r) => r.status, () => 0)) === 200) break;
        assert.ok(tries < 600, `the API at ${base} did not start:\n${procs.map((p) => p.output()).join('\n')}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  });
  after(async () => {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await db?.close();
    await temporal?.teardown();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('pipelines spread over both workers; both replicas serve the deployment and follow a rollback', async () => {
    const runs = [];
    for (let i = 0; i < 6; i++) {
      const [data, target, model] = i % 2 === 0 ? [BREAST_CANCER, 'diagnosis', `cancer-${i}`] : [IRIS, 'species', `iris-${i}`];
      const started = await call(apis[i % 2], 'POST', '/v1/pipelines', { model, data: { uri: data }, target, approval: { mode: 'auto' }, seed: i });
      assert.equal(started.status, 202, JSON.stringify(started.body));
      runs.push(started.body.id as string);
    }
    for (const id of runs) await waitFor(id, ['deployed']);

    // which worker ran each activity: the identity Temporal recorded when it handed the task out
    const byWorker = new Map<string, number>();
    for (const id of runs) {
      const history = await temporal.client.workflow.getHandle(id).fetchHistory();
      for (const e of history.events ?? []) {
        const identity = e.activityTaskStartedEventAttributes?.identity;
        if (identity) byWorker.set(identity, (byWorker.get(identity) ?? 0) + 1);
      }
    }
    const pids = workers.map((w) => String(w.child.pid));
    const ran = pids.map((pid) => [...byWorker].filter(([identity]) => identity.startsWith(`${pid}@`)).reduce((s, [, n]) => s + n, 0));
    assert.ok(ran.every((n) => n > 0), `activities per worker ${JSON.stringify(ran)}: ${JSON.stringify([...byWorker])}`);

    // both replicas answer from the same production version; a rollback through one is followed by the other
    assert.equal(await servedVersion(apis[0], 'iris-1', flower), 1);
    assert.equal(await servedVersion(apis[1], 'iris-1', flower), 1);
    const second = await call(apis[1], 'POST', '/v1/pipelines', { model: 'iris-1', data: { uri: IRIS }, target: 'species', approval: { mode: 'auto' }, seed: 99 });
    await waitFor(second.body.id, ['deployed']);
    for (const base of apis) {
      for (let tries = 0; (await servedVersion(base, 'iris-1', flower)) !== 2; tries++) { assert.ok(tries < 50, `${base} does not serve version 2`); await new Promise((r) => setTimeout(r, 100)); }
    }
    const rolledBack = await call(apis[0], 'POST', '/v1/models/iris-1/rollback', { reason: 'scale test' });
    assert.equal(rolledBack.status, 200, JSON.stringify(rolledBack.body));
    assert.equal(await servedVersion(apis[0], 'iris-1', flower), 1, 'the replica that answered serves the restored version at once');
    const started = Date.now();
    while ((await servedVersion(apis[1], 'iris-1', flower)) !== 1) {
      assert.ok(Date.now() - started < 5_000, 'the other replica follows within seconds');
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  it('SIGTERM drains a worker mid-training (the run completes once) and an API replica (requests in flight are answered)', async () => {
    const { table } = syntheticLogistic({ rows: 40_000, weights: Array.from({ length: 20 }, (_, j) => ((j % 5) - 2) / 2), bias: -0.3, seed: 5 });
    const csv = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-scale-data-')), 'drain.csv');
    fs.writeFileSync(csv, toCanonicalCsv(table));
    const run = await call(apis[0], 'POST', '/v1/pipelines', { model: 'drain', data: { uri: csv }, target: 'label', approval: { mode: 'auto' }, trainer: { search: { l2: Array.from({ length: 12 }, (_, i) => 10 ** (-5 + i * 0.4)) } } });
    assert.equal(run.status, 202, JSON.stringify(run.body));
    await eventually('the run to reach training', async () => {
      const s = await call(apis[0], 'GET', `/v1/pipelines/${run.body.id}`);
      assert.notEqual(s.body.state, 'failed', JSON.stringify(s.body));
      return s.body.stage === 'train' || undefined;
    }, { everyMs: 50 });
    // stop both workers' polling one after the other is not the point: stop the one running the training
    const history = await temporal.client.workflow.getHandle(run.body.id).fetchHistory();
    const training = [...(history.events ?? [])].reverse().find((e) => e.activityTaskStartedEventAttributes?.identity)?.activityTaskStartedEventAttributes?.identity ?? '';
    const victim = workers.find((w) => training.startsWith(`${w.child.pid}@`)) ?? workers[0];
    const termAt = Date.now();
    victim.child.kill('SIGTERM');
    const exit = await victim.exited;
    assert.equal(exit.code, 0, victim.output());
    assert.ok(Date.now() - termAt < 30_000, `the worker drained in ${Date.now() - termAt} ms (grace 20 s)`);
    const done = await waitFor(run.body.id, ['deployed']);
    const versions = await db.pool.query("SELECT count(*)::int AS n FROM model_versions WHERE model_name = 'drain'");
    assert.equal(versions.rows[0].n, 1);
    assert.equal(done.modelVersion, 1);

    // an API replica told to stop while requests are in flight answers them all, then exits
    const replica = procs.find((p) => p.output().includes(apis[1].split(':').pop()!)) ?? procs[3];
    const inflight = Array.from({ length: 40 }, () => call(apis[1], 'POST', '/v1/models/iris-1/predict', { instances: Array.from({ length: 200 }, () => flower) }).then((r) => r.status, (e: Error) => e.message));
    await new Promise((r) => setTimeout(r, 20));
    const stopAt = Date.now();
    replica.child.kill('SIGTERM');
    const statuses = await Promise.all(inflight);
    const exited = await replica.exited;
    assert.equal(exited.code, 0, replica.output());
    assert.ok(Date.now() - stopAt < 10_000, `the API drained in ${Date.now() - stopAt} ms`);
    const answered = statuses.filter((s) => s === 200).length;
    const refused = statuses.filter((s) => typeof s === 'string');
    // requests accepted before the listener closed are answered; later ones find the port closed, never a half answer
    assert.ok(answered > 0, JSON.stringify(statuses));
    assert.ok(refused.every((m) => /ECONNREFUSED|fetch failed/.test(String(m))), JSON.stringify(refused));
    assert.ok(statuses.every((s) => s === 200 || typeof s === 'string'), JSON.stringify(statuses));
  });
});
