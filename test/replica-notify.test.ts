/**
 * Two API replicas on one store follow deployments by PostgreSQL NOTIFY alone: the routing poll is off
 * (MLOPS_ROUTING_POLL_MS=0), so what the second replica serves can only come from the notification the
 * deployment sends. On each store the tests have: the embedded PostgreSQL server `mlops up` runs (which,
 * as PGlite, delivered no notifications between connections), and PostgreSQL with TEST_DATABASE_URL.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { RunningApi, startApi } from '../src/stack/runtime';
import { DEPLOYMENTS_CHANNEL } from '../src/store/registry';
import { ApiStack, startApiStack } from './helpers/api-stack';
import { availableBackends } from './helpers/database';
import { eventually } from './helpers/eventually';
import { BREAST_CANCER } from './helpers/pipeline-env';

const [header, first] = fs.readFileSync(BREAST_CANCER, 'utf8').split('\n');
const instance = Object.fromEntries(header.split(',').map((h, i) => [h, first.split(',')[i]]).filter(([h]) => h !== 'diagnosis').map(([h, v]) => [h, Number(v)]));

for (const backend of availableBackends()) describe(`API replicas follow deployments by NOTIFY alone (${backend})`, () => {
  let stack: ApiStack;
  let replica: RunningApi;

  before(async () => {
    stack = await startApiStack({ backend, env: { MLOPS_TASK_QUEUE: `notify-test-${backend}`, MLOPS_ROUTING_POLL_MS: '0' } });
    const endpoints = { temporalAddress: stack.temporal.address, temporalUiUrl: 'http://ui.test', databaseUrl: stack.db.url };
    replica = await startApi(stack.config, endpoints, stack.stores, () => undefined);
  });

  after(async () => {
    await replica?.stop();
    await stack?.close();
  });

  /** The version the second replica answers with, or its status when it answers no prediction. */
  const servedBySecond = async () => {
    const r = await stack.call('POST', '/v1/models/cancer/predict', { instances: [instance] }, { base: replica.url });
    return r.status === 200 ? r.body.model.version as number : `status ${r.status}`;
  };
  const deployThroughFirst = async () => {
    const started = await stack.call('POST', '/v1/pipelines', { model: 'cancer', data: { uri: BREAST_CANCER }, target: 'diagnosis', approval: { mode: 'auto' } });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    return (await stack.waitRun(started.body.id, ['deployed'])).modelVersion as number;
  };
  const secondServes = (version: number) => eventually(`the second replica to serve version ${version}`, async () => (await servedBySecond()) === version || undefined, { timeoutMs: 20_000, everyMs: 50 });

  it('serves each deployment made through the other replica, and nothing a notification did not announce', async () => {
    assert.equal(stack.config.api.routingPollMs, 0);
    assert.equal(await servedBySecond(), 'status 404');

    const v1 = await deployThroughFirst();
    await secondServes(v1);
    const v2 = await deployThroughFirst();
    assert.notEqual(v2, v1);
    await secondServes(v2);

    // production moved back without a notification: unseen past the default poll's second...
    await stack.stores.pool.query(`UPDATE model_aliases SET version = $1 WHERE model_name = 'cancer' AND alias = 'production'`, [v1]);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await servedBySecond(), v2, 'the replica re-read routing without a notification: the poll is not off');
    // ...and followed as soon as one arrives
    await stack.stores.pool.query('SELECT pg_notify($1, $2)', [DEPLOYMENTS_CHANNEL, JSON.stringify({ model: 'cancer' })]);
    await secondServes(v1);
  });
});
