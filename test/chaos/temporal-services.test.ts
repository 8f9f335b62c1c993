/**
 * Chaos on the Temporal cluster itself, under steady load: the history service, then the frontend, then
 * the matching service, each killed with SIGKILL, left down for a few seconds while pipelines keep being
 * started and predictions keep being asked, then started again (scripts/temporal-cluster.sh restart).
 * Predictions do not touch Temporal and must not fail at all; pipeline starts refused while the frontend
 * or history is down are repeated by the client with the same Idempotency-Key. See checks.ts for what
 * must hold after each.
 */
import { describe, it } from 'node:test';
import { BREAST_CANCER } from '../helpers/pipeline-env';
import { checkAfterFault, measureRecovery } from './checks';
import { SteadyLoad } from './load';
import { cancerInstance, chaosPlatformPerSuite } from './platform';

const instance = cancerInstance(BREAST_CANCER);
/** How long a killed service stays down before it is started again. */
const DOWN_MS = 5_000;

describe('chaos: Temporal services killed under load', () => {
  const suite = chaosPlatformPerSuite(BREAST_CANCER, instance);

  for (const service of ['history', 'frontend', 'matching']) {
    it(`kill -9 the ${service} service, and restart it`, async () => {
      const { platform } = suite;
      const load = new SteadyLoad(platform, { label: `${service}-kill`, servedModel: 'served', instance });
      load.start();
      // runs in every stage when the fault comes
      await new Promise((r) => setTimeout(r, 10_000));
      await platform.cluster('kill', service);
      const killedAt = Date.now();
      await new Promise((r) => setTimeout(r, DOWN_MS));
      await platform.cluster('restart', service);
      const restartedAt = Date.now();
      const recovery = await measureRecovery(load, restartedAt);
      // a while longer under load, so runs started before the fault and after it both finish
      await new Promise((r) => setTimeout(r, 10_000));
      await checkAfterFault(platform, load, {
        fault: `kill -9 the ${service} service, restart it after ${DOWN_MS / 1000} s`, recoverySeconds: recovery,
        notes: `down ${((restartedAt - killedAt) / 1000).toFixed(1)} s (kill to restarted); recovery counted from the restart`,
      });
    });
  }
});
