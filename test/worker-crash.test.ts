/**
 * Durability: a worker process killed with SIGKILL in the middle of training. A second worker takes
 * the run over after the heartbeat timeout, resumes the search from the last heartbeat, and the run
 * ends with exactly one model version and one deployment.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { toCanonicalCsv } from '../src/ml/csv';
import { trainingPipeline } from '../src/workflows/training-pipeline';
import { TEST_DATA_ROOTS } from './helpers/sources';
import { createTestDatabase, TestDatabase } from './helpers/database';
import { syntheticLogistic } from './helpers/synthetic';
import { startWorkerProcess as startWorker } from './helpers/worker-process';
import { startTemporal } from './helpers/temporal';
import { waitForStatus } from './helpers/pipeline-env';

describe('a worker killed mid-training', () => {
  let temporal: TestWorkflowEnvironment;
  let db: TestDatabase;
  let dataDir: string;
  const workers: ChildProcess[] = [];
  const taskQueue = 'crash-test';

  before(async () => {
    temporal = await startTemporal();
    db = await createTestDatabase();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-crash-'));
  });
  after(async () => {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    await db.close();
    await temporal.teardown();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  /** Starts `mlops worker` as its own process, the way a deployment runs it. */
  function startWorkerProcess(name: string): ChildProcess {
    const child = startWorker(name, { TEMPORAL_ADDRESS: temporal.address, DATABASE_URL: db.url, MLOPS_DATA_DIR: dataDir, MLOPS_DATA_ROOTS: TEST_DATA_ROOTS.join(','), MLOPS_TASK_QUEUE: taskQueue, MLOPS_CODE_VERSION: 'crash-test' });
    workers.push(child);
    return child;
  }

  it('when the worker dies during training, then another finishes the run with one version and one deployment', async () => {
    const { table } = syntheticLogistic({ rows: 60_000, weights: Array.from({ length: 24 }, (_, j) => ((j % 5) - 2) / 2), bias: -0.5, seed: 99 });
    const csv = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-crash-data-')), 'big.csv');
    fs.writeFileSync(csv, toCanonicalCsv(table));
    const grid = Array.from({ length: 40 }, (_, i) => 10 ** (-6 + i * 0.2));

    const first = startWorkerProcess('worker-1');
    const handle = await temporal.client.workflow.start(trainingPipeline, {
      taskQueue,
      workflowId: 'train-crash-test',
      args: [{ model: 'crash', data: { uri: csv }, target: 'label', approval: { mode: 'auto' }, trainer: { kind: 'logistic', search: { l2: grid } } }],
    });

    // Kill once training has reported progress, so there is work to lose and work to resume.
    await waitForStatus(handle, (s) => s.stage === 'train', 120_000);
    const deadline = Date.now() + 120_000;
    let scored = 0;
    while (scored < 2) {
      assert.ok(Date.now() < deadline, 'training never heartbeated progress');
      const pending = (await handle.describe()).raw.pendingActivities ?? [];
      const details = pending[0]?.heartbeatDetails?.payloads?.[0]?.data;
      scored = details ? (JSON.parse(Buffer.from(details).toString()).done?.length ?? 0) : 0;
      await new Promise((r) => setTimeout(r, 100));
    }
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));

    startWorkerProcess('worker-2');
    const result = await handle.result();
    assert.equal(result.state, 'deployed');
    assert.equal((result.params?.search as unknown[]).length, grid.length, 'every candidate was scored exactly once in the end');

    const history = await handle.fetchHistory();
    const trainStart = history.events!.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'trainModel');
    const started = history.events!.find((e) => e.activityTaskStartedEventAttributes?.scheduledEventId?.toString() === trainStart!.eventId!.toString());
    assert.ok((started?.activityTaskStartedEventAttributes?.attempt ?? 0) >= 2, 'training ran a second attempt on the new worker');

    const count = async (table: string) => (await db.pool.query(`SELECT count(*)::int AS n FROM ${table} WHERE model_name = 'crash'`)).rows[0].n;
    assert.equal(await count('model_versions'), 1);
    assert.equal(await count('deployments'), 1);
    assert.equal(await count('training_runs'), 1);
  });
});
