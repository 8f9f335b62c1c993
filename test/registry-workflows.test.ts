/**
 * Versioning and reproducibility through real workflows: the step cache, rollback as a workflow, and
 * reproducing versions of each model family byte for byte.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import * as registry from '../src/store/registry';
import { PipelineStatus } from '../src/workflows/definitions';
import { BREAST_CANCER, createPipelineTestEnv, PipelineTestEnv } from './helpers/pipeline-env';
import type { Deployment } from '../src/domain/model-version';

const IRIS = path.join(path.dirname(BREAST_CANCER), 'iris.csv');
const HISTORY_DIR = path.join(__dirname, 'fixtures', 'histories');

/** With RECORD_HISTORIES=1, keeps the workflow's history for test/replay.test.ts. */
async function record(env: PipelineTestEnv, workflowId: string, file: string): Promise<void> {
  if (!process.env.RECORD_HISTORIES) return;
  const history = await env.temporal.client.workflow.getHandle(workflowId).fetchHistory();
  fs.writeFileSync(path.join(HISTORY_DIR, file), historyToJSON(history));
}

describe('versioning, rollback and reproducibility workflows', () => {
  let env: PipelineTestEnv;
  before(async () => { env = await createPipelineTestEnv(); });
  after(() => env.close());

  const auto = { mode: 'auto' as const, thresholds: {} };
  const train = async (input: Parameters<PipelineTestEnv['start']>[0]) => (await (await env.start(input)).result()) as PipelineStatus;
  const runWorkflow = (type: 'rollback' | 'reproduce', args: unknown, id: string) =>
    env.temporal.client.workflow.execute(type, { taskQueue: env.taskQueue, workflowId: id, args: [args] });

  it('when identical data and settings are trained twice, then there is one dataset version and one cache hit', async () => {
    const input = { model: 'cached', data: { uri: BREAST_CANCER }, target: 'diagnosis', approval: auto, seed: 11 };
    const first = await train(input);
    const trainCalls = env.calls.get('trainModel');
    const handle = await env.start(input);
    const second = (await handle.result()) as PipelineStatus;
    await record(env, handle.workflowId, 'training-pipeline-cache-hit.json');
    assert.equal(second.datasetId, first.datasetId, 'one dataset version');
    assert.equal(first.cached, undefined);
    assert.deepEqual(second.cached, { train: { fromRun: (await env.db.pool.query("SELECT run_id FROM step_cache")).rows[0].run_id } });
    assert.equal(env.calls.get('trainModel'), trainCalls, 'the second run did not train');
    assert.equal(second.onnxDigest, first.onnxDigest);
    assert.deepEqual([first.modelVersion, second.modelVersion], [1, 2], 'each run still registers its own version');
    const { rows } = await env.db.pool.query('SELECT hits FROM step_cache');
    assert.deepEqual(rows.map((r) => r.hits), [1]);
    const runs = await env.db.pool.query("SELECT params->>'cachedFrom' AS source, train_ms FROM training_runs WHERE model_name = 'cached' ORDER BY created_at");
    assert.deepEqual(runs.rows.map((r) => r.source === null), [true, false], 'the cached run is recorded, pointing at its source');
    // a different seed is a different input: trained again
    const third = await train({ ...input, seed: 12 });
    assert.equal(third.cached, undefined);
    assert.equal(env.calls.get('trainModel'), trainCalls! + 1);
  });

  it('when production is rolled back through the workflow, then the previous version serves and the history says who and why', async () => {
    const input = { model: 'rolling', data: { uri: BREAST_CANCER }, target: 'diagnosis', approval: auto };
    await train({ ...input, seed: 1 });
    await train({ ...input, seed: 2 });
    assert.equal((await registry.getAliasVersion(env.db.pool, 'rolling', 'production'))?.version, 2);
    const d = await runWorkflow('rollback', { model: 'rolling', actor: 'alice', reason: 'latency regression' }, 'rollback-rolling-1') as Deployment;
    assert.deepEqual([d.version, d.previousVersion, d.strategy, d.actor], [1, 2, 'rollback', 'alice']);
    assert.equal((await registry.getAliasVersion(env.db.pool, 'rolling', 'production'))?.version, 1);
    await record(env, 'rollback-rolling-1', 'rollback.json');
    // the same workflow id again (a client retrying) is the same rollback, not a second one
    const again = await runWorkflow('rollback', { model: 'rolling', actor: 'alice' }, 'rollback-rolling-1') as Deployment;
    assert.equal(again.id, d.id);
    assert.equal((await registry.listDeployments(env.db.pool, 'rolling')).filter((x) => x.strategy === 'rollback').length, 1);
    // a model with one production version has nothing to roll back to: a clear, non-retried failure
    await train({ model: 'single', data: { uri: BREAST_CANCER }, target: 'diagnosis', approval: auto });
    const calls = env.calls.get('rollbackModel')!;
    await assert.rejects(runWorkflow('rollback', { model: 'single', actor: 'bob' }, 'rollback-single-1'), (err: WorkflowFailedError) => /nothing to roll back to/.test(String(((err.cause as Error)?.cause as Error | undefined)?.message ?? err.cause?.message)));
    assert.equal(env.calls.get('rollbackModel'), calls + 1, 'not retried');
  });

  for (const [family, input] of [
    ['logistic', { data: { uri: BREAST_CANCER }, target: 'diagnosis' }],
    ['mlp', { data: { uri: IRIS }, target: 'species', trainer: { kind: 'mlp' as const, params: { hidden: [8], epochs: 40 } } }],
    ['gbdt', { data: { uri: IRIS }, target: 'petal_width', trainer: { kind: 'gbdt' as const, params: { maxIter: 30, minSamplesLeaf: 5 } }, preprocessing: { derive: ['ratio = petal_length / sepal_length'] } }],
  ] as const) {
    it(`when a ${family} version is reproduced from its lineage record, then the ONNX file is byte-identical`, async () => {
      const model = `repro-${family}`;
      const trained = await train({ model, ...input, approval: auto, seed: 5 } as Parameters<PipelineTestEnv['start']>[0]);
      const result = await runWorkflow('reproduce', { model, version: trained.modelVersion, actor: 'test' }, `reproduce-${model}`) as { identical: boolean; registeredDigest: string; reproducedDigest: string };
      assert.equal(result.registeredDigest, trained.onnxDigest);
      assert.equal(result.reproducedDigest, trained.onnxDigest);
      assert.equal(result.identical, true);
      if (family === 'gbdt') await record(env, `reproduce-${model}`, 'reproduce.json');
    });
  }
});
