/**
 * Chaos on PostgreSQL, under steady load, mid-pipeline: the server that holds both Temporal's
 * persistence and the platform's metadata store is restarted, first with its fast shutdown (open
 * transactions roll back, clients are disconnected), then by SIGKILL of the postmaster (crash recovery
 * from the WAL at the next start). Every run that was in a stage when it went must still end as it should.
 * Predictions are answered from the replicas' memory and logged off the request's path, so none may fail.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BREAST_CANCER } from '../helpers/pipeline-env';
import { checkAfterFault, measureRecovery } from './checks';
import { SteadyLoad } from './load';
import { cancerInstance, chaosPlatformPerSuite } from './platform';

const instance = cancerInstance(BREAST_CANCER);
const DOWN_MS = 5_000;

describe('chaos: PostgreSQL restarted mid-pipeline under load', () => {
  const suite = chaosPlatformPerSuite(BREAST_CANCER, instance);

  const faults = [
    { name: 'restart PostgreSQL mid-pipeline with a fast shutdown', stop: ['stop', 'postgresql'] },
    { name: 'restart PostgreSQL mid-pipeline after kill -9 of the postmaster', stop: ['kill', 'postgresql'] },
  ];
  for (const fault of faults) {
    it(fault.name, async () => {
      const { platform } = suite;
      const load = new SteadyLoad(platform, { label: fault.stop[0] === 'stop' ? 'pg-fast' : 'pg-kill', servedModel: 'served', instance });
      load.start();
      // a run in the middle of its stages when the database goes
      await new Promise((r) => setTimeout(r, 8_000));
      const inFlight = load.runs.filter((r) => r.id && !r.final).length;
      assert.ok(inFlight >= 1, 'a pipeline is running when PostgreSQL goes');
      await platform.cluster(...fault.stop);
      const stoppedAt = Date.now();
      await new Promise((r) => setTimeout(r, DOWN_MS));
      await platform.cluster('restart', 'postgresql');
      const restartedAt = Date.now();
      const recovery = await measureRecovery(load, restartedAt);
      await new Promise((r) => setTimeout(r, 10_000));
      await checkAfterFault(platform, load, {
        fault: fault.name, recoverySeconds: recovery,
        notes: `${inFlight} runs in flight at the fault; down ${((restartedAt - stoppedAt) / 1000).toFixed(1)} s; recovery counted from the restart`,
      });
    });
  }
});
