/**
 * Chaos on the artifact store's disk, under steady load: the platform's artifact folder is a tmpfs of
 * 64 MiB (mounted here, so this test needs root or CAP_SYS_ADMIN; without them it is skipped and says
 * so). The disk is filled to the last byte while a pipeline ingests new data: ingest must fail with an
 * error that says the artifact store is out of space, leave no half-written file behind, be retried by
 * Temporal, and complete once space returns (the filler file removed).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { toCanonicalCsv } from '../../src/ml/csv';
import { BREAST_CANCER } from '../helpers/pipeline-env';
import { eventually } from '../helpers/eventually';
import { syntheticLogistic } from '../helpers/synthetic';
import { checkAfterFault, measureRecovery } from './checks';
import { SteadyLoad } from './load';
import { cancerInstance, chaosPlatformPerSuite } from './platform';

const instance = cancerInstance(BREAST_CANCER);
const SIZE = '64m';

/** Whether this process may mount a tmpfs (root in a container without CAP_SYS_ADMIN may not). */
function canMount(): string | undefined {
  const probe = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-mount-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe], { stdio: 'pipe' });
    execFileSync('umount', [probe]);
    return undefined;
  } catch (err) {
    return `cannot mount a tmpfs here (${String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim()}): run as root, or with CAP_SYS_ADMIN`;
  } finally {
    fs.rmSync(probe, { recursive: true, force: true });
  }
}

/** Fills the filesystem of `dir` with one file until the disk says it is full; returns the file. */
function fillUp(dir: string): string {
  const filler = path.join(dir, 'filler');
  const fd = fs.openSync(filler, 'w');
  const block = Buffer.alloc(1 << 20, 1);
  try {
    for (;;) fs.writeSync(fd, block);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  }
  // the last partial block: fill what is left byte-exactly
  for (let size = 1 << 19; size > 0; size >>= 1) {
    try { for (;;) fs.writeSync(fd, block, 0, size); } catch (err) { if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err; }
  }
  fs.closeSync(fd);
  return filler;
}

const skip = canMount();

describe('chaos: the artifact store\'s disk full during ingest', { skip }, () => {
  let artifacts = '';
  const suite = chaosPlatformPerSuite(BREAST_CANCER, instance, {
    prepareDataDir: (dataDir) => {
      artifacts = path.join(dataDir, 'artifacts');
      fs.mkdirSync(artifacts);
      execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${SIZE}`, 'tmpfs', artifacts]);
    },
    releaseDataDir: () => { if (artifacts) execFileSync('umount', [artifacts]); },
  });

  it('the artifact store\'s disk full during ingest: a clear failure, retried, and completed once space returns', async () => {
    const { platform } = suite;
    const { table } = syntheticLogistic({ rows: 20_000, weights: [1, -1, 0.5, 2, -0.5, 0.25], bias: 0, seed: 11 });
    const csv = path.join(platform.files, 'new-data.csv');
    fs.writeFileSync(csv, toCanonicalCsv(table));
    const load = new SteadyLoad(platform, { label: 'disk-full', servedModel: 'served', instance });
    load.start();
    await new Promise((r) => setTimeout(r, 5_000));

    const filler = fillUp(artifacts);
    const filledAt = Date.now();
    const run = await load.startRun('new-data', { data: { uri: csv }, target: 'label', approval: { mode: 'auto', thresholds: { auc: 0.7 } } });
    assert.ok(run.id, JSON.stringify(run.attempts));
    const handle = platform.temporal.workflow.getHandle(run.id);
    // full through two failed attempts (1 and 2 s apart; a full disk is an outage, retried for up to 30 attempts)
    const failing = await eventually('ingest to fail twice for want of space', async () => {
      const pending = ((await handle.describe()).raw.pendingActivities ?? []).find((a) => a.activityType?.name === 'ingestDataset');
      return pending?.lastFailure?.message && (pending.attempt ?? 1) >= 3 ? pending : undefined;
    }, { everyMs: 100, timeoutMs: 60_000 });
    assert.match(failing.lastFailure!.message!, /^the artifact store at .*artifacts is out of space \(ENOSPC\): free space or grow its volume; the step is retried$/);
    assert.equal(failing.lastFailure!.applicationFailureInfo?.type, 'ArtifactStoreFull');
    assert.equal(failing.lastFailure!.applicationFailureInfo?.nonRetryable, false, 'a full disk is retried');
    // the failed write took its temporary file with it: the disk is no fuller than the filler made it
    const leftovers = fs.readdirSync(artifacts, { recursive: true }).map(String).filter((f) => f.endsWith('.tmp'));
    assert.deepEqual(leftovers, []);

    fs.rmSync(filler);
    const freedAt = Date.now();
    await eventually('ingest to complete once space returned', async () => {
      const pending = ((await handle.describe()).raw.pendingActivities ?? []).find((a) => a.activityType?.name === 'ingestDataset');
      return pending ? undefined : true;
    }, { everyMs: 100, timeoutMs: 120_000 });
    const ingested = (Date.now() - freedAt) / 1000;
    const whole = await measureRecovery(load, freedAt);
    await checkAfterFault(platform, load, {
      fault: 'the artifact store\'s disk full during ingest', recoverySeconds: Math.max(ingested, whole),
      notes: `full for ${((freedAt - filledAt) / 1000).toFixed(1)} s (a ${SIZE} tmpfs); ingest completed ${ingested.toFixed(1)} s after space returned`,
    });
    assert.equal(run.final.state, 'deployed', JSON.stringify(run.final));
    const history = await handle.fetchHistory();
    const ingestStarts = history.events!.filter((e) => e.activityTaskStartedEventAttributes).map((e) => e.activityTaskStartedEventAttributes!.attempt ?? 1);
    assert.ok(ingestStarts.some((attempt) => attempt >= 3), 'ingest was retried');
  });
});
