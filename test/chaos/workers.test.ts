/**
 * Chaos on the platform's workers, on the real Temporal cluster under steady load (a pipeline every few
 * seconds, 20 predictions a second through the proxy): one of the two `mlops worker` processes killed
 * with SIGKILL during training, then during batch scoring. A new worker replaces the dead one, as an
 * orchestrator would. See test/chaos/checks.ts for what must hold after each fault.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { toCanonicalCsv } from '../../src/ml/csv';
import { BREAST_CANCER } from '../helpers/pipeline-env';
import { eventually } from '../helpers/eventually';
import { syntheticLogistic } from '../helpers/synthetic';
import { checkAfterFault, measureRecovery } from './checks';
import { SteadyLoad } from './load';
import { cancerInstance, chaosPlatformPerSuite, ChaosPlatform } from './platform';

const instance = cancerInstance(BREAST_CANCER);

/** The worker process behind a Temporal worker identity ("<pid>@<host>"). */
function workerOf(platform: ChaosPlatform, identity: string | null | undefined): ChildProcess {
  const worker = platform.workers.find((w) => identity?.startsWith(`${w.pid}@`));
  assert.ok(worker, `no worker of ours is ${identity}`);
  return worker;
}

/** Kills `victim` with SIGKILL and starts a replacement; returns when it was killed. */
async function killAndReplace(platform: ChaosPlatform, victim: ChildProcess): Promise<number> {
  await platform.kill9(victim);
  const killedAt = Date.now();
  platform.workers.splice(platform.workers.indexOf(victim), 1);
  platform.workers.push(await platform.startWorker());
  return killedAt;
}

describe('chaos: platform workers killed under load', () => {
  const suite = chaosPlatformPerSuite(BREAST_CANCER, instance);

  it('kill -9 a platform worker during training', async () => {
    const { platform } = suite;
    const { table } = syntheticLogistic({ rows: 30_000, weights: Array.from({ length: 16 }, (_, j) => ((j % 5) - 2) / 2), bias: -0.5, seed: 7 });
    const csv = path.join(platform.files, 'training.csv');
    fs.writeFileSync(csv, toCanonicalCsv(table));
    const load = new SteadyLoad(platform, { label: 'train-kill', servedModel: 'served', instance });
    load.start();
    // a trainer that takes its time on one core (logistic regression now fits these rows on every core in
    // well under a second a candidate, faster than the heartbeats that show progress are sent)
    const heavy = await load.startRun('heavy-training', {
      data: { uri: csv }, target: 'label',
      trainer: { kind: 'mlp', params: { hidden: [32], epochs: 60, patience: 60 }, search: { l2: Array.from({ length: 8 }, (_, i) => 10 ** (-6 + i * 0.5)) } },
    });
    assert.ok(heavy.id, JSON.stringify(heavy.attempts));
    const handle = platform.temporal.workflow.getHandle(heavy.id);

    // once training has heartbeated progress: work to lose and work to resume
    const training = await eventually('training to heartbeat progress', async () => {
      const pending = ((await handle.describe()).raw.pendingActivities ?? []).find((a) => a.activityType?.name === 'trainModel');
      const details = pending?.heartbeatDetails?.payloads?.[0]?.data;
      return details && (JSON.parse(Buffer.from(details).toString()).done?.length ?? 0) >= 2 ? pending : undefined;
    }, { everyMs: 100, timeoutMs: 300_000 });
    const killedAt = await killAndReplace(platform, workerOf(platform, training.lastWorkerIdentity));

    // recovered: the run's training resumed on another worker (after the 10 s heartbeat timeout)
    await eventually('training to resume on another worker', async () => {
      const pending = ((await handle.describe()).raw.pendingActivities ?? []).find((a) => a.activityType?.name === 'trainModel');
      return !pending || ((pending.attempt ?? 1) >= 2 && pending.lastWorkerIdentity !== training.lastWorkerIdentity && pending.heartbeatDetails) ? true : undefined;
    }, { everyMs: 200, timeoutMs: 120_000 });
    const resumed = (Date.now() - killedAt) / 1000;
    const whole = await measureRecovery(load, killedAt);
    const report = await checkAfterFault(platform, load, { fault: 'kill -9 a platform worker during training', recoverySeconds: Math.max(resumed, whole), notes: `training resumed on another worker after ${resumed.toFixed(1)} s` });
    assert.equal(heavy.final.state, 'deployed', JSON.stringify(heavy.final));
    const history = await handle.fetchHistory();
    const attempts = history.events!.filter((e) => e.activityTaskStartedEventAttributes && (e.activityTaskStartedEventAttributes.attempt ?? 0) >= 2);
    assert.ok(attempts.length >= 1, 'training ran a second attempt on the other worker');
    assert.equal(report.failedPredictions, 0);
  });

  it('kill -9 a platform worker during batch scoring', async () => {
    const { platform } = suite;
    const source = fs.readFileSync(BREAST_CANCER, 'utf8').trim().split('\n');
    const copies = 60;
    const rows = (source.length - 1) * copies;
    const input = path.join(platform.files, 'many.csv');
    const lines = [`row_id,${source[0]}`];
    for (let i = 0; i < rows; i++) lines.push(`${i},${source[1 + (i % (source.length - 1))]}`);
    fs.writeFileSync(input, `${lines.join('\n')}\n`);
    const output = path.join(platform.files, 'scored');

    const load = new SteadyLoad(platform, { label: 'batch-kill', servedModel: 'served', instance });
    load.start();
    const started = await platform.call('POST', '/v1/models/served/batch', { input: { uri: input }, output: { uri: output, format: 'csv' }, chunkRows: 1000, parallelism: 4 });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    const handle = platform.temporal.workflow.getHandle(started.body.id);
    const chunk = await eventually('chunks to be scored', async () => {
      const d = await handle.describe().catch(() => undefined);
      const pending = (d?.raw.pendingActivities ?? []).find((a) => a.activityType?.name === 'scoreBatchChunk' && a.lastWorkerIdentity);
      const done = (await platform.call('GET', `/v1/models/served/batch/${started.body.id}`)).body;
      return pending && (done.progress?.chunksDone ?? 0) >= 2 ? pending : undefined;
    }, { everyMs: 50, timeoutMs: 300_000 });
    const killedAt = await killAndReplace(platform, workerOf(platform, chunk.lastWorkerIdentity));

    const job = await eventually('the batch job to end', async () => {
      const r = (await platform.call('GET', `/v1/models/served/batch/${started.body.id}`)).body;
      return r.state === 'running' ? undefined : r;
    }, { everyMs: 200, timeoutMs: 300_000 });
    const jobDone = (Date.now() - killedAt) / 1000;
    const whole = await measureRecovery(load, killedAt);
    await checkAfterFault(platform, load, { fault: 'kill -9 a platform worker during batch scoring', recoverySeconds: Math.max(jobDone, whole), notes: `the batch job of ${rows} rows completed ${jobDone.toFixed(1)} s after the kill` });

    assert.equal(job.state, 'completed', JSON.stringify(job));
    assert.equal(job.rows, rows);
    // every row exactly once in the output: none lost with the dead worker, none written twice
    const manifest = JSON.parse(fs.readFileSync(path.join(output, '_manifest.json'), 'utf8'));
    const seen = new Uint8Array(rows);
    for (const part of manifest.parts) {
      for (const line of fs.readFileSync(path.join(output, part.file), 'utf8').trim().split('\n').slice(1)) seen[Number(line.slice(0, line.indexOf(',')))]++;
    }
    assert.ok(seen.every((n) => n === 1), 'every row appears exactly once');
    const count = (await platform.pool.query('SELECT count(*)::int AS n FROM batch_jobs WHERE id = $1', [started.body.id])).rows[0].n;
    assert.equal(count, 1, 'one job record');
  });
});
