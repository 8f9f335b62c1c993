/**
 * Chaos on the API tier, under steady load: one of the two `mlops api` replicas killed with SIGKILL at a
 * moment when the proxy has requests in flight to it, then started again. The proxy answers those
 * requests 502 (they may have had their effect; only the client may repeat them) and sends everything
 * after to the other replica. Only predictions that were in flight at the killed replica may fail: they are
 * counted and reported. Pipeline starts in flight there are repeated with their Idempotency-Key and start
 * one run each.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BREAST_CANCER } from '../helpers/pipeline-env';
import { eventually } from '../helpers/eventually';
import { checkAfterFault, measureRecovery } from './checks';
import { SteadyLoad } from './load';
import { cancerInstance, chaosPlatformPerSuite } from './platform';

const instance = cancerInstance(BREAST_CANCER);

describe('chaos: an API replica killed with requests in flight', () => {
  const suite = chaosPlatformPerSuite(BREAST_CANCER, instance);

  it('kill -9 an API replica with requests in flight', async () => {
    const { platform } = suite;
    const victim = platform.apis[0];
    const load = new SteadyLoad(platform, { label: 'api-kill', servedModel: 'served', instance });
    load.start();
    await new Promise((r) => setTimeout(r, 8_000));
    // the moment the proxy waits on the replica for a prediction: yield to the event loop between looks, so the proxy runs
    // killed in the same turn as it is seen: a single-row prediction is answered within a millisecond or
    // two, and an await between seeing it and killing was once long enough for it to be answered
    const inFlight = await eventually('a prediction in flight at the replica', () => {
      if (platform.proxy.inFlight(victim.url, /\/predict$/) === 0) return undefined;
      victim.process.kill('SIGKILL');
      return platform.proxy.inFlight(victim.url);
    }, { everyMs: 0, timeoutMs: 60_000 });
    await platform.kill9(victim.process);
    // requests the proxy sent until the process was gone count as in flight at it
    const killedAt = Date.now();
    await new Promise((r) => setTimeout(r, 3_000));
    await platform.startApi(0);
    const backAt = Date.now();
    const whole = await measureRecovery(load, killedAt);
    await new Promise((r) => setTimeout(r, 5_000));
    const report = await checkAfterFault(platform, load, {
      fault: 'kill -9 an API replica with requests in flight', recoverySeconds: whole, killedReplica: { url: victim.url, killedAt },
      notes: `${inFlight} requests in flight at the kill; the replica was ready again ${((backAt - killedAt) / 1000).toFixed(1)} s after it`,
    });
    // every request that failed was one sent to the killed replica before it was gone; at least one did
    assert.ok(platform.proxy.failures.length >= 1, 'the requests in flight failed at the proxy (502), not silently');
    for (const f of platform.proxy.failures) assert.ok(f.upstream === victim.url && f.sentAt <= killedAt, JSON.stringify(f));
    assert.ok(report.failedPredictions <= platform.proxy.failures.length, `${report.failedPredictions} predictions failed`);
    // the restarted replica serves again
    assert.equal((await platform.call('POST', '/v1/models/served/predict', { instances: [instance] }, { base: victim.url })).status, 200);
  });
});
