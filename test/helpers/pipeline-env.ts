/**
 * A real Temporal dev server, a real metadata store and a worker running the real activities, with
 * a switchboard to make chosen activities fail after doing their work (as a crash would).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { WorkflowHandle } from '@temporalio/client';
import type { Pool } from 'pg';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createActivities, PipelineActivities, RegistryActivities } from '../../src/activities';
import { LocalArtifactStore } from '../../src/store/artifacts';
import { WORKFLOWS_PATH } from '../../src/worker';
import { PipelineInput, PipelineStatus, statusQuery } from '../../src/workflows/definitions';
import { trainingPipeline } from '../../src/workflows/training-pipeline';
import { createTestDatabase, TestDatabase } from './database';
import { startTemporal } from './temporal';
import { testSources } from './sources';
import { createRepositories } from '../../src/store/repositories';

export const BREAST_CANCER = path.resolve(__dirname, '..', '..', 'datasets', 'breast-cancer-wisconsin.csv');

export interface PipelineTestEnv {
  temporal: TestWorkflowEnvironment;
  db: TestDatabase;
  artifacts: LocalArtifactStore;
  artifactDir: string;
  taskQueue: string;
  /** Activities named here throw once, after their real work, then behave. */
  failOnceAfterWork: Set<keyof (PipelineActivities & RegistryActivities)>;
  /** How many times each activity was called. */
  calls: Map<string, number>;
  start(input: Omit<PipelineInput, 'useSearchAttributes'>, id?: string): Promise<WorkflowHandle>;
  close(): Promise<void>;
}

export async function createPipelineTestEnv(o: { runWorker?: boolean; codeVersion?: string; activityPool?: (db: TestDatabase) => Promise<Pool> } = {}): Promise<PipelineTestEnv> {
  const temporal = await startTemporal();
  const db = await createTestDatabase();
  // the activities' own way to the database, when a test puts something between them (an outage)
  const pool = o.activityPool ? await o.activityPool(db) : db.pool;
  const artifactDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-test-artifacts-'));
  const artifacts = new LocalArtifactStore(artifactDir);
  const taskQueue = `test-${randomBytes(4).toString('hex')}`;
  const failOnceAfterWork = new Set<keyof (PipelineActivities & RegistryActivities)>();
  const calls = new Map<string, number>();
  const real = createActivities({ pool, repos: createRepositories(pool), artifacts, sources: testSources(), codeVersion: o.codeVersion ?? 'test' });
  const activities = Object.fromEntries(
    Object.entries(real).map(([name, fn]) => [name, async (...args: unknown[]) => {
      calls.set(name, (calls.get(name) ?? 0) + 1);
      const result = await (fn as (...a: unknown[]) => Promise<unknown>)(...args);
      if (failOnceAfterWork.delete(name as keyof (PipelineActivities & RegistryActivities))) throw new Error(`injected failure after ${name} did its work`);
      return result;
    }]),
  );
  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  if (o.runWorker !== false) {
    worker = await Worker.create({ connection: temporal.nativeConnection, taskQueue, workflowsPath: WORKFLOWS_PATH, activities });
    running = worker.run();
  }
  return {
    temporal, db, artifacts, artifactDir, taskQueue, failOnceAfterWork, calls,
    start(input, id = `train-${input.model}-${randomBytes(4).toString('hex')}`) {
      return temporal.client.workflow.start(trainingPipeline, { taskQueue, workflowId: id, args: [{ ...input, useSearchAttributes: true }] });
    },
    async close() {
      worker?.shutdown();
      await running;
      await db.close();
      await temporal.teardown();
      fs.rmSync(artifactDir, { recursive: true, force: true });
    },
  };
}

/** Polls the status query until `predicate` holds. */
export async function waitForStatus(handle: WorkflowHandle, predicate: (s: PipelineStatus) => boolean, timeoutMs = 60_000): Promise<PipelineStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await handle.query(statusQuery).catch(() => undefined);
    if (status && predicate(status)) return status;
    if (Date.now() > deadline) throw new Error(`status never matched; last: ${JSON.stringify(status)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
