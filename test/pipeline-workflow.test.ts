import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ActivityFailure, ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import * as registry from '../src/store/registry';
import { approvalSignal, PipelineStatus } from '../src/workflows/definitions';
import { BREAST_CANCER, createPipelineTestEnv, PipelineTestEnv, waitForStatus } from './helpers/pipeline-env';

const HISTORY_DIR = path.join(__dirname, 'fixtures', 'histories');

describe('trainingPipeline on a real Temporal server', () => {
  let env: PipelineTestEnv;
  before(async () => { env = await createPipelineTestEnv(); });
  after(() => env.close());

  const base = { data: { uri: BREAST_CANCER }, target: 'diagnosis' };
  const count = async (sql: string, params: unknown[]) => (await env.db.pool.query(sql, params)).rows[0].n as number;

  it('when a person approves, then the version is deployed and served as production', async () => {
    const handle = await env.start({ ...base, model: 'approve-path', approval: { mode: 'manual', thresholds: { auc: 0.9 } }, requestedBy: 'alice' });
    const waiting = await waitForStatus(handle, (s) => s.state === 'awaiting_approval');
    assert.equal(waiting.stage, 'approve');
    assert.ok(waiting.metrics!.auc > 0.95, `auc ${waiting.metrics!.auc}`);
    assert.equal(waiting.approval.thresholdsPassed, true);
    assert.equal((await registry.getVersion(env.db.pool, 'approve-path', waiting.modelVersion!))?.status, 'pending_approval');

    await handle.signal(approvalSignal, { decision: 'approve', by: 'bob', comment: 'looks good' });
    const result = (await handle.result()) as PipelineStatus;
    assert.equal(result.state, 'deployed');
    assert.equal(result.approval.decision?.by, 'bob');
    assert.equal(result.approval.decision?.via, 'signal');
    const production = await registry.getAliasVersion(env.db.pool, 'approve-path', 'production');
    assert.equal(production?.version, result.modelVersion);
    assert.deepEqual([production?.status, production?.deployment], ['approved', 'production']);
    assert.ok(production?.artifacts.smokeSet && production.artifacts.referenceProfile && production.artifacts.evaluation, 'the evaluation stage\'s files are kept by role');
    assert.equal(production?.recipe?.datasetId, production?.datasetId);
    assert.equal(production?.onnxDigest, result.onnxDigest);
    assert.equal(production?.codeVersion, 'test');
    assert.equal(await count('SELECT count(*)::int AS n FROM deployments WHERE model_name = $1', ['approve-path']), 1);
    assert.equal(await count("SELECT count(*)::int AS n FROM audit_events WHERE action = 'model.approved' AND actor = 'bob'", []), 1);
    assert.ok(await env.artifacts.has(result.onnxDigest!), 'the deployed ONNX file is in the artifact store');

    if (process.env.RECORD_HISTORIES) {
      fs.mkdirSync(HISTORY_DIR, { recursive: true });
      fs.writeFileSync(path.join(HISTORY_DIR, 'training-pipeline-approved.json'), historyToJSON(await handle.fetchHistory()));
    }
  });

  it('when a person rejects, then nothing is deployed', async () => {
    const handle = await env.start({ ...base, model: 'reject-path', approval: { mode: 'manual' } });
    await waitForStatus(handle, (s) => s.state === 'awaiting_approval');
    await handle.signal(approvalSignal, { decision: 'reject', by: 'carol', comment: 'not now' });
    const result = (await handle.result()) as PipelineStatus;
    assert.equal(result.state, 'rejected');
    assert.equal((await registry.getVersion(env.db.pool, 'reject-path', result.modelVersion!))?.status, 'rejected');
    assert.equal(await registry.getAliasVersion(env.db.pool, 'reject-path', 'production'), undefined);
    assert.equal(await count('SELECT count(*)::int AS n FROM deployments WHERE model_name = $1', ['reject-path']), 0);
    if (process.env.RECORD_HISTORIES) {
      fs.writeFileSync(path.join(HISTORY_DIR, 'training-pipeline-rejected.json'), historyToJSON(await handle.fetchHistory()));
    }
  });

  it('when nobody decides before the timeout, then the run ends rejected', async () => {
    const handle = await env.start({ ...base, model: 'timeout-path', approval: { mode: 'manual', timeout: '2 seconds' } });
    const result = (await handle.result()) as PipelineStatus;
    assert.equal(result.state, 'rejected');
    assert.equal(result.approval.decision?.via, 'timeout');
    assert.equal(result.approval.decision?.by, 'system:timeout');
    assert.equal(await count('SELECT count(*)::int AS n FROM deployments WHERE model_name = $1', ['timeout-path']), 0);
  });

  it('when activities fail once after doing their work, then the retry still yields one version and one deployment', async () => {
    env.failOnceAfterWork.add('registerModelVersion');
    env.failOnceAfterWork.add('deployModel');
    const before = { register: env.calls.get('registerModelVersion') ?? 0, deploy: env.calls.get('deployModel') ?? 0 };
    const handle = await env.start({ ...base, model: 'retry-path', approval: { mode: 'auto' } });
    const result = (await handle.result()) as PipelineStatus;
    assert.equal(result.state, 'deployed');
    assert.equal((env.calls.get('registerModelVersion') ?? 0) - before.register, 2, 'registration ran twice');
    assert.equal((env.calls.get('deployModel') ?? 0) - before.deploy, 2, 'deployment ran twice');
    assert.equal(await count('SELECT count(*)::int AS n FROM model_versions WHERE model_name = $1', ['retry-path']), 1);
    assert.equal(await count('SELECT count(*)::int AS n FROM deployments WHERE model_name = $1', ['retry-path']), 1);
    assert.equal(await count('SELECT count(*)::int AS n FROM training_runs WHERE model_name = $1', ['retry-path']), 1);
  });

  it('when validation fails, then the run fails once with the report and is not retried', async () => {
    const handle = await env.start({ ...base, model: 'invalid-data', target: 'no_such_column' });
    const err = await handle.result().then(() => undefined, (e) => e);
    assert.ok(err instanceof WorkflowFailedError, `got ${err}`);
    assert.ok(err.cause instanceof ActivityFailure);
    const failure = err.cause.cause;
    assert.ok(failure instanceof ApplicationFailure);
    assert.equal(failure.type, 'DataValidationError');
    assert.equal(failure.nonRetryable, true);
    assert.match(failure.message, /target column "no_such_column" is not in the data/);
    const history = await handle.fetchHistory();
    const attempts = history.events!.filter((e) => e.activityTaskStartedEventAttributes).map((e) => e.activityTaskStartedEventAttributes!.attempt);
    assert.deepEqual(attempts, [1, 1], 'ingest once, validate once');
  });

  it('when the policy is automatic, then thresholds decide without a person', async () => {
    const pass = await env.start({ ...base, model: 'auto-policy', approval: { mode: 'auto', thresholds: { auc: 0.9, logLoss: 0.5 } } });
    const passed = (await pass.result()) as PipelineStatus;
    assert.equal(passed.state, 'deployed');
    assert.equal(passed.approval.decision?.by, 'policy:auto');

    const fail = await env.start({ ...base, model: 'auto-policy', approval: { mode: 'auto', thresholds: { auc: 1.01 } } });
    const failed = (await fail.result()) as PipelineStatus;
    assert.equal(failed.state, 'rejected');
    assert.match(failed.approval.decision?.comment ?? '', /auc .* < 1.01/);
    // the second run scored the deployed champion on the same split
    assert.equal(failed.champion?.version, passed.modelVersion);
    assert.ok(failed.champion?.metrics && failed.champion.metrics.auc > 0.9);
    assert.equal((await registry.getAliasVersion(env.db.pool, 'auto-policy', 'production'))?.version, passed.modelVersion);
  });

  it('when a halving search is asked for, then trials run as activities rung by rung and the best L2 is trained', async () => {
    const handle = await env.start({ ...base, model: 'halving', approval: { mode: 'auto' }, trainer: { search: { strategy: 'halving', trials: 9, parallelism: 3 } } });
    const result = (await handle.result()) as PipelineStatus;
    assert.equal(result.state, 'deployed');
    const trials = result.tuning!.trials;
    // 9 points on 1/9 of the rows, the best 3 on 1/3, the best 1 on all of them
    assert.deepEqual([0, 1, 2].map((rung) => trials.filter((t) => t.rung === rung).length), [9, 3, 1]);
    assert.deepEqual([...new Set(trials.map((t) => t.fraction))].sort(), [1 / 9, 1 / 3, 1].sort());
    const promoted = trials.filter((t) => t.rung === 1).map((t) => t.trial).sort();
    const rung0 = trials.filter((t) => t.rung === 0).sort((a, b) => a.validationLoss - b.validationLoss).slice(0, 3).map((t) => t.trial).sort();
    assert.deepEqual(promoted, rung0, 'the best third of each rung is promoted');
    assert.equal(result.params?.l2, result.tuning!.best!.l2);
    assert.equal(await count('SELECT count(*)::int AS n FROM tuning_trials WHERE run_id = $1', [handle.workflowId]), 13);
    const history = await handle.fetchHistory();
    const scheduled = history.events!.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'scoreTrial').length;
    assert.equal(scheduled, 13);
    if (process.env.RECORD_HISTORIES) {
      fs.writeFileSync(path.join(HISTORY_DIR, 'training-pipeline-halving.json'), historyToJSON(history));
    }
  });

  it('when later data loses a column the production model reads, then validation stops the run; new categories only warn', async () => {
    const first = (await env.start({ ...base, model: 'schema-check', approval: { mode: 'auto' } }).then((h) => h.result())) as PipelineStatus;
    assert.equal(first.state, 'deployed');
    const schema = (await env.db.pool.query('SELECT schema FROM registered_models WHERE name = $1', ['schema-check'])).rows[0].schema;
    assert.equal(schema.columns.length, 31);

    const lines = fs.readFileSync(BREAST_CANCER, 'utf8').trim().split('\n');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-schema-'));
    const withoutRadius = path.join(dir, 'without-radius.csv');
    fs.writeFileSync(withoutRadius, lines.map((l) => l.split(',').slice(1).join(',')).join('\n') + '\n');
    const err = await env.start({ ...base, model: 'schema-check', data: { uri: withoutRadius }, approval: { mode: 'auto' } }).then((h) => h.result()).then(() => undefined, (e) => e);
    assert.ok(err instanceof WorkflowFailedError);
    assert.match(String((err.cause?.cause as Error | undefined)?.message), /column "radius_mean" of the model.s schema is missing/);

    const withRegion = path.join(dir, 'with-region.csv');
    fs.writeFileSync(withRegion, lines.map((l, i) => `${l},${i === 0 ? 'region' : ['north', 'south'][i % 2]}`).join('\n') + '\n');
    const third = (await env.start({ ...base, model: 'schema-check', data: { uri: withRegion }, approval: { mode: 'auto' } }).then((h) => h.result())) as PipelineStatus;
    assert.equal(third.state, 'deployed');
    assert.ok(third.warnings.some((w) => /column "region" is not in the model's schema/.test(w)), third.warnings.join('; '));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('when a decision arrives before the run waits for one, then it is counted and ignored', async () => {
    const handle = await env.start({ ...base, model: 'early-signal', approval: { mode: 'manual', timeout: '1 hour' } });
    await handle.signal(approvalSignal, { decision: 'approve', by: 'eager' });
    const waiting = await waitForStatus(handle, (s) => s.state === 'awaiting_approval');
    assert.equal(waiting.approval.ignoredSignals, 1);
    await handle.signal(approvalSignal, { decision: 'reject', by: 'dave' });
    await handle.signal(approvalSignal, { decision: 'approve', by: 'late' });
    const result = (await handle.result()) as PipelineStatus;
    assert.equal(result.state, 'rejected');
    assert.equal(result.approval.decision?.by, 'dave');
  });
});
