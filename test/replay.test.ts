/**
 * Recorded histories of every workflow must replay against the current workflow code without
 * non-determinism. Record fresh ones with `RECORD_HISTORIES=1 npm run test:one test/pipeline-workflow.test.ts`
 * (trainingPipeline), `... test/registry-workflows.test.ts` (cache hit, rollback, reproduce) or
 * `... test/batch-scoring.test.ts` (batchScoring, completed and failed) when a
 * change is meant to be incompatible, and version the workflow with patched() instead if runs are live:
 * the older pipeline histories, recorded before the step cache, replay through its patched() branch.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Worker } from '@temporalio/worker';
import { WORKFLOWS_PATH } from '../src/worker';
import { WORKFLOW_TRACING_MODULES, workerTracing } from '../src/telemetry/temporal-tracing';

/** As every worker runs them: with the OpenTelemetry workflow interceptors bundled in, whether tracing is on or not. */
const AS_WORKERS_RUN = { workflowsPath: WORKFLOWS_PATH, interceptors: { workflowModules: WORKFLOW_TRACING_MODULES }, sinks: workerTracing(undefined).sinks };

const DIR = path.join(__dirname, 'fixtures', 'histories');
const files = fs.readdirSync(DIR).filter((f) => f.endsWith('.json'));

describe('replaying recorded workflow histories', () => {
  it('has recorded histories to replay', () => {
    assert.ok(files.length >= 2, `expected fixtures in ${DIR}`);
  });
  for (const file of files) {
    it(`replays ${file} deterministically`, async () => {
      // a workflow whose commands depend on its own id (modelMonitor names its child after it) is stored
      // as { workflowId, history }; the others replay under the file's name
      const stored = JSON.parse(fs.readFileSync(path.join(DIR, file), 'utf8'));
      const [history, workflowId] = stored.workflowId ? [stored.history, stored.workflowId] : [stored, path.basename(file, '.json')];
      await Worker.runReplayHistory(AS_WORKERS_RUN, history, workflowId);
    });
  }

  it('detects a change that breaks determinism', async () => {
    // The same history against a workflow that schedules a different first activity must fail.
    const history = JSON.parse(fs.readFileSync(path.join(DIR, 'training-pipeline-approved.json'), 'utf8'));
    const brokenPath = path.join(__dirname, 'fixtures', 'nondeterministic-workflow.ts');
    await assert.rejects(Worker.runReplayHistory({ workflowsPath: brokenPath }, history, 'broken'), /[Nn]ondeterminism|DeterminismViolation/);
  });
});
